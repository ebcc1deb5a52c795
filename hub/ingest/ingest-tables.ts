import type { ColumnType, Generated } from 'kysely'
import type { Json, Timestamp } from '../store/database-schema.ts'

// The ingest domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

export interface IngestedBatchTable {
  gatewayId: string
  seq: number
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

declare module '../store/database-schema.ts' {
  interface Database {
    ingestedBatches: IngestedBatchTable
    deviceEvents: DeviceEventTable
    unmatchedReadings: UnmatchedReadingTable
    deadLetters: DeadLetterTable
  }
}
