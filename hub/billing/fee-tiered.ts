/**
 * 阶梯 (tiered) consumption charges: the period's consumption fills the price bands, from zero
 * (band limits per billing period) or from the year-to-date use (limits over the calendar year).
 */
import { Decimal } from '../kernel/decimal.ts'
import { checkRounding, parseDecimal, resultText, roundingInputs, roundMoney } from './fee-money.ts'
import type { Band, FeeLine, MoneyRounding } from './fee-types.ts'

interface ParsedBand {
  readonly from: Decimal
  /** undefined: open-ended */
  readonly upTo: Decimal | undefined
  readonly price: Decimal
  readonly priceText: string
}

/**
 * Bands sorted strictly ascending by upTo, the first limit above zero, only the last open-ended
 * (upTo null), prices not negative. RangeError naming the band otherwise.
 */
export function checkBands(bands: readonly Band[]): ParsedBand[] {
  if (!Array.isArray(bands) || bands.length === 0)
    throw new RangeError('a tiered standard needs at least one band')
  const parsed: ParsedBand[] = []
  let from = Decimal.ZERO
  bands.forEach((band, i) => {
    const price = parseDecimal(`bands[${i}].price`, band.price, 'non-negative')
    const last = i === bands.length - 1
    if (band.upTo === null) {
      if (!last) throw new RangeError(`bands[${i}] is open-ended (upTo null) but is not the last band`)
      parsed.push({ from, upTo: undefined, price, priceText: band.price })
      return
    }
    if (last) {
      throw new RangeError(
        `the last band (bands[${i}], upTo ${band.upTo}) must be open-ended (upTo null) so every unit has a price`,
      )
    }
    const upTo = parseDecimal(`bands[${i}].upTo`, band.upTo, 'positive')
    if (upTo.lte(from)) {
      throw new RangeError(
        `bands must be sorted ascending: bands[${i}].upTo ${band.upTo} is not above the previous limit ${from.toString()}`,
      )
    }
    parsed.push({ from, upTo, price, priceText: band.price })
    from = upTo
  })
  return parsed
}

function max(a: Decimal, b: Decimal): Decimal {
  return a.gte(b) ? a : b
}
function min(a: Decimal, b: Decimal): Decimal {
  return a.lte(b) ? a : b
}

/**
 * Tiered charge. basis 'period': the consumption fills the bands from 0. basis 'annual': it fills
 * them from `yearToDateBefore` (the use already billed this calendar year), so a unit crosses into
 * the dearer band in the month its year-to-date use does. Σ band quantity × band price, rounded once.
 */
export function tieredCharge(args: {
  readonly consumption: string
  readonly bands: readonly Band[]
  readonly basis: 'period' | 'annual'
  /** consumption already billed this calendar year before this period; '0' for basis period */
  readonly yearToDateBefore: string
  readonly rounding: MoneyRounding
}): FeeLine {
  const { rounding, basis } = args
  checkRounding(rounding)
  const consumption = parseDecimal('consumption', args.consumption, 'non-negative')
  const bands = checkBands(args.bands)
  if (basis !== 'period' && basis !== 'annual') {
    throw new RangeError(`basis must be 'period' or 'annual', got ${JSON.stringify(basis)}`)
  }
  const ytd = parseDecimal('yearToDateBefore', args.yearToDateBefore, 'non-negative')
  if (basis === 'period' && !ytd.isZero()) {
    throw new RangeError(
      `yearToDateBefore must be '0' for bands per period (got ${args.yearToDateBefore}); only annual bands count the year`,
    )
  }
  const start = ytd
  const end = start.plus(consumption)
  let total = Decimal.ZERO
  const terms: string[] = []
  const bandInputs = bands.map((band, i) => {
    const lower = max(band.from, start)
    const upper = band.upTo === undefined ? end : min(band.upTo, end)
    const quantity = upper.gt(lower) ? upper.minus(lower) : Decimal.ZERO
    const amount = quantity.times(band.price)
    total = total.plus(amount)
    const range = `${band.from.toString()}–${band.upTo === undefined ? '' : band.upTo.toString()}`
    if (!quantity.isZero()) terms.push(`${quantity.toString()} × ${band.priceText} (第${i + 1}档 ${range})`)
    return {
      band: i + 1,
      from: band.from.toString(),
      upTo: band.upTo === undefined ? null : band.upTo.toString(),
      price: band.priceText,
      quantity: quantity.toString(),
      amount: amount.toString(),
    }
  })
  if (terms.length === 0) terms.push(`0 × ${bands[0]!.priceText} (第1档)`)
  const amount = roundMoney(total, rounding)
  const prefix =
    basis === 'annual'
      ? `年阶梯 (本年已用 ${ytd.toString()} + 本期 ${consumption.toString()} = ${end.toString()}): `
      : `阶梯 (本期 ${consumption.toString()}): `
  return {
    amount,
    explanation: {
      formula: `${prefix}${terms.join(' + ')} ${resultText(amount, rounding, total)}`,
      inputs: {
        consumption: args.consumption,
        basis,
        yearToDateBefore: args.yearToDateBefore,
        bands: bandInputs,
        ...roundingInputs(rounding),
      },
    },
  }
}
