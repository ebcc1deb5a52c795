import type { ColumnType, Generated } from 'kysely'
import type {
  CreatedAt,
  DefaultDecimal,
  DeviceProtocol,
  GatewayState,
  Json,
  PointKind,
  Timestamp,
} from '../store/database-schema.ts'

// The devices domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

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
  /** Plausible range (migration 0011): a reading outside it is stored with quality bad. */
  plausibleMin: ColumnType<string | null, string | number | null | undefined, string | number | null>
  plausibleMax: ColumnType<string | null, string | number | null | undefined, string | number | null>
  createdAt: CreatedAt
  updatedAt: Timestamp
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

declare module '../store/database-schema.ts' {
  interface Database {
    gateways: GatewayTable
    devices: DeviceTable
    points: PointTable
    gatewayLinks: GatewayLinkTable
  }
}
