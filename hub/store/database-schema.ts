import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/**
 * Table types as Kysely sees them through CamelCasePlugin: `estateId` here is `estate_id`
 * in SQL. Decimals (areas, readings, multipliers) travel as strings so no value is ever
 * rounded through a binary float; dates travel as 'YYYY-MM-DD' strings.
 */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
export type CreatedAt = ColumnType<Date, never, never>
export type Decimal = ColumnType<string, string | number, string | number>
/** A decimal with a database default: may be left out on insert. */
export type DefaultDecimal = ColumnType<string, string | number | undefined, string | number>
export type Json<T> = ColumnType<T, T, T>

export type OrgNodeKind = import('../org/org-vocabulary.ts').OrgNodeKind
export type UnitUse = import('../property/property-vocabulary.ts').UnitUse
export type UnitStatus = import('../property/property-vocabulary.ts').UnitStatus
export type CustomerKind = import('../property/property-vocabulary.ts').CustomerKind
export type OccupancyRole = import('../property/property-vocabulary.ts').OccupancyRole
/** A protocol registered with the drivers' registry (the API checks the name against it). */
export type DeviceProtocol = import('../../gateway/contract/index.ts').DeviceProtocol
export type PointKind = import('../../gateway/contract/index.ts').PointKind
export type MeterKind = import('../metering/metering-vocabulary.ts').MeterKind
export type Role = import('../kernel/roles.ts').Role

