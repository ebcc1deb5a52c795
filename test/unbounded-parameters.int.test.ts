import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approveBillRun, previewBillRun } from '../hub/billing/bill-run.ts'
import { customerBalances } from '../hub/billing/ledger.ts'
import { checkLedger } from '../hub/billing/ledger-check.ts'
import { createOrgChain } from '../hub/org/org-chain.ts'
import { estatesCte, type ReportScope } from '../hub/reports/report-scope.ts'
import type { Database } from '../hub/store/database-schema.ts'
import { SeriesTagDirectory } from '../hub/timeseries/series-tags.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Issue 14, item 3: no query binds one parameter per row of an unbounded set. PostgreSQL's
 * Bind message counts parameters in 16 bits, so `in ($1, …, $100000)` fails past 65,535 (and
 * a multi-row VALUES of 12 columns past 5,461 rows). Every path that was fixed runs here on
 * 100,000 rows, in a PostgreSQL database of its own seeded set-based once:
 * - a bill run for an estate of 100,000 units whose one customer (a developer) holds prepayment:
 *   approval applies it to 200,000 open lines (allocations and one journal of 200,000+ entries);
 * - the ledger check and a report's estate scope asked for 100,000 estate ids;
 * - the API's lists for an admin of a group of 100,003 nodes (org nodes, an estate resource,
 *   device events, notification deliveries, users) and the desk view of the developer;
 * - the time-series tags of 100,000 points.
 * A static check keeps new code from binding lists again: below.
 */
const N = 100_000
const backend = storeBackends().find((b) => b.name === 'postgres')
if (!backend)
  console.log('unbounded-parameter test skipped: ESTATEHUB_TEST_PG_URL is not set (PostgreSQL only)')

const timed = async <T>(label: string, action: () => Promise<T>): Promise<T> => {
  const started = performance.now()
  const result = await action()
  console.log(`[timing] ${label}: ${((performance.now() - started) / 1000).toFixed(2)} s`)
  return result
}

