/**
 * Every database CHECK that lists a vocabulary's values, with the list it comes from. The lists
 * live in their domains (hub/<domain>/<domain>-vocabulary.ts, hub/kernel/roles.ts, the drivers'
 * vocabulary through gateway/contract, the fee kind registry); migration 0008 writes the CHECKs
 * from them (hub/store/vocabulary-checks.ts) and test/vocabulary-checks.int.test.ts compares the
 * live database with them.
 *
 * devices.protocol is the protocol registry's (drivers/contract), written by its own migration.
 */
import type { Kysely, Migration } from 'kysely'
import { byteOrders, deviceEventTypes, pointKinds, qualities } from '../../gateway/contract/index.ts'
import {
  alarmRuleKinds,
  alarmSeverities,
  alarmStatuses,
  offlineTargets,
  workOrderPriorities,
  workOrderSources,
  workOrderStatuses,
} from '../alarms/alarms-vocabulary.ts'
import {
  allocationSources,
  approvalKinds,
  approvalStatuses,
  assignmentTargets,
  billRunScopes,
  billRunStatuses,
  feeCycles,
  ledgerAccounts,
  paymentMethods,
  paymentPurposes,
  receivableKinds,
  roundingModes,
  roundingUnits,
  shareBases,
  shareSources,
  tierBases,
} from '../billing/billing-vocabulary.ts'
import { feeKindNames, feeKindsWhere } from '../billing/fee-kinds/fee-kind-registry.ts'
import { gatewayLinkStatuses } from '../devices/devices-vocabulary.ts'
import { roles } from '../kernel/roles.ts'
import {
  meterKinds,
  meterReadActions,
  meterReadMethods,
  meterReadStatuses,
  meterStatuses,
  previousSources,
} from '../metering/metering-vocabulary.ts'
import { notificationChannelKinds, notificationDeliveryStatuses } from '../notify/notify-vocabulary.ts'
import { orgNodeKinds } from '../org/org-vocabulary.ts'
import {
  credentialKinds,
  customerKinds,
  occupancyRoles,
  unitStatuses,
  unitUses,
} from '../property/property-vocabulary.ts'

import { syncVocabularyChecks, type VocabularyCheck, type WholeCheck } from '../store/vocabulary-checks.ts'

const check = (
  table: string,
  column: string,
  values: readonly string[] | (() => readonly string[]),
): VocabularyCheck => ({ table, column, values: typeof values === 'function' ? values : () => values })

export const vocabularyChecks: readonly VocabularyCheck[] = [
  check('org_nodes', 'kind', orgNodeKinds),
  check('units', 'use', unitUses),
  check('units', 'status', unitStatuses),
  check('customers', 'kind', customerKinds),
  check('occupancies', 'role', occupancyRoles),
  check('customer_credentials', 'kind', credentialKinds),
  check('points', 'kind', pointKinds),
  check('points', 'byte_order', byteOrders),
  check('latest_values', 'quality', qualities),
  check('readings', 'quality', qualities),
  check('gateway_links', 'status', gatewayLinkStatuses),
  check('meters', 'kind', meterKinds),
  check('meters', 'status', meterStatuses),
  check('meter_reads', 'method', meterReadMethods),
  check('meter_reads', 'status', meterReadStatuses),
  check('meter_reads', 'previous_source', previousSources),
  check('meter_read_changes', 'action', meterReadActions),
  check('role_grants', 'role', roles),
  check('fee_items', 'kind', feeKindNames),
  check('fee_items', 'meter_kind', meterKinds),
  check('fee_items', 'cycle', feeCycles),
  check('fee_items', 'rounding_unit', roundingUnits),
  check('fee_items', 'rounding_mode', roundingModes),
  check('fee_standards', 'tier_basis', tierBases),
  check('fee_standards', 'share_basis', shareBases),
  check('fee_standards', 'share_source', shareSources),
  check('fee_assignments', 'target', assignmentTargets),
  check('fee_assignments', 'unit_use', unitUses),
  check('bill_runs', 'scope', billRunScopes),
  check('bill_runs', 'status', billRunStatuses),
  check('receivables', 'kind', receivableKinds),
  check('payments', 'purpose', paymentPurposes),
  check('payments', 'method', paymentMethods),
  check('payment_allocations', 'source', allocationSources),
  check('approvals', 'kind', approvalKinds),
  check('approvals', 'status', approvalStatuses),
  check('ledger_entries', 'account', ledgerAccounts),
  check('alarm_rules', 'kind', alarmRuleKinds),
  check('alarm_rules', 'event_type', deviceEventTypes),
  check('alarm_rules', 'severity', alarmSeverities),
  check('alarm_rules', 'work_order_priority', workOrderPriorities),
  check('alarm_rules', 'offline_target', offlineTargets),
  check('alarms', 'status', alarmStatuses),
  check('work_orders', 'source', workOrderSources),
  check('work_orders', 'priority', workOrderPriorities),
  check('work_orders', 'status', workOrderStatuses),
  check('sla_policies', 'priority', workOrderPriorities),
  check('notification_channels', 'kind', notificationChannelKinds),
  check('notification_channels', 'min_severity', alarmSeverities),
  check('notification_deliveries', 'status', notificationDeliveryStatuses),
]

const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ')

/** fee_items' other CHECK: the kinds whose items must name a meter kind, and the ones that may. */
export const feeItemMeterCheck: WholeCheck = {
  table: 'fee_items',
  name: 'fee_items_check',
  values: feeKindNames,
  expression: () =>
    `(kind in (${list(feeKindsWhere((k) => k.meter === 'required'))})) = (meter_kind is not null) or kind in (${list(feeKindsWhere((k) => k.meter === 'optional'))})`,
}

/** Brings the vocabulary CHECKs up to the lists at every start, only ever adding values. */
export const widenVocabularyChecks = (db: Kysely<unknown>) =>
  syncVocabularyChecks(db, vocabularyChecks, [feeItemMeterCheck], { widenOnly: true })

/**
 * Issue 12: the CHECKs are written from the lists instead of by hand. On a database made by
 * 0001-0006 nothing differs but fee_items' meter CHECK, rewritten from the fee kind registry;
 * a fee kind registered before migrating (a plugin, a test) is in fee_items.kind's CHECK from
 * here on. Later, the hub widens them at every start (widenVocabularyChecks); narrowing a list
 * is a migration of its own.
 */
export const vocabularyChecksMigration: Migration = {
  up: (db: Kysely<unknown>) => syncVocabularyChecks(db, vocabularyChecks, [feeItemMeterCheck]),
}
