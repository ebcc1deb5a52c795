import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/**
 * Table types as Kysely sees them through CamelCasePlugin: `estateId` here is `estate_id`
 * in SQL. Decimals (areas, readings, multipliers) travel as strings so no value is ever
 * rounded through a binary float; dates travel as 'YYYY-MM-DD' strings.
 */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type CreatedAt = ColumnType<Date, never, never>
type Decimal = ColumnType<string, string | number, string | number>
/** A decimal with a database default: may be left out on insert. */
type DefaultDecimal = ColumnType<string, string | number | undefined, string | number>
type Json<T> = ColumnType<T, T, T>

export type OrgNodeKind = 'group' | 'company' | 'estate'
export type UnitUse = 'residence' | 'shop' | 'office' | 'parking' | 'storage' | 'other'
export type UnitStatus = 'vacant' | 'occupied' | 'rented' | 'decorating'
export type CustomerKind = 'person' | 'company'
export type OccupancyRole = 'owner' | 'tenant'
export type DeviceProtocol =
  | 'modbus-tcp'
  | 'modbus-rtu'
  | 'modbus-rtu-over-tcp'
  | 'bacnet-ip'
  | 'access-webhook'
export type PointKind = 'counter' | 'gauge' | 'state' | 'event'
export type MeterKind = 'water' | 'electricity' | 'gas' | 'heat'
export type Role = 'admin' | 'finance' | 'service' | 'engineering' | 'leasing' | 'viewer'

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
}

export type OrgNode = Selectable<OrgNodeTable>
export type User = Selectable<UserTable>
export type NewUser = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>
