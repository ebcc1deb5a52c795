/**
 * Exact decimal arithmetic on BigInt, for meter registers and money. A value is an unscaled
 * integer and a scale (value = unscaled / 10^scale), always normalised (no trailing zeros after
 * the point), so equal values are also structurally equal. No floating point anywhere: a number
 * input goes through String(n), which is the shortest text that round-trips to that double.
 */

/** half-up: away from zero at .5; down: toward zero; up: away from zero; half-even: banker's. */
export type Rounding = 'half-up' | 'down' | 'half-even' | 'up'

export type DecimalLike = Decimal | string | number | bigint

const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?$/

const powers: bigint[] = [1n]
function pow10(n: number): bigint {
  for (let i = powers.length; i <= n; i++) powers.push(powers[i - 1]! * 10n)
  return powers[n]!
}

function checkScale(scale: number): void {
  if (!Number.isSafeInteger(scale) || scale < 0) {
    throw new RangeError(`scale must be a non-negative integer, got ${String(scale)}`)
  }
}

/** n / d rounded to an integer; the sign of the result follows the exact quotient. */
function divideRounded(n: bigint, d: bigint, rounding: Rounding): bigint {
  const negative = n < 0n !== d < 0n
  const an = n < 0n ? -n : n
  const ad = d < 0n ? -d : d
  let q = an / ad
  const r = an % ad
  if (r !== 0n) {
    switch (rounding) {
      case 'down':
        break
      case 'up':
        q += 1n
        break
      case 'half-up':
        if (r * 2n >= ad) q += 1n
        break
      case 'half-even': {
        const twice = r * 2n
        if (twice > ad || (twice === ad && q % 2n === 1n)) q += 1n
        break
      }
      default:
        throw new RangeError(`unknown rounding ${JSON.stringify(rounding)}`)
    }
  }
  return negative ? -q : q
}

export class Decimal {
  static readonly ZERO: Decimal = new Decimal(0n, 0)

  // TS-private rather than #private so that structural equality (vitest toEqual) sees the value.
  private readonly unscaled: bigint
  private readonly exponent: number

  private constructor(unscaled: bigint, scale: number) {
    while (scale > 0 && unscaled % 10n === 0n) {
      unscaled /= 10n
      scale--
    }
    this.unscaled = unscaled
    this.exponent = scale
  }

  static of(value: DecimalLike): Decimal {
    if (value instanceof Decimal) return value
    if (typeof value === 'bigint') return new Decimal(value, 0)
    if (typeof value === 'number') {
      const text = String(value)
      if (!Number.isFinite(value) || text.includes('e')) {
        throw new RangeError(`not an exact decimal: ${text} (numbers must be finite and without exponent)`)
      }
      return Decimal.#parse(text, value)
    }
    if (typeof value === 'string') return Decimal.#parse(value, value)
    throw new RangeError(`not a decimal: ${String(value)}`)
  }

  static #parse(text: string, original: string | number): Decimal {
    const m = DECIMAL_TEXT.exec(text)
    if (!m) throw new RangeError(`not a decimal: ${JSON.stringify(original)}`)
    const fraction = m[3] ?? ''
    const digits = BigInt(m[2]! + fraction)
    return new Decimal(m[1] === '-' ? -digits : digits, fraction.length)
  }

  /** Digits after the point in the normalised form. */
  get scale(): number {
    return this.exponent
  }

  /** The unscaled integer of this value at a scale at least its own. */
  #at(scale: number): bigint {
    return this.unscaled * pow10(scale - this.exponent)
  }

  plus(o: DecimalLike): Decimal {
    const b = Decimal.of(o)
    const s = Math.max(this.exponent, b.exponent)
    return new Decimal(this.#at(s) + b.#at(s), s)
  }

  minus(o: DecimalLike): Decimal {
    const b = Decimal.of(o)
    const s = Math.max(this.exponent, b.exponent)
    return new Decimal(this.#at(s) - b.#at(s), s)
  }

  times(o: DecimalLike): Decimal {
    const b = Decimal.of(o)
    return new Decimal(this.unscaled * b.unscaled, this.exponent + b.exponent)
  }

  /** this / o rounded once, directly to `scale` digits (no intermediate rounding). */
  div(o: DecimalLike, scale: number, rounding: Rounding): Decimal {
    checkScale(scale)
    const b = Decimal.of(o)
    if (b.unscaled === 0n) throw new RangeError(`division by zero: ${this.toString()} / ${b.toString()}`)
    // (ua / 10^sa) / (ub / 10^sb) * 10^scale = ua * 10^(sb + scale) / (ub * 10^sa)
    const n = this.unscaled * pow10(b.exponent + scale)
    const d = b.unscaled * pow10(this.exponent)
    return new Decimal(divideRounded(n, d, rounding), scale)
  }

  round(scale: number, rounding: Rounding): Decimal {
    checkScale(scale)
    if (scale >= this.exponent) return this
    return new Decimal(divideRounded(this.unscaled, pow10(this.exponent - scale), rounding), scale)
  }

  cmp(o: DecimalLike): -1 | 0 | 1 {
    const b = Decimal.of(o)
    const s = Math.max(this.exponent, b.exponent)
    const x = this.#at(s)
    const y = b.#at(s)
    return x < y ? -1 : x > y ? 1 : 0
  }

  eq(o: DecimalLike): boolean {
    return this.cmp(o) === 0
  }
  lt(o: DecimalLike): boolean {
    return this.cmp(o) < 0
  }
  lte(o: DecimalLike): boolean {
    return this.cmp(o) <= 0
  }
  gt(o: DecimalLike): boolean {
    return this.cmp(o) > 0
  }
  gte(o: DecimalLike): boolean {
    return this.cmp(o) >= 0
  }

  isZero(): boolean {
    return this.unscaled === 0n
  }
  isNegative(): boolean {
    return this.unscaled < 0n
  }
  abs(): Decimal {
    return this.unscaled < 0n ? new Decimal(-this.unscaled, this.exponent) : this
  }
  neg(): Decimal {
    return new Decimal(-this.unscaled, this.exponent)
  }

  /** Normalised text: "1000.01", "0", "-0.5"; never an exponent or "-0". */
  toString(): string {
    return Decimal.#format(this.unscaled, this.exponent)
  }

  /** Exactly `scale` digits after the point, rounded half-up: Decimal.of('1.5').toFixed(3) === '1.500'. */
  toFixed(scale: number): string {
    const r = this.round(scale, 'half-up')
    return Decimal.#format(r.#at(scale), scale)
  }

  /** For JSON bodies: exact text, never a lossy number. */
  toJSON(): string {
    return this.toString()
  }

  /** Nearest double; for display and charts only, never for further arithmetic. */
  toNumber(): number {
    return Number(this.toString())
  }

  static #format(unscaled: bigint, scale: number): string {
    const negative = unscaled < 0n
    const digits = (negative ? -unscaled : unscaled).toString()
    const sign = negative ? '-' : ''
    if (scale === 0) return sign + digits
    const padded = digits.padStart(scale + 1, '0')
    const cut = padded.length - scale
    return `${sign}${padded.slice(0, cut)}.${padded.slice(cut)}`
  }
}
