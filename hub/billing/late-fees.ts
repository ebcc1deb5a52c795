import { type Kysely, sql } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { daysBetween } from './fee-dates.ts'
import { roundMoney } from './fee-money.ts'
import { issueReceivable } from './receivable-issue.ts'

export interface LateFeeReport {
  readonly asOf: string
  readonly lines: number
  readonly amount: string
}

/**
 * Accrues late fees (滞纳金) up to `asOf`: for each open line of an item with a daily rate,
 * once more than the grace days have passed since its due date, open balance × rate × days
 * since the due date, capped at the item's cap × the line's amount. What was already accrued
 * for the line is subtracted, so running it daily (or twice) issues each fen once. Waivers
 * reduce a late fee's balance, not what was accrued, so a waived fee is not charged again.
 */
export async function accrueLateFees(
  db: Kysely<Database>,
  estateId: string,
  asOf: string,
  userId: string | null,
): Promise<LateFeeReport> {
  return db.transaction().execute(async (trx) => {
    const rows = await sql<{
      id: string
      customerId: string
      unitId: string | null
      feeItemId: string
      period: string | null
      dueDate: string
      principal: string
      open: string
      accrued: string
      rate: string
      grace: number
      cap: string | null
      roundingUnit: 'fen' | 'jiao'
      roundingMode: 'half-up' | 'down'
    }>`
      select r.id, r.customer_id, r.unit_id, r.fee_item_id, r.period, r.due_date,
        (r.amount + coalesce((select sum(c.amount) from receivables c where c.corrects_id = r.id), 0))::text as principal,
        (r.amount + coalesce((select sum(c.amount) from receivables c where c.corrects_id = r.id), 0)
          - coalesce((select sum(a.amount) from payment_allocations a where a.receivable_id = r.id), 0))::text as open,
        coalesce((select sum(l.amount) from receivables l where l.late_fee_for = r.id), 0)::text as accrued,
        f.late_fee_daily_rate::text as rate, f.late_fee_grace_days as grace, f.late_fee_cap_ratio::text as cap,
        f.rounding_unit, f.rounding_mode
      from receivables r join fee_items f on f.id = r.fee_item_id
      where r.estate_id = ${estateId} and r.corrects_id is null and r.kind = 'charge'
        and f.late_fee_daily_rate > 0 and r.due_date < ${asOf}::date`.execute(trx)
    let lines = 0
    let total = Decimal.ZERO
    for (const r of rows.rows) {
      const open = Decimal.of(r.open)
      if (!open.gt(0)) continue
      const days = daysBetween(r.dueDate, asOf)
      if (days <= r.grace) continue
      let due = open.times(r.rate).times(days)
      if (r.cap !== null) {
        const cap = Decimal.of(r.principal).times(r.cap)
        if (due.gt(cap)) due = cap
      }
      const rounding = { unit: r.roundingUnit, mode: r.roundingMode }
      const owed = Decimal.of(roundMoney(due, rounding)).minus(r.accrued)
      if (!owed.gt(0)) continue
      await issueReceivable(trx, {
        estateId,
        customerId: r.customerId,
        unitId: r.unitId,
        feeItemId: r.feeItemId,
        period: r.period,
        kind: 'late_fee',
        amount: owed.toFixed(2),
        dueDate: asOf,
        lateFeeFor: r.id,
        explanation: {
          formula: `${r.open} × ${r.rate}/天 × ${days} 天${r.cap === null ? '' : `, 上限 ${r.principal} × ${r.cap}`} − 已计 ${r.accrued}`,
          inputs: { open: r.open, rate: r.rate, days, grace: r.grace, cap: r.cap, accrued: r.accrued },
        },
        createdBy: userId,
      })
      lines += 1
      total = total.plus(owed)
    }
    return { asOf, lines, amount: total.toFixed(2) }
  })
}
