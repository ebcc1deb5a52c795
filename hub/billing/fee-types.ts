/**
 * The vocabulary of the fee calculation engine (收费标准 → 应收金额). Amounts, prices, areas and
 * quantities are decimal text, computed with `Decimal` only; dates are 'YYYY-MM-DD' (UTC calendar).
 */

import type { RoundingMode, RoundingUnit, ShareBasis, TierBasis } from './billing-vocabulary.ts'

export type { RoundingMode, RoundingUnit } from './billing-vocabulary.ts'

export interface MoneyRounding {
  readonly unit: RoundingUnit
  readonly mode: RoundingMode
}

/**
 * A price band of a tiered (阶梯) standard. upTo: cumulative upper limit of the band in consumption
 * units; null = the open-ended last band. Bands are sorted ascending.
 */
export interface Band {
  readonly upTo: string | null
  readonly price: string
}

export type StandardRule =
  /** yuan per m² per month */
  | { readonly kind: 'area'; readonly price: string }
  /** yuan per consumption unit (kWh, m³) */
  | { readonly kind: 'consumption'; readonly price: string }
  /** 阶梯: band limits per billing period, or cumulative over the calendar year */
  | { readonly kind: 'tiered'; readonly bands: readonly Band[]; readonly basis: TierBasis }
  /** yuan per billing period */
  | { readonly kind: 'fixed'; readonly amount: string }
  /** 公摊: price per unit of the shared quantity, split over the set */
  | { readonly kind: 'shared'; readonly price: string; readonly basis: ShareBasis }
  | { readonly kind: 'one_off'; readonly amount: string }

/** One standard valid over part of the period: [from, to) as 'YYYY-MM-DD' dates. */
export interface RuleSpan {
  readonly from: string
  readonly to: string
  readonly rule: StandardRule
}

/** [from, to) dates; months = 1 (monthly), 3 (quarterly), 12 (yearly). */
export interface BillPeriod {
  readonly from: string
  readonly to: string
  readonly months: number
}

export interface Explanation {
  /** for people, e.g. "89.50 m² × 2.80 /m²/月 × 1 月 × 31/31 天 = 250.60" */
  readonly formula: string
  /** for machines: the inputs the amount was computed from */
  readonly inputs: Record<string, string | number | null | readonly unknown[]>
}

export interface FeeLine {
  /** exactly 2 places: "1234.50", "1234.00" */
  readonly amount: string
  readonly explanation: Explanation
}