describe.skipIf(!backend)(
  'queries over 100,000 rows bind one array, not 100,000 parameters (PostgreSQL)',
  () => {
    let hub: TestHub
    let db: Kysely<Database>
    let chain: { groupId: string; companyId: string; estateId: string }
    let developerId: string
    let clerkId: string

    beforeAll(async () => {
      hub = await openTestHub(backend!)
      db = hub.store.db
      chain = await createOrgChain(db, {
        group: { code: 'UP-G' },
        company: { code: 'UP-C' },
        estate: { code: 'UP-E' },
      })
      const estate = chain.estateId
      await timed(`seeding ${N} estates, units, lines and journals`, () =>
        db.transaction().execute(async (trx) => {
          await sql`insert into org_nodes (kind, parent_id, code, name)
          select 'estate', ${chain.companyId}::uuid, 'UP-X' || i, '小区' || i from generate_series(1, ${N}::int) i`.execute(
            trx,
          )
          clerkId = (
            await trx
              .insertInto('users')
              .values({ username: 'up-clerk', displayName: '财务', passwordHash: 'x' })
              .returning('id')
              .executeTakeFirstOrThrow()
          ).id
          const building = await trx
            .insertInto('buildings')
            .values({ estateId: estate, code: 'B1', name: '1号楼', floorsAbove: 30, floorsBelow: 0 })
            .returning('id')
            .executeTakeFirstOrThrow()
          await sql`insert into units (estate_id, building_id, code, floor, area_m2, use, status)
          select ${estate}::uuid, ${building.id}::uuid, 'U' || lpad(i::text, 6, '0'), 1 + i % 30, 50 + i % 100,
            'residence', 'occupied'
          from generate_series(1, ${N}::int) i`.execute(trx)
          developerId = (
            await trx
              .insertInto('customers')
              .values({ estateId: estate, code: 'DEV', kind: 'company', name: '开发商' })
              .returning('id')
              .executeTakeFirstOrThrow()
          ).id
          await sql`insert into occupancies (estate_id, unit_id, customer_id, role, start_date)
          select ${estate}::uuid, id, ${developerId}::uuid, 'owner', date '2015-01-01' from units
          where estate_id = ${estate}`.execute(trx)
          // Last month's charge on every unit, 10.00 each, with its journal; then a payment of
          // exactly their sum left as prepayment, which this month's approval applies to them.
          const seedItem = await trx
            .insertInto('feeItems')
            .values({ estateId: estate, code: 'SEED', name: '上月费用', kind: 'fixed', active: false })
            .returning('id')
            .executeTakeFirstOrThrow()
          await sql`insert into receivables (estate_id, customer_id, unit_id, fee_item_id, period, kind, amount, due_date)
          select ${estate}::uuid, ${developerId}::uuid, id, ${seedItem.id}::uuid, '2026-09', 'charge', 10, date '2026-10-15'
          from units where estate_id = ${estate}`.execute(trx)
          await sql`insert into ledger_entries (estate_id, journal_id, account, customer_id, fee_item_id, receivable_id,
            debit, credit, effective_at, memo)
          select r.estate_id, r.id, e.account, r.customer_id, r.fee_item_id, r.id, e.debit, e.credit, now(), 'charge 2026-09'
          from receivables r cross join lateral (values ('receivable', 10, 0), ('revenue', 0, 10)) e(account, debit, credit)
          where r.estate_id = ${estate}`.execute(trx)
          const payment = await trx
            .insertInto('payments')
            .values({
              estateId: estate,
              customerId: developerId,
              purpose: 'bills',
              method: 'transfer',
              amount: String(10 * N),
              receiptNo: 'UP-E-2026-000001',
              receiptYear: 2026,
              receiptSeq: 1,
              idempotencyKey: 'unbounded-prepayment',
              requestHash: 'seeded',
            })
            .returning('id')
            .executeTakeFirstOrThrow()
          const journal = randomUUID()
          await sql`insert into ledger_entries (estate_id, journal_id, account, customer_id, payment_id, method,
            debit, credit, effective_at, memo)
          values (${estate}, ${journal}, 'cash', ${developerId}, ${payment.id}, 'transfer', ${10 * N}, 0, now(), 'payment'),
            (${estate}, ${journal}, 'prepayment', ${developerId}, ${payment.id}, null, 0, ${10 * N}, now(), 'payment')`.execute(
            trx,
          )
          // This month: one property fee by area, assigned estate-wide.
          const prop = await trx
            .insertInto('feeItems')
            .values({ estateId: estate, code: 'PROP', name: '物业费', kind: 'area' })
            .returning('id')
            .executeTakeFirstOrThrow()
          const standard = await trx
            .insertInto('feeStandards')
            .values({
              estateId: estate,
              feeItemId: prop.id,
              name: '物业费 2.00',
              validFrom: '2020-01-01',
              price: '2.00',
            })
            .returning('id')
            .executeTakeFirstOrThrow()
          await trx
            .insertInto('feeAssignments')
            .values({
              estateId: estate,
              feeStandardId: standard.id,
              target: 'estate',
              validFrom: '2020-01-01',
            })
            .execute()
        }),
      )
      await sql`analyze`.execute(db)
    }, 600_000)

    afterAll(async () => {
      await hub?.close()
    })

    it('runs the bill of 100,000 units and applies prepayment to 200,000 open lines', async () => {
      const run = await timed(`previewBillRun, ${N} units`, () =>
        previewBillRun(db, {
          estateId: chain.estateId,
          period: '2026-10',
          scope: 'estate',
          scopeId: chain.estateId,
          userId: null,
        }),
      )
      expect(run).toMatchObject({ lines: N, held: 0 })
      const approved = await timed(`approveBillRun, ${N} lines and prepayment over ${2 * N} open lines`, () =>
        approveBillRun(db, run.id, clerkId),
      )
      expect(approved.issued).toBe(N)
      // The prepayment settled last month's lines, oldest due first, to the fen.
      const allocations = await sql<{ n: number; amount: string }>`
      select count(*)::int as n, sum(amount)::text as amount from payment_allocations
      where estate_id = ${chain.estateId} and source = 'prepayment'`.execute(db)
      expect(allocations.rows[0]).toEqual({ n: N, amount: (10 * N).toFixed(2) })
      expect((await customerBalances(db, developerId)).prepayment).toBe('0.00')
    }, 600_000)

    it('checks the ledger when asked for 100,000 estates', async () => {
      const ids = [chain.estateId, ...Array.from({ length: N - 1 }, () => randomUUID())]
      const results = await timed(`checkLedger, ${N} estate ids`, () => checkLedger(db, ids))
      expect(results.map((r) => [r.estateCode, r.problems])).toEqual([['UP-E', []]])
    }, 300_000)

    it('scopes a report to 100,000 estate ids', async () => {
      // The estate and 99,999 ids of no estate: the list is what is bound, not the work per estate.
      const scope: ReportScope = {
        node: { id: chain.groupId, kind: 'group', code: 'UP-G', name: 'UP-G' },
        estates: [
          { id: chain.estateId, code: 'UP-E', name: 'UP-E', timezone: 'Asia/Shanghai' },
          ...Array.from({ length: N - 1 }, (_, i) => ({
            id: randomUUID(),
            code: `NONE-${i}`,
            name: 'none',
            timezone: 'Asia/Shanghai',
          })),
        ],
        asOf: new Date(),
      }
      // The reports' first CTE (estatesCte), as every report and the overview's figures use it.
      const est = await timed(`estatesCte, ${N} estate ids`, () =>
        sql<{ id: string }>`with ${estatesCte(scope)} select id from est`.execute(db),
      )
      expect(est.rows.map((r) => r.id)).toEqual([chain.estateId])
    }, 300_000)

    it('serves the lists of an admin of 100,003 nodes and the desk view of 100,000 open lines', async () => {
      const token = await hub.userWithGrants('up-admin', [{ role: 'admin', nodeId: chain.groupId }])
      const get = async (url: string) => {
        const reply = await timed(`GET ${url}`, () => hub.call(token, { method: 'GET', url }))
        expect(reply.status, `${url}: ${JSON.stringify(reply.body).slice(0, 300)}`).toBe(200)
        return reply.body
      }
      expect((await get('/api/v1/org-nodes?limit=1')).total).toBe(N + 3)
      expect((await get('/api/v1/buildings?limit=1')).total).toBe(1)
      expect((await get('/api/v1/device-events?limit=1')).total).toBe(0)
      expect((await get('/api/v1/notification-deliveries?limit=1')).total).toBe(0)
      expect((await get('/api/v1/users?limit=5')).total).toBeGreaterThanOrEqual(1)
      const account = await get(`/api/v1/customers/${developerId}/account`)
      expect(account.open).toHaveLength(N)
      expect(account.open[0].unitCode).toMatch(/^U\d{6}$/)
    }, 300_000)

    it('finds the series tags of 100,000 points', async () => {
      const tags = await timed(`SeriesTagDirectory.tagsFor, ${N} points`, () =>
        new SeriesTagDirectory(db).tagsFor(Array.from({ length: N }, () => randomUUID())),
      )
      expect(tags.size).toBe(0)
    }, 120_000)
  },
)

