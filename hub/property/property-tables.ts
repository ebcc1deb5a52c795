import type { ColumnType, Generated } from 'kysely'
import type {
  CreatedAt,
  CredentialKind,
  CustomerKind,
  Decimal,
  OccupancyRole,
  Timestamp,
  UnitStatus,
  UnitUse,
} from '../store/database-schema.ts'

// The property domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

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

declare module '../store/database-schema.ts' {
  interface Database {
    buildings: BuildingTable
    units: UnitTable
    customers: CustomerTable
    occupancies: OccupancyTable
    customerCredentials: CustomerCredentialTable
  }
}
