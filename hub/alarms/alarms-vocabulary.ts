/**
 * The alarms and work orders domain's lists, each defined once: the types, route schemas,
 * database CHECKs (hub/store/vocabulary-checks.ts), the console's selects and the catalogues'
 * keys derive from them. Imports nothing: the console imports this file at build time.
 */
export const alarmRuleKinds = [
  'event',
  'state',
  'threshold',
  'rate',
  'offline',
  'reverse_flow',
  'night_flow',
] as const
export type AlarmRuleKind = (typeof alarmRuleKinds)[number]

export const alarmSeverities = ['critical', 'major', 'minor', 'info'] as const
export type AlarmSeverity = (typeof alarmSeverities)[number]

export const alarmStatuses = ['active', 'acknowledged', 'cleared', 'closed'] as const
export type AlarmStatus = (typeof alarmStatuses)[number]

/** What an offline rule watches. */
export const offlineTargets = ['device', 'gateway'] as const
export type OfflineTarget = (typeof offlineTargets)[number]

export const workOrderPriorities = ['urgent', 'high', 'normal', 'low'] as const
export type WorkOrderPriority = (typeof workOrderPriorities)[number]

export const workOrderSources = ['alarm', 'resident', 'desk', 'inspection'] as const
export type WorkOrderSource = (typeof workOrderSources)[number]

/** A work order's states in the order of its flow (work-order-flow.ts says which step leads where). */
export const workOrderStatuses = [
  'registered',
  'dispatched',
  'assigned',
  'in_progress',
  'done',
  'return_visit',
  'closed',
  'cancelled',
] as const
export type WorkOrderStatus = (typeof workOrderStatuses)[number]
