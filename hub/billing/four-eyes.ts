import { type Kysely, sql } from 'kysely'
import type { Database } from '../store/database-schema.ts'

/**
 * Whether a bill run of this estate needs a second person: the nearest org node on the way up
 * (estate, company, group) that says so decides; when none does, it does (four eyes is the
 * default, docs/billing.md).
 */
export async function billRunsNeedFourEyes(db: Kysely<Database>, estateId: string): Promise<boolean> {
  const rows = await sql<{ fourEyesBillRuns: boolean }>`
    with recursive up (id, parent_id, four_eyes_bill_runs, depth) as (
      select id, parent_id, four_eyes_bill_runs, 0 from org_nodes where id = ${estateId}
      union all
      select n.id, n.parent_id, n.four_eyes_bill_runs, up.depth + 1
      from org_nodes n join up on n.id = up.parent_id where up.depth < 10
    )
    select four_eyes_bill_runs from up where four_eyes_bill_runs is not null order by depth limit 1`.execute(
    db,
  )
  return rows.rows[0]?.fourEyesBillRuns ?? true
}
