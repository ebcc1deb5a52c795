import { type Kysely, sql } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { lateFeeDue } from './late-fee-calc.ts'
import { issueReceivables, type NewReceivable } from './receivable-issue.ts'

export interface LateFeeReport {
  readonly asOf: string
  /** Late-fee lines this accrual issued ("0 new" when the date was accrued already). */
  readonly lines: number
  readonly amount: string
  /** What earlier accruals for the same as-of date had issued (the job's, another hub's, a repeat). */
  readonly alreadyAccrued: { readonly lines: number; readonly amount: string }
}

export interface AccrualOptions {
  /** The daily job: a date accrued already (by any hub, or on request) is left as it is. */
  readonly oncePerDate?: boolean
}

/** Advisory-lock class of late-fee accrual: the second key is the estate's hash. */
const ACCRUAL_LOCK = 1304

/**
 * Accrues late fees (滞纳金) up to `asOf` (late-fee-calc.ts says how much). Computed once:
 * accruals of one estate take a transaction-level advisory lock, so a second one (a double
 * click, a second hub's daily job) waits and then finds what the first issued; what was
 * already accrued for a line is subtracted; and the database keeps one late fee per line and
 * as-of date (receivables_late_fee_once), so a line with a fee for this date is skipped.
 * Waivers reduce a late fee's balance, not what was accrued, so a waived fee is not charged
 * again. Callers refuse future dates (the route; the job passes the estate's today).
 */
export async function accrueLateFees(
  db: Kysely<Database>,
  estateId: string,
  asOf: string,
  /** Who asked; null: the daily job. */
  userId: string | null,
  options: AccrualOptions = {},
): Promise<LateFeeReport> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${ACCRUAL_LOCK}::int, hashtext(${estateId}::text))`.execute(trx)
    const earlier = await trx
      .selectFrom('lateFeeRuns')
      .select(['lines', 'amount'])
      .where('estateId', '=', estateId)
      .where('asOf', '=', asOf)
      .executeTakeFirst()
    const alreadyAccrued = {
      lines: earlier?.lines ?? 0,
      amount: Decimal.of(earlier?.amount ?? '0').toFixed(2),
    }
    if (earlier && options.oncePerDate) return { asOf, lines: 0, amount: '0.00', alreadyAccrued }
    const rows = await sql<{
      id: string
      customerId: string
      unitId: string | null
      feeItemId: string
      period: string | null
      dueDate: string
      amount: string
      corrections: { amount: string; dueDate: string }[]
      paid: string
      accrued: string
      rate: string
      grace: number
      cap: string | null
      roundingUnit: 'fen' | 'jiao'
      roundingMode: 'half-up' | 'down'
    }>`
      select r.id, r.customer_id, r.unit_id, r.fee_item_id, r.period, r.due_date::text as due_date,
        r.amount::text as amount,
        coalesce((select json_agg(json_build_object('amount', c.amount::text, 'dueDate', c.due_date::text))
          from receivables c where c.corrects_id = r.id), '[]'::json) as corrections,
        coalesce((select sum(a.amount) from payment_allocations a where a.receivable_id = r.id), 0)::text as paid,
        coalesce((select sum(l.amount) from receivables l where l.late_fee_for = r.id), 0)::text as accrued,
        f.late_fee_daily_rate::text as rate, f.late_fee_grace_days as grace, f.late_fee_cap_ratio::text as cap,
        f.rounding_unit, f.rounding_mode
      from receivables r join fee_items f on f.id = r.fee_item_id
      where r.estate_id = ${estateId} and r.corrects_id is null and r.kind = 'charge'
        and f.late_fee_daily_rate > 0 and r.due_date < ${asOf}::date
        and not exists (select 1 from receivables d where d.late_fee_for = r.id and d.accrued_as_of = ${asOf}::date)
      order by r.id`.execute(trx)
    const fees: NewReceivable[] = []
    let total = Decimal.ZERO
    for (const r of rows.rows) {
      const due = lateFeeDue({ ...r, rounding: { unit: r.roundingUnit, mode: r.roundingMode } }, asOf)
      if (!due.owed.gt(0)) continue
      fees.push({
        estateId,
        customerId: r.customerId,
        unitId: r.unitId,
        feeItemId: r.feeItemId,
        period: r.period,
        kind: 'late_fee',
        amount: due.owed.toFixed(2),
        dueDate: asOf,
        lateFeeFor: r.id,
        accruedAsOf: asOf,
        explanation: { formula: due.formula, inputs: due.inputs },
        createdBy: userId,
      })
      total = total.plus(due.owed)
    }
    await issueReceivables(trx, fees)
    await trx
      .insertInto('lateFeeRuns')
      .values({
        estateId,
        asOf,
        lines: fees.length,
        amount: total.toFixed(2),
        runs: 1,
        lastRunBy: userId,
      })
      .onConflict((oc) =>
        oc.columns(['estateId', 'asOf']).doUpdateSet((eb) => ({
          lines: sql`${eb.ref('lateFeeRuns.lines')} + ${fees.length}`,
          amount: sql`${eb.ref('lateFeeRuns.amount')} + ${total.toFixed(2)}::numeric`,
          runs: sql`${eb.ref('lateFeeRuns.runs')} + 1`,
          lastRunAt: new Date(),
          lastRunBy: userId,
        })),
      )
      .execute()
    return { asOf, lines: fees.length, amount: total.toFixed(2), alreadyAccrued }
  })
}
