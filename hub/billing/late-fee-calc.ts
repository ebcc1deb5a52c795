import { Decimal } from '../kernel/decimal.ts'
import { daysBetween } from './fee-dates.ts'
import { roundMoney } from './fee-money.ts'
import type { MoneyRounding } from './fee-types.ts'

/** An open charge as the accrual sees it: its amount and the corrections of it, each with its due date. */
export interface LateFeeLine {
  readonly amount: string
  readonly dueDate: string
  /** Corrections and adjustments of the charge (signed), each due on its own date. */
  readonly corrections: readonly { readonly amount: string; readonly dueDate: string }[]
  /** Net of what was allocated to the charge (payments less reversals, prepayment). */
  readonly paid: string
  /** Late fees accrued for it so far. */
  readonly accrued: string
  readonly rate: string
  readonly grace: number
  readonly cap: string | null
  readonly rounding: MoneyRounding
}

export interface LateFeeDue {
  /** What to charge now: the fee up to the date less what was accrued (≤ 0: nothing). */
  readonly owed: Decimal
  readonly formula: string
  readonly inputs: Record<string, unknown>
}

/**
 * The late fee (滞纳金) a charge owes up to `asOf`. What is owed is split by due date: the
 * charge's amount is due on its date, each later increase (a correction, an adjustment) on its
 * own (due-dates.ts), so an increase billed today draws nothing today. Payments and credits
 * settle the earliest due part first. Each part more than the grace days overdue owes its open
 * balance × the daily rate × the days since its due date; the sum is capped at the cap × the
 * charge's amount (with its corrections), rounded once, less what was accrued already.
 */
export function lateFeeDue(line: LateFeeLine, asOf: string): LateFeeDue {
  const parts = [{ amount: Decimal.of(line.amount), dueDate: line.dueDate }]
  let credit = Decimal.of(line.paid)
  let principal = Decimal.of(line.amount)
  for (const c of line.corrections) {
    const amount = Decimal.of(c.amount)
    principal = principal.plus(amount)
    if (amount.isNegative()) credit = credit.minus(amount)
    else parts.push({ amount, dueDate: c.dueDate })
  }
  parts.sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : 0))
  let due = Decimal.ZERO
  const terms: string[] = []
  const overdue: { dueDate: string; open: string; days: number }[] = []
  for (const part of parts) {
    const settled = credit.lt(part.amount) ? credit : part.amount
    credit = credit.minus(settled)
    const open = part.amount.minus(settled)
    if (!open.gt(0)) continue
    const days = daysBetween(part.dueDate, asOf)
    if (days <= line.grace) continue
    due = due.plus(open.times(line.rate).times(days))
    terms.push(`${open.toFixed(2)} × ${line.rate}/天 × ${days} 天`)
    overdue.push({ dueDate: part.dueDate, open: open.toFixed(2), days })
  }
  let capped = ''
  if (line.cap !== null) {
    const cap = principal.times(line.cap)
    if (due.gt(cap)) due = cap
    capped = `, 上限 ${principal.toFixed(2)} × ${line.cap}`
  }
  const owed = Decimal.of(roundMoney(due, line.rounding)).minus(line.accrued)
  return {
    owed,
    formula: `${terms.join(' + ') || '0'}${capped} − 已计 ${Decimal.of(line.accrued).toFixed(2)}`,
    inputs: {
      overdue,
      rate: line.rate,
      grace: line.grace,
      cap: line.cap,
      principal: principal.toFixed(2),
      accrued: Decimal.of(line.accrued).toFixed(2),
    },
  }
}
