import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database, LedgerAccount } from '../store/database-schema.ts'

/** One side of a journal: a positive amount debited or credited to an account. */
export interface EntryInput {
  readonly account: LedgerAccount
  readonly side: 'debit' | 'credit'
  readonly amount: string
  readonly customerId?: string | null
  readonly feeItemId?: string | null
  readonly receivableId?: string | null
  readonly paymentId?: string | null
  readonly method?: string | null
}

/**
 * Posts one balanced journal. Debits must equal credits exactly, every amount must be
 * positive (a negative one is posted on the other side by the caller): an unbalanced journal
 * is a bug, and it throws before anything is written.
 */
export async function postJournal(
  trx: Kysely<Database>,
  estateId: string,
  memo: string,
  entries: readonly EntryInput[],
  effectiveAt: Date = new Date(),
): Promise<string> {
  let debits = Decimal.ZERO
  let credits = Decimal.ZERO
  for (const e of entries) {
    const amount = Decimal.of(e.amount)
    if (!amount.gt(0))
      throw new RangeError(`ledger: entry amount must be positive, got ${e.amount} (${memo})`)
    if (e.side === 'debit') debits = debits.plus(amount)
    else credits = credits.plus(amount)
  }
  if (!debits.eq(credits))
    throw new RangeError(`ledger: journal "${memo}" does not balance: debits ${debits} ≠ credits ${credits}`)
  const journalId = randomUUID()
  if (entries.length === 0) return journalId
  // A payment allocated to a developer's thousands of open lines is one journal: chunked rows.
  await insertEntries(
    trx,
    entries.map((e) => entryRow(estateId, journalId, memo, e)),
    effectiveAt,
  )
  return journalId
}

/** Many balanced journals in few statements (bill runs); each is checked like postJournal's. */
export async function postJournals(
  trx: Kysely<Database>,
  journals: readonly { estateId: string; memo: string; entries: readonly EntryInput[] }[],
  effectiveAt: Date = new Date(),
): Promise<void> {
  const rows = []
  for (const journal of journals) {
    let balance = Decimal.ZERO
    for (const e of journal.entries) {
      const amount = Decimal.of(e.amount)
      if (!amount.gt(0))
        throw new RangeError(`ledger: entry amount must be positive, got ${e.amount} (${journal.memo})`)
      balance = e.side === 'debit' ? balance.plus(amount) : balance.minus(amount)
    }
    if (!balance.isZero())
      throw new RangeError(`ledger: journal "${journal.memo}" does not balance (off by ${balance})`)
    const journalId = randomUUID()
    for (const e of journal.entries) rows.push(entryRow(journal.estateId, journalId, journal.memo, e))
  }
  await insertEntries(trx, rows, effectiveAt)
}

type EntryRow = ReturnType<typeof entryRow>

function entryRow(estateId: string, journalId: string, memo: string, e: EntryInput) {
  return {
    estate_id: estateId,
    journal_id: journalId,
    account: e.account,
    customer_id: e.customerId ?? null,
    fee_item_id: e.feeItemId ?? null,
    receivable_id: e.receivableId ?? null,
    payment_id: e.paymentId ?? null,
    method: e.method ?? null,
    debit: e.side === 'debit' ? Decimal.of(e.amount).toFixed(2) : '0',
    credit: e.side === 'credit' ? Decimal.of(e.amount).toFixed(2) : '0',
    memo,
  }
}

/** Entries as one JSON parameter per 10,000 (jsonb_to_recordset): no bound on how many. */
async function insertEntries(
  trx: Kysely<Database>,
  rows: readonly EntryRow[],
  effectiveAt: Date,
): Promise<void> {
  const at = effectiveAt.toISOString()
  for (let i = 0; i < rows.length; i += 10_000) {
    await sql`insert into ledger_entries (estate_id, journal_id, account, customer_id, fee_item_id, receivable_id,
        payment_id, method, debit, credit, effective_at, memo)
      select estate_id, journal_id, account, customer_id, fee_item_id, receivable_id, payment_id, method, debit,
        credit, ${at}::timestamptz, memo
      from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + 10_000))}::jsonb) as r(estate_id uuid, journal_id uuid,
        account text, customer_id uuid, fee_item_id uuid, receivable_id uuid, payment_id uuid, method text,
        debit numeric, credit numeric, memo text)`.execute(trx)
  }
}

