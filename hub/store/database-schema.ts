import type { ColumnType } from 'kysely'

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

export type Quality = import('../../gateway/contract/index.ts').Quality
export type GatewayState = import('../devices/devices-vocabulary.ts').GatewayLinkStatus
export type MeterReadMethod = import('../metering/metering-vocabulary.ts').MeterReadMethod
export type MeterReadStatus = import('../metering/metering-vocabulary.ts').MeterReadStatus
export type MeterReadAction = import('../metering/metering-vocabulary.ts').MeterReadAction

export interface MeterReadFlag {
  readonly code: string
  readonly message: string
}

export type FeeKind = import('../billing/billing-vocabulary.ts').FeeKind
export type FeeCycle = import('../billing/billing-vocabulary.ts').FeeCycle
export type PaymentMethod = import('../billing/billing-vocabulary.ts').PaymentMethod
export type LedgerAccount = import('../billing/billing-vocabulary.ts').LedgerAccount
export type ReceivableKind = import('../billing/billing-vocabulary.ts').ReceivableKind
export type ApprovalKind = import('../billing/billing-vocabulary.ts').ApprovalKind

export interface FeeBand {
  readonly upTo: string | null
  readonly price: string
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

export type DeviceEventTypeName =
  | 'granted'
  | 'denied'
  | 'forced'
  | 'held_open'
  | 'tamper'
  | 'alarm_input'
  | 'state_change'
  | 'alarm'

export type CredentialKind = import('../property/property-vocabulary.ts').CredentialKind

export type AlarmSeverity = import('../alarms/alarms-vocabulary.ts').AlarmSeverity

/**
 * Every table the hub's code may query. Each domain adds its own from its
 * `hub/<domain>/<domain>-tables.ts` by augmenting this interface, so a new domain edits no
 * shared schema file; the column types and vocabulary aliases they share are above.
 */
// biome-ignore lint/suspicious/noEmptyInterface: every domain adds its tables by augmenting it
export interface Database {}
