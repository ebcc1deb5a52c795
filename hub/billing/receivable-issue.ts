import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database, ReceivableKind } from '../store/database-schema.ts'
import {
  type AllocationInput,
  customerBalances,
  insertAllocations,
  openReceivables,
  pair,
  postJournal,
  postJournals,
} from './ledger.ts'

export interface NewReceivable {
  readonly estateId: string
  readonly customerId: string
  readonly unitId: string | null
  readonly feeItemId: string
  readonly period: string | null
  readonly kind: ReceivableKind
  /** Signed: a correction that lowers a charge is negative. */
  readonly amount: string
  readonly dueDate: string
  readonly billRunId?: string | null
  readonly correctsId?: string | null
  readonly lateFeeFor?: string | null
  /** A late fee's as-of date (one per receivable and date). */
  readonly accruedAsOf?: string | null
  readonly explanation: Record<string, unknown>
  readonly createdBy: string | null
}

/** Issues one receivable (应收) and its journal: receivable against revenue. */
export async function issueReceivable(trx: Kysely<Database>, input: NewReceivable): Promise<string> {
  const [id] = await issueReceivables(trx, [input])
  return id!
}

/**
 * Issues many receivables with one journal each (receivable against revenue), in a few
 * multi-row statements: a 100,000-unit bill run is not 800,000 round trips. Ids are made here
 * so each journal can name its line without reading them back.
 */
export async function issueReceivables(
  trx: Kysely<Database>,
  inputs: readonly NewReceivable[],
): Promise<string[]> {
  const ids = inputs.map(() => randomUUID())
  // One JSON parameter per chunk through jsonb_to_recordset: far fewer bytes and bind
  // parameters than a multi-row VALUES, on PGlite and PostgreSQL alike (docs/benchmarks.md).
  const CHUNK = 5_000
  for (let i = 0; i < inputs.length; i += CHUNK) {
    const slice = inputs.slice(i, i + CHUNK)
    const rows = slice.map((input, j) => ({
      id: ids[i + j]!,
      estate_id: input.estateId,
      customer_id: input.customerId,
      unit_id: input.unitId,
      fee_item_id: input.feeItemId,
      period: input.period,
      kind: input.kind,
      amount: Decimal.of(input.amount).toFixed(2),
      due_date: input.dueDate,
      bill_run_id: input.billRunId ?? null,
      corrects_id: input.correctsId ?? null,
      late_fee_for: input.lateFeeFor ?? null,
      accrued_as_of: input.accruedAsOf ?? null,
      explanation: input.explanation,
      created_by: input.createdBy,
    }))
    await sql`insert into receivables (id, estate_id, customer_id, unit_id, fee_item_id, period, kind, amount,
        due_date, bill_run_id, corrects_id, late_fee_for, accrued_as_of, explanation, created_by)
      select id, estate_id, customer_id, unit_id, fee_item_id, period, kind, amount, due_date, bill_run_id,
        corrects_id, late_fee_for, accrued_as_of, explanation, created_by
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id uuid, estate_id uuid, customer_id uuid,
        unit_id uuid, fee_item_id uuid, period text, kind text, amount numeric, due_date date, bill_run_id uuid,
        corrects_id uuid, late_fee_for uuid, accrued_as_of date, explanation jsonb, created_by uuid)`.execute(
      trx,
    )
    await postJournals(
      trx,
      slice.map((input, j) => ({
        estateId: input.estateId,
        memo: `${input.kind} ${input.period ?? ''}`.trim(),
        entries: pair(
          Decimal.of(input.amount).toFixed(2),
          {
            account: 'receivable',
            customerId: input.customerId,
            feeItemId: input.feeItemId,
            receivableId: ids[i + j]!,
          },
          {
            account: 'revenue',
            customerId: input.customerId,
            feeItemId: input.feeItemId,
            receivableId: ids[i + j]!,
          },
        ),
      })),
    )
  }
  return ids
}

/**
 * Lets a customer's prepayment (预存款) settle their open receivables, oldest due first. Run
 * after bills are issued and after a payment leaves money over. Returns the amount applied.
 */
export async function applyPrepayment(
  trx: Kysely<Database>,
  estateId: string,
  customerId: string,
): Promise<string> {
  let available = Decimal.of((await customerBalances(trx, customerId)).prepayment)
  if (!available.gt(0)) return '0.00'
  let applied = Decimal.ZERO
  const entries = []
  const allocations: AllocationInput[] = []
  for (const r of await openReceivables(trx, customerId)) {
    if (!available.gt(0)) break
    const open = Decimal.of(r.open)
    const take = open.lt(available) ? open : available
    allocations.push({
      estateId,
      paymentId: null,
      receivableId: r.id,
      source: 'prepayment',
      amount: take.toFixed(2),
    })
    entries.push(
      ...pair(
        take.toFixed(2),
        { account: 'prepayment', customerId },
        { account: 'receivable', customerId, feeItemId: r.feeItemId, receivableId: r.id },
      ),
    )
    available = available.minus(take)
    applied = applied.plus(take)
  }
  await insertAllocations(trx, allocations)
  if (entries.length > 0) await postJournal(trx, estateId, 'prepayment applied to open bills', entries)
  return applied.toFixed(2)
}
