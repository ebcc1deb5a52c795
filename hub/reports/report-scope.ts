import { type Kysely, type RawBuilder, sql } from 'kysely'
import { invalid, notFound } from '../kernel/api-error.ts'
import { DEFAULT_TIME_ZONE } from '../metering/meter-read-inputs.ts'
import type { Database, OrgNodeKind } from '../store/database-schema.ts'

export interface ReportEstate {
  readonly id: string
  readonly code: string
  readonly name: string
  readonly timezone: string
}

/** What every report covers: a node of the organisation, its estates the caller may see, a moment. */
export interface ReportScope {
  readonly node: {
    readonly id: string
    readonly kind: OrgNodeKind
    readonly code: string
    readonly name: string
  }
  /** The estates under the node (or the node itself) that the caller may read, by code. */
  readonly estates: readonly ReportEstate[]
  /**
   * Only rows issued, paid, allocated or decided at or before this instant count. Those rows are
   * immutable, so the same asOf gives the same numbers whenever the report is made again.
   */
  readonly asOf: Date
}

/** What a route declaring `access: { node: { from: 'query.nodeId' } }` resolved (hub/kernel/route-access.ts). */
export interface DeclaredNode {
  /** An estate, company or group the caller can see (404 otherwise, so nothing is learnt of others). */
  readonly nodeId: string
  /** The estates the caller may read. */
  readonly estateIds: readonly string[]
}

/**
 * Resolves the declared node to the estates the report covers, and `asOf` (default: now).
 * An asOf in the future is refused: rows could still arrive before it, so the numbers would not
 * be reproducible.
 */
export async function reportScope(
  db: Kysely<Database>,
  access: DeclaredNode,
  asOf: string | undefined,
  now: Date = new Date(),
): Promise<ReportScope> {
  const node = await db
    .selectFrom('orgNodes')
    .select(['id', 'kind', 'code', 'name'])
    .where('id', '=', access.nodeId)
    .executeTakeFirst()
  if (!node) throw notFound('organisation node', 'query.nodeId')
  const at = asOf === undefined ? now : new Date(asOf)
  if (Number.isNaN(at.getTime()))
    throw invalid('query.asOf', 'must be an ISO date-time with a time zone', 'date.dateTime')
  if (at.getTime() > now.getTime())
    throw invalid(
      'query.asOf',
      'must not be in the future: a report of the future could not be reproduced',
      'report.asOfFuture',
    )
  // group → company → estate: an estate is the node, its child or its grandchild.
  const rows = await sql<ReportEstate>`
    select e.id, e.code, e.name, coalesce(e.timezone, ${DEFAULT_TIME_ZONE}) as timezone
    from org_nodes e left join org_nodes c on c.id = e.parent_id
    where e.kind = 'estate' and (e.id = ${node.id} or e.parent_id = ${node.id} or c.parent_id = ${node.id})
    order by e.code, e.id`.execute(db)
  const readable = new Set(access.estateIds)
  return { node, estates: rows.rows.filter((e) => readable.has(e.id)), asOf: at }
}

/** `(id, tz)` of the report's estates, as the first CTE of a report query. Never empty. */
export function estatesCte(scope: ReportScope): RawBuilder<unknown> {
  // One array parameter, however many estates a group has (an empty one matches nothing).
  const ids = scope.estates.map((e) => e.id)
  return sql`est as (
    select id, coalesce(timezone, ${DEFAULT_TIME_ZONE}) as tz from org_nodes
    where kind = 'estate' and id = any(${ids}::uuid[])
  )`
}

/** The asOf instant as a query parameter. */
export const asOfParam = (scope: ReportScope) => sql`${scope.asOf.toISOString()}::timestamptz`
