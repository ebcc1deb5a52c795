import type { ColumnType, Generated, Selectable } from 'kysely'
import type { CreatedAt, OrgNodeKind, Timestamp } from '../store/database-schema.ts'

// The org domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

export interface OrgNodeTable {
  id: Generated<string>
  kind: OrgNodeKind
  parentId: string | null
  code: string
  name: string
  timezone: string | null
  address: string | null
  /** An estate's local 'HH:MM' at which the daily late-fee accrual runs (migration 0009). */
  lateFeeAccrualTime: ColumnType<string, string | undefined, string>
  /** Bill runs need a second person to approve them; null: as the parent (on at the root). */
  fourEyesBillRuns: ColumnType<boolean | null, boolean | null | undefined, boolean | null>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export type OrgNode = Selectable<OrgNodeTable>

declare module '../store/database-schema.ts' {
  interface Database {
    orgNodes: OrgNodeTable
  }
}
