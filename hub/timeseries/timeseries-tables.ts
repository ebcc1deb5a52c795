import type { ColumnType } from 'kysely'
import type { Quality, Timestamp } from '../store/database-schema.ts'

// The timeseries domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

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

declare module '../store/database-schema.ts' {
  interface Database {
    readings: ReadingTable
    latestValues: LatestValueTable
  }
}
