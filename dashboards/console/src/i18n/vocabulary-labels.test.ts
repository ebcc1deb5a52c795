import { describe, expect, it } from 'vitest'
import { pointKinds, qualities } from '../../../../drivers/driver-types.ts'
import {
  alarmSeverities,
  alarmStatuses,
  workOrderPriorities,
  workOrderSources,
  workOrderStatuses,
} from '../../../../hub/alarms/alarms-vocabulary.ts'
import {
  approvalKinds,
  approvalStatuses,
  assignmentTargets,
  billRunScopes,
  billRunStatuses,
  feeCycles,
  feeKinds,
  paymentMethods,
  receivableKinds,
  roundingModes,
  roundingUnits,
  shareBases,
  shareSources,
  tierBases,
} from '../../../../hub/billing/billing-vocabulary.ts'
import { roles } from '../../../../hub/kernel/roles.ts'
import { meterKinds, meterReadStatuses, meterStatuses } from '../../../../hub/metering/metering-vocabulary.ts'
import { orgNodeKinds } from '../../../../hub/org/org-vocabulary.ts'
import {
  credentialKinds,
  customerKinds,
  occupancyRoles,
  unitStatuses,
  unitUses,
} from '../../../../hub/property/property-vocabulary.ts'
import en from './en.ts'
import zhCN from './zh-CN.ts'

/**
 * Where each of the hub's lists is labelled in the catalogues: a value added to a list (a fee
 * kind, a role, a status) without its labels fails here, in both languages.
 */
const labelled: Record<string, readonly string[]> = {
  orgKind: orgNodeKinds,
  'setup.unitUse': unitUses,
  'setup.unitStatus': unitStatuses,
  'setup.customerKind': customerKinds,
  'setup.occupancyRole': occupancyRoles,
  'setup.credentialKind': credentialKinds,
  'setup.meterKind': meterKinds,
  'setup.meterStatus': meterStatuses,
  'setup.role': roles,
  'pages.live.qualities': qualities,
  'pages.live.kinds': pointKinds,
  'pages.meterReads.status': meterReadStatuses,
  'pages.billRuns.readStatuses': meterReadStatuses,
  'pages.feeItems.kinds': feeKinds,
  'pages.feeItems.meterKinds': meterKinds,
  'pages.feeItems.meterUnits': meterKinds,
  'pages.feeItems.cycles': feeCycles,
  'pages.feeItems.roundingUnits': roundingUnits,
  'pages.feeItems.roundingModes': roundingModes,
  'pages.feeItems.tierBases': tierBases,
  'pages.feeItems.uses': unitUses,
  'pages.feeItems.form.roundingUnits': roundingUnits,
  'pages.feeItems.form.roundingModes': roundingModes,
  'pages.feeItems.form.shareBases': shareBases,
  'pages.feeItems.form.shareSources': shareSources,
  'pages.feeItems.form.targetKinds': assignmentTargets,
  'pages.billRuns.scopes': billRunScopes,
  'pages.billRuns.statuses': billRunStatuses,
  'pages.desk.methods': paymentMethods,
  'pages.desk.kinds': receivableKinds,
  'pages.approvals.kinds': approvalKinds,
  'pages.approvals.statuses': approvalStatuses,
  'pages.workOrders.status': workOrderStatuses,
  'pages.workOrders.priority': workOrderPriorities,
  'pages.workOrders.source': workOrderSources,
  'pages.alarms.status': alarmStatuses,
  'pages.alarms.severity': alarmSeverities,
  'pages.overview.severity': alarmSeverities,
}

const at = (catalogue: object, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], catalogue)

describe.each([
  ['en', en],
  ['zh-CN', zhCN],
])('the %s catalogue', (_name, catalogue) => {
  it.each(Object.entries(labelled))('labels every value of %s', (path, values) => {
    const section = at(catalogue, path)
    expect(section, path).toBeTypeOf('object')
    const missing = values.filter((value) => typeof (section as Record<string, unknown>)[value] !== 'string')
    expect(missing, `${path} lacks`).toEqual([])
  })
})
