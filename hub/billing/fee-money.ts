/**
 * Money rounding to the fen or jiao, decimal input parsing that names the bad field, and the
 * wording of a rounded result in an explanation. Exact `Decimal` arithmetic only.
 */
import { Decimal } from '../kernel/decimal.ts'
import type { MoneyRounding, RoundingMode, RoundingUnit } from './fee-types.ts'

const UNIT_SCALE: Readonly<Record<RoundingUnit, number>> = { fen: 2, jiao: 1 }
const UNIT_NAME: Readonly<Record<RoundingUnit, string>> = { fen: '分', jiao: '角' }
const MODE_NAME: Readonly<Record<RoundingMode, string>> = { 'half-up': '四舍五入', down: '舍去' }

/** Throws RangeError unless `rounding` is a known unit and mode. */
export function checkRounding(rounding: MoneyRounding): void {
  if (rounding === null || typeof rounding !== 'object') {
    throw new RangeError(`rounding must be { unit, mode }, got ${String(rounding)}`)
  }
  if (!Object.hasOwn(UNIT_SCALE, rounding.unit)) {
    throw new RangeError(`rounding.unit must be 'fen' or 'jiao', got ${JSON.stringify(rounding.unit)}`)
  }
  if (!Object.hasOwn(MODE_NAME, rounding.mode)) {
    throw new RangeError(`rounding.mode must be 'half-up' or 'down', got ${JSON.stringify(rounding.mode)}`)
  }
}

/** Digits after the point of the rounding unit: fen 2, jiao 1. */
export function unitScale(unit: RoundingUnit): number {
  return UNIT_SCALE[unit]
}

/** The rounding unit in yuan: fen 0.01, jiao 0.1. */
export function unitSize(unit: RoundingUnit): Decimal {
  return Decimal.of(unit === 'fen' ? '0.01' : '0.1')
}

type Sign = 'any' | 'non-negative' | 'positive'

/** Decimal text → Decimal, or RangeError naming the field and the problem. */
export function parseDecimal(name: string, text: unknown, sign: Sign): Decimal {
  if (typeof text !== 'string') throw new RangeError(`${name} must be decimal text, got ${String(text)}`)
  let value: Decimal
  try {
    value = Decimal.of(text)
  } catch {
    throw new RangeError(`${name} is not a decimal number: ${JSON.stringify(text)}`)
  }
  if (sign !== 'any' && value.isNegative()) throw new RangeError(`${name} must not be negative, got ${text}`)
  if (sign === 'positive' && value.isZero())
    throw new RangeError(`${name} must be greater than zero, got ${text}`)
  return value
}

/** Round to 0.01 or 0.10 yuan, half-up (away from zero at .5) or down (toward zero); always 2 places. */
export function roundMoney(value: Decimal | string, rounding: MoneyRounding): string {
  checkRounding(rounding)
  const v = value instanceof Decimal ? value : parseDecimal('value', value, 'any')
  // Already at scale ≤ 2 after the round, so toFixed only pads: "12.3" → "12.30".
  return v.round(UNIT_SCALE[rounding.unit], rounding.mode).toFixed(2)
}

/** numerator / denominator rounded once, straight to the money unit (no intermediate rounding). */
export function roundQuotient(
  numerator: Decimal,
  denominator: bigint,
  rounding: MoneyRounding,
): { readonly amount: string; readonly exact: boolean } {
  const rounded = numerator.div(denominator, UNIT_SCALE[rounding.unit], rounding.mode)
  return { amount: rounded.toFixed(2), exact: rounded.times(denominator).eq(numerator) }
}

/** "(四舍五入到分)", "(舍去到角)" */
export function roundingNote(rounding: MoneyRounding): string {
  return `(${MODE_NAME[rounding.mode]}到${UNIT_NAME[rounding.unit]})`
}

/**
 * The tail of a formula: "= 250.60" when nothing was rounded away; "= 83.745 → 83.75 (四舍五入到分)"
 * when the unrounded value is known; "≈ 241.94 (四舍五入到分)" for a quotient that was rounded.
 */
export function resultText(amount: string, rounding: MoneyRounding, exact: boolean | Decimal): string {
  if (exact === true || (exact instanceof Decimal && exact.eq(amount))) return `= ${amount}`
  if (exact instanceof Decimal) return `= ${exact.toString()} → ${amount} ${roundingNote(rounding)}`
  return `≈ ${amount} ${roundingNote(rounding)}`
}

/** The rounding rule as explanation inputs. */
export function roundingInputs(rounding: MoneyRounding): {
  rounding: RoundingUnit
  roundingMode: RoundingMode
} {
  return { rounding: rounding.unit, roundingMode: rounding.mode }
}
