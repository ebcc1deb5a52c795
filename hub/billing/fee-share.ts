/**
 * 公摊: split an amount over units by weight (area or their own consumption) with the largest-
 * remainder method, so the rounded parts add up exactly to the total.
 */
import { Decimal } from '../kernel/decimal.ts'
import {
  checkRounding,
  parseDecimal,
  resultText,
  roundingInputs,
  roundMoney,
  unitScale,
  unitSize,
} from './fee-money.ts'
import type { Explanation, MoneyRounding } from './fee-types.ts'

export interface SharePart {
  readonly id: string
  readonly weight: string
}

export interface Share {
  readonly id: string
  readonly amount: string
  readonly explanation: Explanation
}

/** value × 10^scale, for a value with at most `scale` digits after the point. */
function toInteger(value: Decimal, scale: number): bigint {
  return BigInt(value.times(10n ** BigInt(scale)).toString())
}

/** Code-unit order, the same on every machine and locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Split `total` (already a whole number of rounding units) over `parts` by weight. Each part gets
 * floor(total × weight / Σweight) in rounding units; the units left over go one each to the parts
 * with the largest remainders, ties to the smaller id. The parts sum exactly to the total and come
 * back in the order given. A negative total (a credit) is split like its absolute value.
 */
export function shareOut(args: {
  readonly total: string
  readonly parts: readonly SharePart[]
  readonly rounding: MoneyRounding
}): Share[] {
  const { rounding, parts } = args
  checkRounding(rounding)
  const total = parseDecimal('total', args.total, 'any')
  const unit = unitSize(rounding.unit)
  if (total.scale > unitScale(rounding.unit)) {
    throw new RangeError(
      `total ${args.total} is not a whole number of ${rounding.unit}; round it (roundMoney) before sharing it out`,
    )
  }
  if (!Array.isArray(parts)) throw new RangeError('parts must be an array of { id, weight }')
  const seen = new Set<string>()
  const weights = parts.map((part, i) => {
    if (typeof part?.id !== 'string') throw new RangeError(`parts[${i}].id must be a string`)
    if (seen.has(part.id)) throw new RangeError(`parts[${i}].id ${JSON.stringify(part.id)} is not unique`)
    seen.add(part.id)
    return parseDecimal(`parts[${i}] (${part.id}) weight`, part.weight, 'non-negative')
  })
  const totalWeight = weights.reduce((sum, w) => sum.plus(w), Decimal.ZERO)
  if (totalWeight.isZero()) {
    throw new RangeError(
      `cannot share ${args.total} out: the total weight of the ${parts.length} part(s) is zero (no area or consumption to share by)`,
    )
  }
  // Integers: units of money to share, and weights at one common scale.
  const negative = total.isNegative()
  const units = toInteger(total.abs(), unitScale(rounding.unit))
  const wScale = Math.max(...weights.map((x) => x.scale))
  const w = weights.map((x) => toInteger(x, wScale))
  const W = w.reduce((a, b) => a + b, 0n)
  const floors = w.map((wi) => (units * wi) / W)
  const remainders = w.map((wi) => (units * wi) % W)
  const leftover = units - floors.reduce((a, b) => a + b, 0n)
  const order = parts
    .map((_, i) => i)
    .sort((a, b) => {
      const ra = remainders[a]!
      const rb = remainders[b]!
      return ra > rb ? -1 : ra < rb ? 1 : compareIds(parts[a]!.id, parts[b]!.id)
    })
  const extra = new Set(order.slice(0, Number(leftover)))
  const sign = negative ? -1n : 1n
  const totalText = total.toFixed(2)
  return parts.map((part, i) => {
    const gets = extra.has(i)
    const base = unit.times(floors[i]! * sign)
    const amount = unit.times((floors[i]! + (gets ? 1n : 0n)) * sign).toFixed(2)
    const exact = remainders[i] === 0n
    const share = `${totalText} × ${part.weight}/${totalWeight.toString()}`
    const formula = gets
      ? `${share} ≈ ${base.toFixed(2)} + ${unit.times(sign).toFixed(2)} (最大余数法分尾差) = ${amount}`
      : `${share} ${resultText(amount, { unit: rounding.unit, mode: 'down' }, exact)}`
    return {
      id: part.id,
      amount,
      explanation: {
        formula,
        inputs: {
          total: totalText,
          weight: part.weight,
          totalWeight: totalWeight.toString(),
          parts: parts.length,
          base: base.toFixed(2),
          adjustment: gets ? unit.times(sign).toFixed(2) : '0.00',
          method: 'largest-remainder',
          rounding: rounding.unit,
        },
      },
    }
  })
}

/** 公摊 of a shared quantity (common-area use, loss): total = roundMoney(quantity × price), then shareOut. */
export function sharedCharge(args: {
  readonly quantity: string
  readonly price: string
  readonly parts: readonly SharePart[]
  readonly rounding: MoneyRounding
}): Share[] {
  const { rounding } = args
  checkRounding(rounding)
  const quantity = parseDecimal('quantity', args.quantity, 'non-negative')
  const price = parseDecimal('price', args.price, 'non-negative')
  const exact = quantity.times(price)
  const total = roundMoney(exact, rounding)
  const head = `公摊 ${args.quantity} × ${args.price} ${resultText(total, rounding, exact)}; `
  return shareOut({ total, parts: args.parts, rounding }).map((share) => ({
    ...share,
    explanation: {
      formula: head + share.explanation.formula,
      inputs: {
        quantity: args.quantity,
        price: args.price,
        roundingMode: roundingInputs(rounding).roundingMode,
        ...share.explanation.inputs,
      },
    },
  }))
}