export interface AllocationInput {
  readonly estateId: string
  readonly paymentId: string | null
  readonly receivableId: string
  readonly source: 'payment' | 'prepayment' | 'reversal'
  /** Signed: a reversal is negative. */
  readonly amount: string
}

/** Allocations as one JSON parameter per 10,000: one statement, however many lines a payment covers. */
export async function insertAllocations(
  trx: Kysely<Database>,
  rows: readonly AllocationInput[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 10_000) {
    const chunk = rows.slice(i, i + 10_000).map((a) => ({
      estate_id: a.estateId,
      payment_id: a.paymentId,
      receivable_id: a.receivableId,
      source: a.source,
      amount: a.amount,
    }))
    await sql`insert into payment_allocations (estate_id, payment_id, receivable_id, source, amount)
      select estate_id, payment_id, receivable_id, source, amount
      from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as r(estate_id uuid, payment_id uuid,
        receivable_id uuid, source text, amount numeric)`.execute(trx)
  }
}

/** A signed amount as a debit to `debitAccount` and a credit to `creditAccount` (swapped if negative). */
export function pair(
  amount: string,
  debit: Omit<EntryInput, 'side' | 'amount'>,
  credit: Omit<EntryInput, 'side' | 'amount'>,
): EntryInput[] {
  const value = Decimal.of(amount)
  if (value.isZero()) return []
  const abs = value.abs().toFixed(2)
  return value.isNegative()
    ? [
        { ...credit, side: 'debit', amount: abs },
        { ...debit, side: 'credit', amount: abs },
      ]
    : [
        { ...debit, side: 'debit', amount: abs },
        { ...credit, side: 'credit', amount: abs },
      ]
}

export interface OpenReceivable {
  readonly id: string
  readonly unitId: string | null
  readonly feeItemId: string
  readonly period: string | null
  readonly kind: string
  readonly amount: string
  readonly open: string
  readonly dueDate: string
  readonly issuedAt: Date
}

/**
 * A customer's receivables with an open balance, oldest due first. The balance is derived:
 * the receivable's amount, plus its corrections, less what was allocated to it.
 */
export async function openReceivables(db: Kysely<Database>, customerId: string): Promise<OpenReceivable[]> {
  const rows = await sql<OpenReceivable>`
    select r.id, r.unit_id, r.fee_item_id, r.period, r.kind, r.amount::text as amount, r.due_date, r.issued_at,
      (r.amount + coalesce((select sum(c.amount) from receivables c where c.corrects_id = r.id), 0)
        - coalesce((select sum(a.amount) from payment_allocations a where a.receivable_id = r.id), 0))::text as open
    from receivables r
    where r.customer_id = ${customerId} and r.corrects_id is null
    order by r.due_date, r.issued_at, r.id`.execute(db)
  return rows.rows.filter((r) => Decimal.of(r.open).gt(0))
}

/** The customer's prepayment (预存款) and deposit (押金) balances, from the ledger. */
export async function customerBalances(
  db: Kysely<Database>,
  customerId: string,
): Promise<{ receivable: string; prepayment: string; deposit: string }> {
  const rows = await db
    .selectFrom('ledgerEntries')
    .select(['account', sql<string>`sum(debit - credit)::text`.as('balance')])
    .where('customerId', '=', customerId)
    .where('account', 'in', ['receivable', 'prepayment', 'deposit'])
    .groupBy('account')
    .execute()
  const of = (account: string) => Decimal.of(rows.find((r) => r.account === account)?.balance ?? '0')
  return {
    receivable: of('receivable').toFixed(2),
    // Liabilities carry credit balances: shown positive.
    prepayment: of('prepayment').neg().toFixed(2),
    deposit: of('deposit').neg().toFixed(2),
  }
}
