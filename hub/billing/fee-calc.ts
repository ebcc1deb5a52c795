/**
 * The pure fee calculation engine of the bill run (费用计算): one fee standard (收费标准) and the
 * unit's figures in, one amount with its explanation out. No database, no I/O, no floating point:
 * every step is exact `Decimal` arithmetic, rounded once at the end to the fee item's unit.
 *
 * Proration: a standard that holds for part of the period is charged for the days of its span
 * inside the period ([from, to) dates) over the days of the period; days outside every span are not
 * charged. All spans share the period's days as denominator, so Σ over spans is exact before the
 * single rounding.
 *
 * This module holds the per-unit charges (area, consumption, fixed, one-off) and re-exports the rest
 * of the engine: money rounding (fee-money), calendar days (fee-dates), tiers (fee-tiered) and
 * sharing (fee-share).
 */
import { Decimal } from '../kernel/decimal.ts'
import { type Coverage, coverSpans } from './fee-dates.ts'
import {
  checkRounding,
  parseDecimal,
  resultText,
  roundingInputs,
  roundingNote,
  roundQuotient,
} from './fee-money.ts'
import type { BillPeriod, FeeLine, MoneyRounding, RuleSpan, StandardRule } from './fee-types.ts'

export { daysBetween } from './fee-dates.ts'
export { roundMoney } from './fee-money.ts'
export { type Share, type SharePart, sharedCharge, shareOut } from './fee-share.ts'
export { tieredCharge } from './fee-tiered.ts'
export type {
  Band,
  BillPeriod,
  Explanation,
  FeeLine,
  MoneyRounding,
  RoundingMode,
  RoundingUnit,
  RuleSpan,
  StandardRule,
} from './fee-types.ts'

interface SpanArgs {
  readonly spans: readonly RuleSpan[]
  readonly period: BillPeriod
  readonly rounding: MoneyRounding
}

function periodInputs(period: BillPeriod, cover: Coverage<StandardRule>) {
  return {
    periodFrom: period.from,
    periodTo: period.to,
    periodDays: cover.periodDays,
    months: period.months,
    uncoveredDays: cover.periodDays - cover.coveredDays,
  }
}

/**
 * Σ over a coverage's spans of term(span) × days / period days, rounded once. `term` gives the
 * span's per-period value (exact) and its text in the formula.
 */
function prorate<R extends StandardRule>(
  cover: Coverage<R>,
  rounding: MoneyRounding,
  term: (rule: R, index: number) => { readonly value: Decimal; readonly text: string },
): { amount: string; formula: string } {
  let numerator = Decimal.ZERO
  const texts = cover.spans.map((span) => {
    const t = term(span.rule, span.index)
    numerator = numerator.plus(t.value.times(BigInt(span.days)))
    return `${t.text} × ${span.days}/${cover.periodDays} 天`
  })
  const { amount, exact } = roundQuotient(numerator, BigInt(cover.periodDays), rounding)
  return { amount, formula: `${texts.join(' + ')} ${resultText(amount, rounding, exact)}` }
}

/**
 * 物业费 by area: Σ over spans of price × area × months × (span days / period days), rounded once.
 * Formula e.g. "89.50 m² × 2.80 /m²/月 × 1 月 × 31/31 天 = 250.60".
 */
export function areaCharge(args: SpanArgs & { readonly areaM2: string }): FeeLine {
  const { rounding, period } = args
  checkRounding(rounding)
  const area = parseDecimal('areaM2', args.areaM2, 'non-negative')
  const cover = coverSpans(args.spans, period, 'area')
  const months = BigInt(period.months)
  const { amount, formula } = prorate(cover, rounding, (rule, i) => {
    const price = parseDecimal(`spans[${i}].rule.price`, rule.price, 'non-negative')
    return {
      value: area.times(price).times(months),
      text: `${args.areaM2} m² × ${rule.price} /m²/月 × ${period.months} 月`,
    }
  })
  return {
    amount,
    explanation: {
      formula,
      inputs: {
        areaM2: args.areaM2,
        ...periodInputs(period, cover),
        spans: cover.spans.map((s) => ({ from: s.from, to: s.to, days: s.days, price: s.rule.price })),
        ...roundingInputs(rounding),
      },
    },
  }
}

/**
 * Consumption × price. With several spans the consumption is split across them by days, exactly
 * (consumption × span days / period days, never rounded), and each share priced by its span's
 * standard; the share of days outside every span is not charged.
 */
export function consumptionCharge(args: SpanArgs & { readonly consumption: string }): FeeLine {
  const { rounding, period } = args
  checkRounding(rounding)
  const consumption = parseDecimal('consumption', args.consumption, 'non-negative')
  const cover = coverSpans(args.spans, period, 'consumption')
  const { amount, formula } = prorate(cover, rounding, (rule, i) => {
    const price = parseDecimal(`spans[${i}].rule.price`, rule.price, 'non-negative')
    return { value: consumption.times(price), text: `${args.consumption} × ${rule.price}` }
  })
  return {
    amount,
    explanation: {
      formula,
      inputs: {
        consumption: args.consumption,
        ...periodInputs(period, cover),
        spans: cover.spans.map((s) => ({ from: s.from, to: s.to, days: s.days, price: s.rule.price })),
        ...roundingInputs(rounding),
      },
    },
  }
}

/** A fixed amount per billing period, prorated by the days its spans cover. */
export function fixedCharge(args: SpanArgs): FeeLine {
  const { rounding, period } = args
  checkRounding(rounding)
  const cover = coverSpans(args.spans, period, 'fixed')
  const { amount, formula } = prorate(cover, rounding, (rule, i) => {
    const fixed = parseDecimal(`spans[${i}].rule.amount`, rule.amount, 'non-negative')
    return { value: fixed, text: `${rule.amount} /期` }
  })
  return {
    amount,
    explanation: {
      formula,
      inputs: {
        ...periodInputs(period, cover),
        spans: cover.spans.map((s) => ({ from: s.from, to: s.to, days: s.days, amount: s.rule.amount })),
        ...roundingInputs(rounding),
      },
    },
  }
}

/** A one-off fee (装修费, 维修费, 特约服务费): the amount, rounded to the fee item's unit. */
export function oneOffCharge(args: { readonly amount: string; readonly rounding: MoneyRounding }): FeeLine {
  const { rounding } = args
  checkRounding(rounding)
  const value = parseDecimal('amount', args.amount, 'non-negative')
  const { amount } = roundQuotient(value, 1n, rounding)
  return {
    amount,
    explanation: {
      formula: value.eq(amount)
        ? `一次性 ${amount}`
        : `一次性 ${args.amount} → ${amount} ${roundingNote(rounding)}`,
      inputs: { amount: args.amount, ...roundingInputs(rounding) },
    },
  }
}