export interface OrgNodeTable {
  id: Generated<string>
  kind: OrgNodeKind
  parentId: string | null
  code: string
  name: string
  timezone: string | null
  address: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface BuildingTable {
  id: Generated<string>
  estateId: string
  code: string
  name: string
  floorsAbove: number | null
  floorsBelow: number | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface UnitTable {
  id: Generated<string>
  estateId: string
  buildingId: string
  code: string
  floor: number
  areaM2: Decimal
  use: UnitUse
  status: UnitStatus
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface CustomerTable {
  id: Generated<string>
  estateId: string
  code: string
  kind: CustomerKind
  name: string
  phone: string | null
  email: string | null
  idDocument: string | null
  notes: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface OccupancyTable {
  id: Generated<string>
  estateId: string
  unitId: string
  customerId: string
  role: OccupancyRole
  startDate: string
  endDate: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface GatewayTable {
  id: Generated<string>
  estateId: string
  code: string
  name: string
  secretHash: string
  secretRotatedAt: Timestamp
  enabled: Generated<boolean>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface DeviceTable {
  id: Generated<string>
  estateId: string
  gatewayId: string
  code: string
  name: string
  protocol: DeviceProtocol
  connection: Json<Record<string, unknown>>
  deviceClass: string | null
  buildingId: string | null
  unitId: string | null
  pollIntervalMs: number | null
  enabled: Generated<boolean>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface PointTable {
  id: Generated<string>
  estateId: string
  deviceId: string
  code: string
  name: string
  address: Json<Record<string, unknown>>
  dataType: string
  byteOrder: string | null
  scale: DefaultDecimal
  offset: DefaultDecimal
  unit: string | null
  kind: PointKind
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface MeterTable {
  id: Generated<string>
  estateId: string
  code: string
  kind: MeterKind
  unitId: string | null
  buildingId: string | null
  location: string | null
  serialNumber: string | null
  multiplier: DefaultDecimal
  registerCapacity: Decimal | null
  installReading: DefaultDecimal
  installedOn: string | null
  pointId: string | null
  parentMeterId: string | null
  billing: Generated<boolean>
  status: Generated<'active' | 'retired'>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface MeterReplacementTable {
  id: Generated<string>
  estateId: string
  meterId: string
  replacedAt: Timestamp
  oldFinalReading: Decimal
  newStartReading: Decimal
  oldSerialNumber: string | null
  newSerialNumber: string | null
  oldMultiplier: Decimal
  newMultiplier: Decimal
  oldRegisterCapacity: Decimal | null
  newRegisterCapacity: Decimal | null
  reason: string | null
  recordedBy: string | null
  createdAt: CreatedAt
}

export interface UserTable {
  id: Generated<string>
  username: string
  displayName: string
  passwordHash: string
  disabled: Generated<boolean>
  lastLoginAt: Date | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface RoleGrantTable {
  id: Generated<string>
  userId: string
  role: Role
  nodeId: string | null
  createdBy: string | null
  createdAt: CreatedAt
}

export interface SessionTable {
  id: Generated<string>
  userId: string
  tokenHash: string
  expiresAt: Date
  revokedAt: Date | null
  createdAt: CreatedAt
}

export type Quality = import('../../gateway/contract/index.ts').Quality
export type GatewayState = import('../devices/devices-vocabulary.ts').GatewayLinkStatus
export type MeterReadMethod = import('../metering/metering-vocabulary.ts').MeterReadMethod
export type MeterReadStatus = import('../metering/metering-vocabulary.ts').MeterReadStatus
export type MeterReadAction = import('../metering/metering-vocabulary.ts').MeterReadAction

/** Partitioned (list by counter, then range by UTC month); see migration 0002. */
export interface ReadingTable {
  pointId: string
  ts: Timestamp
  counter: boolean
  value: string | null
  valueText: string | null
  quality: Quality
  reason: string | null
  historical: ColumnType<boolean, boolean | undefined, boolean>
}

export interface LatestValueTable {
  pointId: string
  ts: Timestamp
  value: string | null
  valueText: string | null
  quality: Quality
  reason: string | null
  lastGoodAt: Timestamp | null
  receivedAt: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface GatewayLinkTable {
  gatewayId: string
  committedSeq: ColumnType<number, number | undefined, number>
  lastBatchAt: Timestamp | null
  lastBatchSentAt: Timestamp | null
  status: GatewayState | null
  statusSession: string | null
  statusAt: Timestamp | null
  updatedAt: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface IngestedBatchTable {
  gatewayId: string
  seq: number
}

export interface DeviceEventTable {
  id: Generated<number>
  estateId: string
  gatewayId: string
  deviceId: string | null
  source: string
  ts: Timestamp
  type: string
  data: Json<Record<string, unknown>>
  historical: boolean
  gatewaySeq: number
  receivedAt: ColumnType<Date, Date | string | undefined, never>
  /** The customer whose credential the event carries, when the credential is registered. */
  customerId: ColumnType<string | null, string | null | undefined, string | null>
}

export interface UnmatchedReadingTable {
  id: Generated<number>
  gatewayId: string
  gatewaySeq: number
  name: string
  ts: Timestamp | null
  value: string | null
  quality: string
  reason: string
  receivedAt: ColumnType<Date, Date | string | undefined, never>
}

export interface DeadLetterTable {
  id: Generated<number>
  receivedAt: ColumnType<Date, Date | string | undefined, never>
  topic: string
  gatewayCode: string | null
  reason: string
  /** Uint8Array from PGlite, Buffer (a Uint8Array) from pg. */
  payload: ColumnType<Uint8Array, Uint8Array, never>
  payloadBytes: number
}

export interface MeteringSettingsTable {
  estateId: string
  cutoffDay: number | null
  windowHours: ColumnType<number, number | undefined, number>
  estimateMissing: ColumnType<boolean, boolean | undefined, boolean>
  spikeFactorWater: DefaultDecimal
  spikeFactorElectricity: DefaultDecimal
  spikeFactorGas: DefaultDecimal
  spikeFactorHeat: DefaultDecimal
  offlineAfterIntervals: ColumnType<number, number | undefined, number>
  updatedAt: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface MeterReadFlag {
  readonly code: string
  readonly message: string
}

export interface MeterReadTable {
  id: Generated<string>
  estateId: string
  meterId: string
  period: string
  periodStart: Timestamp
  cutoffAt: Timestamp
  previousReading: string | null
  previousAt: Timestamp | null
  previousSource: 'read' | 'install' | 'series' | null
  currentReading: string | null
  currentAt: Timestamp | null
  method: MeterReadMethod
  multiplier: Decimal
  consumption: string | null
  rollover: boolean
  replacements: number
  truesUp: boolean
  flags: Json<MeterReadFlag[]>
  status: MeterReadStatus
  approvedBy: string | null
  approvedAt: Timestamp | null
  computedAt: ColumnType<Date, Date | string | undefined, Date | string>
  updatedAt: ColumnType<Date, Date | string | undefined, Date | string>
  version: ColumnType<number, number | undefined, number>
}

export interface MeterReadChangeTable {
  id: Generated<number>
  estateId: string
  meterReadId: string
  action: MeterReadAction
  reason: string | null
  changedBy: string | null
  changedAt: ColumnType<Date, Date | string | undefined, never>
  old: Json<Record<string, unknown>> | null
  new: Json<Record<string, unknown>>
}

export type FeeKind = import('../billing/billing-vocabulary.ts').FeeKind
export type FeeCycle = import('../billing/billing-vocabulary.ts').FeeCycle
export type PaymentMethod = import('../billing/billing-vocabulary.ts').PaymentMethod
export type LedgerAccount = import('../billing/billing-vocabulary.ts').LedgerAccount
export type ReceivableKind = import('../billing/billing-vocabulary.ts').ReceivableKind
export type ApprovalKind = import('../billing/billing-vocabulary.ts').ApprovalKind

export interface FeeItemTable {
  id: Generated<string>
  estateId: string
  code: string
  name: string
  kind: FeeKind
  meterKind: MeterKind | null
  roundingUnit: ColumnType<'fen' | 'jiao', 'fen' | 'jiao' | undefined, 'fen' | 'jiao'>
  roundingMode: ColumnType<'half-up' | 'down', 'half-up' | 'down' | undefined, 'half-up' | 'down'>
  cycle: ColumnType<FeeCycle, FeeCycle | undefined, FeeCycle>
  dueDays: ColumnType<number, number | undefined, number>
  lateFeeDailyRate: DefaultDecimal
  lateFeeGraceDays: ColumnType<number, number | undefined, number>
  lateFeeCapRatio: string | null
  active: ColumnType<boolean, boolean | undefined, boolean>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface FeeBand {
  readonly upTo: string | null
  readonly price: string
}

export interface FeeStandardTable {
  id: Generated<string>
  estateId: string
  feeItemId: string
  name: string
  price: string | null
  amount: string | null
  bands: Json<FeeBand[]> | null
  tierBasis: 'period' | 'annual' | null
  shareBasis: 'area' | 'consumption' | null
  shareSource: 'meter' | 'loss' | null
  shareMeterId: string | null
  validFrom: string
  validTo: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface FeeAssignmentTable {
  id: Generated<string>
  estateId: string
  feeStandardId: string
  target: 'estate' | 'building' | 'use' | 'unit' | 'customer'
  buildingId: string | null
  unitUse: UnitUse | null
  unitId: string | null
  customerId: string | null
  validFrom: string
  validTo: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface BillRunTable {
  id: Generated<string>
  estateId: string
  period: string
  scope: 'estate' | 'building' | 'unit' | 'customer'
  scopeId: string
  status: 'preview' | 'approved' | 'superseded'
  lines: ColumnType<number, number | undefined, number>
  total: DefaultDecimal
  toIssue: DefaultDecimal
  held: ColumnType<number, number | undefined, number>
  createdBy: string | null
  createdAt: CreatedAt
  approvedBy: string | null
  approvedAt: Timestamp | null
}

export interface BillRunLineTable {
  id: Generated<number>
  estateId: string
  billRunId: string
  unitId: string | null
  customerId: string
  feeItemId: string
  period: string
  amount: string | null
  issued: DefaultDecimal
  difference: string | null
  explanation: Json<Record<string, unknown>>
  heldReason: string | null
}

export interface ReceivableTable {
  id: Generated<string>
  estateId: string
  customerId: string
  unitId: string | null
  feeItemId: string
  period: string | null
  kind: ReceivableKind
  amount: Decimal
  dueDate: string
  issuedAt: ColumnType<Date, Date | string | undefined, never>
  billRunId: string | null
  correctsId: string | null
  lateFeeFor: ColumnType<string | null, string | null | undefined, never>
  explanation: Json<Record<string, unknown>>
  createdBy: string | null
}

export interface ReceiptCounterTable {
  estateId: string
  year: number
  last: number
}

export interface PaymentTable {
  id: Generated<string>
  estateId: string
  customerId: string
  purpose: 'bills' | 'deposit'
  method: PaymentMethod
  reference: string | null
  amount: Decimal
  receiptNo: string
  receiptYear: number
  receiptSeq: number
  cashierId: string | null
  paidAt: ColumnType<Date, Date | string | undefined, never>
  idempotencyKey: string
  requestHash: string
}

export interface PaymentAllocationTable {
  id: Generated<number>
  estateId: string
  paymentId: string | null
  receivableId: string
  source: 'payment' | 'prepayment' | 'reversal'
  amount: Decimal
  createdAt: ColumnType<Date, Date | string | undefined, never>
}

export interface ApprovalTable {
  id: Generated<string>
  estateId: string
  kind: ApprovalKind
  paymentId: string | null
  receivableId: string | null
  customerId: string | null
  feeItemId: string | null
  amount: Decimal
  reason: string
  status: ColumnType<'requested' | 'approved' | 'rejected', 'requested' | undefined, 'approved' | 'rejected'>
  requestedBy: string
  requestedAt: ColumnType<Date, Date | string | undefined, never>
  decidedBy: string | null
  decidedAt: Timestamp | null
  /** Why the second person approved or rejected it (required to reject, over the API). */
  decisionNote: string | null
}

export interface LedgerEntryTable {
  id: Generated<number>
  estateId: string
  journalId: string
  account: LedgerAccount
  customerId: string | null
  feeItemId: string | null
  receivableId: string | null
  paymentId: string | null
  method: string | null
  debit: DefaultDecimal
  credit: DefaultDecimal
  effectiveAt: ColumnType<Date, Date | string, never>
  createdAt: ColumnType<Date, Date | string | undefined, never>
  memo: string
}

export type AlarmRuleKind =
  | 'event'
  | 'state'
  | 'threshold'
  | 'rate'
  | 'offline'
  | 'reverse_flow'
  | 'night_flow'
export type AlarmStatus = import('../alarms/alarms-vocabulary.ts').AlarmStatus
export type WorkOrderPriority = import('../alarms/alarms-vocabulary.ts').WorkOrderPriority
export type WorkOrderStatus = import('../alarms/alarms-vocabulary.ts').WorkOrderStatus

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
  severity: ColumnType<
    'critical' | 'major' | 'minor' | 'info',
    'critical' | 'major' | 'minor' | 'info' | undefined
  >
  workOrderCategory: string | null
  workOrderPriority: WorkOrderPriority | null
  department: string | null
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  /** Event rules: fire on the event_count-th event at one source within window_seconds. */
  eventCount: ColumnType<number, number | undefined, number>
  windowSeconds: ColumnType<number | null, number | null | undefined, number | null>
  ratePerMinute: ColumnType<string | null, string | null | undefined, string | null>
  offlineMinutes: ColumnType<number | null, number | null | undefined, number | null>
  offlineTarget: ColumnType<'device' | 'gateway' | null, 'device' | 'gateway' | null | undefined>
  nightStart: ColumnType<number | null, number | null | undefined, number | null>
  nightEnd: ColumnType<number | null, number | null | undefined, number | null>
  minFlow: ColumnType<string | null, string | null | undefined, string | null>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export type DeviceEventTypeName =
  | 'granted'
  | 'denied'
  | 'forced'
  | 'held_open'
  | 'tamper'
  | 'alarm_input'
  | 'state_change'
  | 'alarm'

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
  source: 'alarm' | 'resident' | 'desk' | 'inspection'
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

export type CredentialKind = import('../property/property-vocabulary.ts').CredentialKind

export interface CustomerCredentialTable {
  id: Generated<string>
  estateId: string
  customerId: string
  kind: CredentialKind
  ref: string
  /** False once the card is lost or handed back: events no longer name the customer. */
  active: ColumnType<boolean, boolean | undefined, boolean>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export type AlarmSeverity = import('../alarms/alarms-vocabulary.ts').AlarmSeverity
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

/**
 * Every table the hub's code may query. Tables of the wave-1 schema are listed here; a domain
 * module adds its own from its `<domain>-tables.ts` by augmenting this interface (as
 * hub/notify/notify-tables.ts does), so a new domain edits no shared schema file.
 */
export interface Database {
  orgNodes: OrgNodeTable
  buildings: BuildingTable
  units: UnitTable
  customers: CustomerTable
  occupancies: OccupancyTable
  gateways: GatewayTable
  devices: DeviceTable
  points: PointTable
  meters: MeterTable
  meterReplacements: MeterReplacementTable
  users: UserTable
  roleGrants: RoleGrantTable
  sessions: SessionTable
  readings: ReadingTable
  latestValues: LatestValueTable
  gatewayLinks: GatewayLinkTable
  ingestedBatches: IngestedBatchTable
  deviceEvents: DeviceEventTable
  unmatchedReadings: UnmatchedReadingTable
  deadLetters: DeadLetterTable
  meteringSettings: MeteringSettingsTable
  meterReads: MeterReadTable
  meterReadChanges: MeterReadChangeTable
  feeItems: FeeItemTable
  feeStandards: FeeStandardTable
  feeAssignments: FeeAssignmentTable
  billRuns: BillRunTable
  billRunLines: BillRunLineTable
  receivables: ReceivableTable
  receiptCounters: ReceiptCounterTable
  payments: PaymentTable
  paymentAllocations: PaymentAllocationTable
  approvals: ApprovalTable
  ledgerEntries: LedgerEntryTable
  alarmRules: AlarmRuleTable
  alarms: AlarmTable
  workOrders: WorkOrderTable
  workOrderEvents: WorkOrderEventTable
  workOrderAttachments: WorkOrderAttachmentTable
  slaPolicies: SlaPolicyTable
  customerCredentials: CustomerCredentialTable
}

export type OrgNode = Selectable<OrgNodeTable>
export type User = Selectable<UserTable>
export type NewUser = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>
