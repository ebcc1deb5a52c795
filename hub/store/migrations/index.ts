import type { Migration } from 'kysely'
import * as coreModel from './0001-core-model.ts'
import * as ingestAndMeterReads from './0002-ingest-and-meter-reads.ts'
import * as billing from './0003-billing.ts'
import * as alarmsWorkOrders from './0004-alarms-work-orders.ts'
import * as alarmPatternsNotifyRepairs from './0005-alarm-patterns-notify-repairs.ts'
import * as deskApprovals from './0006-desk-approvals.ts'

/**
 * The history written before domains were modules, in order. It is closed: a new migration
 * belongs to its domain's module (`migrations` in hub/<domain>/<domain>-module.ts).
 */
export const migrations: Record<string, Migration> = {
  '0001-core-model': coreModel,
  '0002-ingest-and-meter-reads': ingestAndMeterReads,
  '0003-billing': billing,
  '0004-alarms-work-orders': alarmsWorkOrders,
  '0005-alarm-patterns-notify-repairs': alarmPatternsNotifyRepairs,
  '0006-desk-approvals': deskApprovals,
}
