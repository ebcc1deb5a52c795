import { type Kysely, sql } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'

export interface LedgerCheckResult {
  readonly estateId: string
  readonly estateCode: string
  readonly journals: number
  readonly debits: string
  readonly credits: string
  /** Empty when the estate's books are consistent. */
  readonly problems: readonly string[]
}

/**
 * Proves, per estate, what the ledger promises: every journal balances (so debits equal
 * credits overall), each customer's receivable balance in the ledger equals what their
 * receivables and allocations say, no prepayment or deposit is negative, no receivable is
 * paid beyond its amount, and the cash per payment method equals the payments taken.
 */
export async function checkLedger(
  db: Kysely<Database>,
  estateIds?: readonly string[],
): Promise<LedgerCheckResult[]> {
  let estates = db.selectFrom('orgNodes').select(['id', 'code']).where('kind', '=', 'estate').orderBy('code')
  if (estateIds !== undefined) estates = estates.where('id', '=', anyUuid(estateIds))
  const results: LedgerCheckResult[] = []
  for (const estate of await estates.execute()) results.push(await checkEstate(db, estate.id, estate.code))
  return results
}

async function checkEstate(
  db: Kysely<Database>,
  estateId: string,
  estateCode: string,
): Promise<LedgerCheckResult> {
  const problems: string[] = []
  const totals = await sql<{ journals: number; debits: string; credits: string }>`
    select count(distinct journal_id)::int as journals, coalesce(sum(debit), 0)::text as debits,
      coalesce(sum(credit), 0)::text as credits
    from ledger_entries where estate_id = ${estateId}`.execute(db)
  const { journals, debits, credits } = totals.rows[0]!
  if (!Decimal.of(debits).eq(credits)) problems.push(`debits ${debits} ≠ credits ${credits}`)

  const unbalanced = await sql<{ journalId: string; memo: string; diff: string }>`
    select journal_id, min(memo) as memo, (sum(debit) - sum(credit))::text as diff
    from ledger_entries where estate_id = ${estateId}
    group by journal_id having sum(debit) <> sum(credit) limit 20`.execute(db)
  for (const j of unbalanced.rows) problems.push(`journal ${j.journalId} (${j.memo}) is off by ${j.diff}`)

  const customers = await sql<{ customerId: string; code: string; ledger: string; domain: string }>`
    with ledger as (
      select customer_id, sum(debit - credit) as balance from ledger_entries
      where estate_id = ${estateId} and account = 'receivable' group by customer_id
    ), issued as (
      select customer_id, sum(amount) as amount from receivables where estate_id = ${estateId} group by customer_id
    ), paid as (
      select r.customer_id, sum(a.amount) as amount from payment_allocations a
      join receivables r on r.id = a.receivable_id
      where a.estate_id = ${estateId} group by r.customer_id
    )
    select c.id as customer_id, c.code, coalesce(l.balance, 0)::text as ledger,
      (coalesce(i.amount, 0) - coalesce(p.amount, 0))::text as domain
    from customers c
    left join ledger l on l.customer_id = c.id
    left join issued i on i.customer_id = c.id
    left join paid p on p.customer_id = c.id
    where c.estate_id = ${estateId}`.execute(db)
  for (const c of customers.rows) {
    if (!Decimal.of(c.ledger).eq(c.domain))
      problems.push(
        `customer ${c.code}: receivable balance in the ledger ${c.ledger} ≠ receivables less allocations ${c.domain}`,
      )
  }

  const liabilities = await sql<{ code: string; account: string; balance: string }>`
    select c.code, e.account, sum(e.credit - e.debit)::text as balance
    from ledger_entries e join customers c on c.id = e.customer_id
    where e.estate_id = ${estateId} and e.account in ('prepayment', 'deposit')
    group by c.code, e.account having sum(e.credit - e.debit) < 0`.execute(db)
  for (const l of liabilities.rows)
    problems.push(`customer ${l.code}: ${l.account} balance is negative (${l.balance})`)

  const overpaid = await sql<{ id: string; open: string }>`
    select r.id, (r.amount + coalesce((select sum(c.amount) from receivables c where c.corrects_id = r.id), 0)
      - coalesce((select sum(a.amount) from payment_allocations a where a.receivable_id = r.id), 0))::text as open
    from receivables r where r.estate_id = ${estateId} and r.corrects_id is null
      and (r.amount + coalesce((select sum(c.amount) from receivables c where c.corrects_id = r.id), 0)
        - coalesce((select sum(a.amount) from payment_allocations a where a.receivable_id = r.id), 0)) < 0`.execute(
    db,
  )
  for (const r of overpaid.rows)
    problems.push(`receivable ${r.id} is paid beyond its amount (open ${r.open})`)

  const cash = await sql<{ method: string; ledger: string; taken: string }>`
    with ledger as (
      select method, sum(debit - credit) as balance from ledger_entries
      where estate_id = ${estateId} and account = 'cash' group by method
    ), taken as (
      select method, sum(amount) as amount from payments where estate_id = ${estateId} group by method
    ), returned as (
      select p.method, sum(a.amount) as amount from approvals a join payments p on p.id = a.payment_id
      where a.estate_id = ${estateId} and a.status = 'approved' and a.kind in ('void', 'refund', 'deposit_refund')
      group by p.method
    )
    select coalesce(l.method, t.method) as method, coalesce(l.balance, 0)::text as ledger,
      (coalesce(t.amount, 0) - coalesce(r.amount, 0))::text as taken
    from ledger l full join taken t on t.method = l.method left join returned r on r.method = coalesce(l.method, t.method)`.execute(
    db,
  )
  for (const m of cash.rows) {
    if (!Decimal.of(m.ledger).eq(m.taken))
      problems.push(`cash by ${m.method}: ledger ${m.ledger} ≠ payments less refunds ${m.taken}`)
  }
  return { estateId, estateCode, journals, debits, credits, problems }
}