/**
 * The static half: Kysely's `where(col, 'in', list)` and `sql.join(list)` bind one parameter
 * per element. In hub/, each must take a literal list, a subquery, or say why its list is
 * bounded with a `bounded: <why>` comment on its line or just above; anything else is a set
 * that can grow with the estate and must use `= any(${ids}::uuid[])` (hub/store/sql-arrays.ts).
 */
describe('no query in hub/ binds an unbounded list', () => {
  const root = join(import.meta.dirname, '..', 'hub')
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? files(join(dir, e.name))
        : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
          ? [join(dir, e.name)]
          : [],
    )

  it("has no 'in' or sql.join over a list that is not literal, a subquery or marked bounded", () => {
    const offenders: string[] = []
    for (const file of files(root)) {
      const text = readFileSync(file, 'utf8')
      const lines = text.split('\n')
      for (const match of text.matchAll(/'(?:not )?in',\s*|sql\.join\(/g)) {
        const after = text.slice(match.index + match[0].length)
        const literal = /^\[\s*(?:'[^']*'\s*,?\s*)*\]/.test(after)
        const subquery = /^\(?\s*(?:eb|qb)\b/.test(after) || after.startsWith('(eb)')
        if (match[0].startsWith("'") && (literal || subquery)) continue
        const line = text.slice(0, match.index).split('\n').length
        const near = lines.slice(Math.max(0, line - 5), line).join('\n')
        if (/bounded:/.test(near)) continue
        offenders.push(`${relative(join(root, '..'), file)}:${line}: ${lines[line - 1]!.trim()}`)
      }
    }
    expect(offenders, offenders.join('\n')).toEqual([])
  })
})
