import type { ColumnType, Generated } from 'kysely'
import type {
  AlarmRuleKind,
  AlarmStatus,
  CreatedAt,
  DefaultDecimal,
  DeviceEventTypeName,
  Json,
  PointKind,
  Quality,
  Timestamp,
  WorkOrderPriority,
  WorkOrderStatus,
} from '../store/database-schema.ts'
import type { AlarmSeverity, OfflineTarget, WorkOrderSource } from './alarms-vocabulary.ts'

// The alarms domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations,
// and the alarm state (hold starts, last values, parked batches) by migrations/0013-alarm-state.ts.

export interface AlarmRuleTable {
  id: Generated<string>
  estateId: string
  name: string
  kind: AlarmRuleKind
  deviceClass: string | null
  deviceId: string | null
  pointId: string | null
  eventType: DeviceEventTypeName | null
  matchValue: string | null
  above: string | null
  hysteresis: DefaultDecimal
  holdSeconds: ColumnType<number, number | undefined, number>
  severity: ColumnType<AlarmSeverity, AlarmSeverity | undefined>
  workOrderCategory: string | null
  workOrderPriority: WorkOrderPriority | null
  department: string | null
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  /** Event rules: fire on the event_count-th event at one source within window_seconds. */
  eventCount: ColumnType<number, number | undefined, number>
  windowSeconds: ColumnType<number | null, number | null | undefined, number | null>
  ratePerMinute: ColumnType<string | null, string | null | undefined, string | null>
  offlineMinutes: ColumnType<number | null, number | null | undefined, number | null>
  offlineTarget: ColumnType<OfflineTarget | null, OfflineTarget | null | undefined>
  nightStart: ColumnType<number | null, number | null | undefined, number | null>
  nightEnd: ColumnType<number | null, number | null | undefined, number | null>
  minFlow: ColumnType<string | null, string | null | undefined, string | null>
  createdAt: CreatedAt
  updatedAt: Timestamp
}
export interface AlarmTable {
  id: Generated<string>
  estateId: string
  ruleId: string
  source: string
  deviceId: string | null
  pointId: string | null
  status: AlarmStatus
  severity: string
  raisedAt: Timestamp
  lastSeenAt: Timestamp
  occurrences: ColumnType<number, number | undefined, number>
  acknowledgedBy: string | null
  acknowledgedAt: Timestamp | null
  clearedAt: Timestamp | null
  closedAt: Timestamp | null
  details: Json<Record<string, unknown>>
}
export interface WorkOrderTable {
  id: Generated<string>
  estateId: string
  source: WorkOrderSource
  alarmId: string | null
  category: string
  priority: WorkOrderPriority
  department: string | null
  title: string
  description: string | null
  buildingId: string | null
  unitId: string | null
  deviceId: string | null
  status: ColumnType<WorkOrderStatus, WorkOrderStatus | undefined, WorkOrderStatus>
  assigneeId: string | null
  respondBy: Timestamp
  completeBy: Timestamp
  respondedAt: Timestamp | null
  completedAt: Timestamp | null
  closedAt: Timestamp | null
  completionNote: ColumnType<string | null, string | null | undefined, string | null>
  satisfaction: ColumnType<number | null, number | null | undefined, number | null>
  visitComment: ColumnType<string | null, string | null | undefined, string | null>
  cancelReason: ColumnType<string | null, string | null | undefined, string | null>
  escalatedAt: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  createdBy: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
  /** The alarm's source (controller/door, device/point) or a place named by the desk. */
  location: ColumnType<string | null, string | null | undefined, string | null>
  parts: ColumnType<{ name: string; quantity: number }[], string | undefined, string>
  labourMinutes: ColumnType<number | null, number | null | undefined, number | null>
  /** A paid repair: what the customer is charged, issued as a receivable on completion. */
  chargeAmount: ColumnType<string | null, string | null | undefined, string | null>
  receivableId: ColumnType<string | null, string | null | undefined, string | null>
}
export interface WorkOrderEventTable {
  id: Generated<number>
  workOrderId: string
  at: ColumnType<Date, Date | string | undefined, never>
  by: string | null
  action: string
  fromStatus: string | null
  toStatus: string | null
  note: string | null
  data: Json<Record<string, unknown>>
}
export interface WorkOrderAttachmentTable {
  id: Generated<string>
  workOrderId: string
  fileName: string
  contentType: string
  sizeBytes: number
  sha256: string
  content: Buffer
  uploadedBy: string | null
  uploadedAt: CreatedAt
}
export interface SlaPolicyTable {
  id: Generated<string>
  estateId: string
  /** Null: every category of this priority without a policy of its own. */
  category: string | null
  priority: WorkOrderPriority
  respondMinutes: number
  completeMinutes: number
  createdAt: CreatedAt
  updatedAt: Timestamp
}

/** When a threshold condition began, per rule and point: the hold-time clock. */
export interface AlarmHoldTable {
  ruleId: string
  pointId: string
  since: Timestamp
}
/** The newest good value of a point a rate or reverse-flow rule watches. */
export interface AlarmLastValueTable {
  pointId: string
  ts: Timestamp
  value: string
}
/** A reading of a parked batch as the engine needs it again (alarm-engine.ts `JudgedReading`). */
export interface ParkedReading {
  readonly pointId: string
  readonly deviceId: string
  readonly kind: PointKind
  readonly name: string
  readonly t: number
  readonly v: number | string | boolean
  readonly q: Quality
}
/** An event of a parked batch, with the device it was resolved to when it was parked. */
export interface ParkedEvent {
  readonly s: string
  readonly t: number
  readonly type: DeviceEventTypeName
  readonly d: Record<string, unknown>
  readonly deviceId: string | null
}
/** A batch committed ahead of a gap in its gateway's seqs, waiting to be judged in seq order. */
export interface AlarmParkedBatchTable {
  gatewayId: string
  seq: number
  historical: boolean
  readings: Json<ParkedReading[]>
  events: Json<ParkedEvent[]>
  parkedAt: CreatedAt
}

declare module '../store/database-schema.ts' {
  interface Database {
    alarmRules: AlarmRuleTable
    alarms: AlarmTable
    workOrders: WorkOrderTable
    workOrderEvents: WorkOrderEventTable
    workOrderAttachments: WorkOrderAttachmentTable
    slaPolicies: SlaPolicyTable
    alarmHolds: AlarmHoldTable
    alarmLastValues: AlarmLastValueTable
    alarmParkedBatches: AlarmParkedBatchTable
  }
}
