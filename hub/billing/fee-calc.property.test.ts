// Fee calculation engine: properties over generated inputs (fast-check).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Decimal } from '../kernel/decimal.ts'
import {
  areaCharge,
  type BillPeriod,
  consumptionCharge,
  daysBetween,
  fixedCharge,
  type MoneyRounding,
  type RuleSpan,
  roundMoney,
  type StandardRule,
  shareOut,
  tieredCharge,
} from './fee-calc.ts'

/** Non-negative decimal text with up to `maxScale` places, built from integers (no floats). */
const decimalText = (maxUnscaled: bigint, maxScale: number) =>
  fc.tuple(fc.bigInt({ min: 0n, max: maxUnscaled }), fc.integer({ min: 0, max: maxScale })).map(([u, s]) => {
    if (s === 0) return u.toString()
    const digits = u.toString().padStart(s + 1, '0')
    return `${digits.slice(0, -s)}.${digits.slice(-s)}`
  })

const rounding: fc.Arbitrary<MoneyRounding> = fc.record({
  unit: fc.constantFrom('fen' as const, 'jiao' as const),
  mode: fc.constantFrom('half-up' as const, 'down' as const),
})

/** Days since 1970-01-01 → 'YYYY-MM-DD' (test helper only: Date is exact on whole days). */
const isoDay = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10)

/** A period of 1, 3 or 12 months of 28–366 days starting 2000–2099, and split points inside it. */
const periodWithCuts = fc
  .tuple(
    fc.integer({ min: 10_957, max: 47_481 }),
    fc.constantFrom(1, 3, 12),
    fc.integer({ min: 0, max: 3 }),
    fc.array(fc.integer({ min: 1, max: 365 }), { maxLength: 4 }),
  )
  .map(([start, months, extra, cuts]) => {
    const days = months === 1 ? 28 + extra : months === 3 ? 89 + extra : 365 + Math.min(extra, 1)
    const points = [...new Set(cuts.map((c) => c % days).filter((c) => c > 0))].sort((a, b) => a - b)
    const bounds = [0, ...points, days]
    const period: BillPeriod = { from: isoDay(start), to: isoDay(start + days), months }
    const pieces = bounds
      .slice(1)
      .map((end, i) => ({ from: isoDay(start + bounds[i]!), to: isoDay(start + end) }))
    return { period, pieces }
  })

const withRule = (pieces: { from: string; to: string }[], rule: StandardRule): RuleSpan[] =>
  pieces.map((p) => ({ ...p, rule }))

const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 })

describe('shareOut', () => {
  // small round weights half the time, so equal remainders (ties) are common
  const weight = fc.oneof(decimalText(100_000n, 3), fc.constantFrom('0', '1', '2', '0.5', '3'))
  const shareCase = fc.tuple(ids, rounding).chain(([partIds, r]) =>
    fc.record({
      rounding: fc.constant(r),
      // a whole number of units: fen or jiao
      total: fc.bigInt({ min: -1_000_000n, max: 10_000_000n }).map((n) =>
        Decimal.of(n)
          .times(r.unit === 'fen' ? '0.01' : '0.1')
          .toFixed(2),
      ),
      parts: fc
        .tuple(...partIds.map((id) => weight.map((w) => ({ id, weight: w }))))
        .filter((parts) => parts.some((p) => !Decimal.of(p.weight).isZero())),
    }),
  )

  it('parts sum exactly to the total and are each a multiple of the unit', () => {
    fc.assert(
      fc.property(shareCase, ({ total, parts, rounding: r }) => {
        const shares = shareOut({ total, parts, rounding: r })
        expect(shares.map((s) => s.id)).toEqual(parts.map((p) => p.id))
        const sum = shares.reduce((acc, s) => acc.plus(s.amount), Decimal.ZERO)
        expect(sum.eq(total)).toBe(true)
        for (const s of shares) {
          expect(s.amount).toMatch(/^-?\d+\.\d\d$/)
          expect(Decimal.of(s.amount).scale).toBeLessThanOrEqual(r.unit === 'fen' ? 2 : 1)
          // never more than one unit away from the exact share
          const exact = Decimal.of(total)
            .times(parts.find((p) => p.id === s.id)!.weight)
            .div(
              parts.reduce((acc, p) => acc.plus(p.weight), Decimal.ZERO),
              12,
              'half-up',
            )
          expect(
            Decimal.of(s.amount)
              .minus(exact)
              .abs()
              .lte(r.unit === 'fen' ? '0.01' : '0.1'),
          ).toBe(true)
        }
      }),
    )
  })

  it('gives the same output for the same inputs, in any order of the parts', () => {
    fc.assert(
      fc.property(
        shareCase.chain((c) =>
          fc.tuple(fc.constant(c), fc.shuffledSubarray(c.parts, { minLength: c.parts.length })),
        ),
        ([c, shuffled]) => {
          const once = shareOut(c)
          expect(shareOut(c)).toEqual(once)
          const byId = new Map(once.map((s) => [s.id, s.amount]))
          for (const s of shareOut({ ...c, parts: shuffled })) expect(s.amount).toBe(byId.get(s.id))
        },
      ),
    )
  })
})

describe('tieredCharge', () => {
  /** 1–4 bands with strictly ascending limits and an open last band. */
  const bands = fc
    .array(fc.tuple(decimalText(100_000n, 2), decimalText(20_000n, 4)), { minLength: 0, maxLength: 3 })
    .chain((limited) =>
      decimalText(20_000n, 4).map((lastPrice) => {
        let upTo = Decimal.ZERO
        const out = limited.map(([step, price]) => {
          upTo = upTo.plus(step).plus('0.01')
          return { upTo: upTo.toString(), price }
        })
        return [...out, { upTo: null, price: lastPrice }]
      }),
    )

  it('is monotonic non-decreasing in consumption, on either basis', () => {
    fc.assert(
      fc.property(
        bands,
        decimalText(10_000_000n, 3),
        decimalText(10_000_000n, 3),
        decimalText(10_000_000n, 2),
        fc.boolean(),
        rounding,
        (b, x, y, ytd, annual, r) => {
          const [lo, hi] = Decimal.of(x).lte(y) ? [x, y] : [y, x]
          const run = (consumption: string) =>
            tieredCharge({
              consumption,
              bands: b,
              basis: annual ? 'annual' : 'period',
              yearToDateBefore: annual ? ytd : '0',
              rounding: r,
            }).amount
          expect(Decimal.of(run(lo)).lte(run(hi))).toBe(true)
          expect(run(lo)).toBe(run(lo))
        },
      ),
    )
  })

  it('equals roundMoney(consumption × price) with one band', () => {
    fc.assert(
      fc.property(
        decimalText(10_000_000n, 3),
        decimalText(100_000n, 4),
        decimalText(10_000_000n, 2),
        rounding,
        (c, price, ytd, r) => {
          const expected = roundMoney(Decimal.of(c).times(price), r)
          const bandsOne = [{ upTo: null, price }]
          expect(
            tieredCharge({
              consumption: c,
              bands: bandsOne,
              basis: 'period',
              yearToDateBefore: '0',
              rounding: r,
            }).amount,
          ).toBe(expected)
          expect(
            tieredCharge({
              consumption: c,
              bands: bandsOne,
              basis: 'annual',
              yearToDateBefore: ytd,
              rounding: r,
            }).amount,
          ).toBe(expected)
        },
      ),
    )
  })

  it('annual bands: splitting a year into periods never changes the band quantities', () => {
    fc.assert(
      fc.property(bands, fc.array(decimalText(1_000_000n, 2), { minLength: 1, maxLength: 6 }), (b, uses) => {
        const whole = uses.reduce((s, u) => s.plus(u), Decimal.ZERO).toString()
        const quantities = (consumption: string, ytd: string) =>
          (
            tieredCharge({
              consumption,
              bands: b,
              basis: 'annual',
              yearToDateBefore: ytd,
              rounding: { unit: 'fen', mode: 'down' },
            }).explanation.inputs.bands as { quantity: string }[]
          ).map((q) => Decimal.of(q.quantity))
        let ytd = Decimal.ZERO
        const summed = b.map(() => Decimal.ZERO)
        for (const u of uses) {
          quantities(u, ytd.toString()).forEach((q, i) => {
            summed[i] = summed[i]!.plus(q)
          })
          ytd = ytd.plus(u)
        }
        expect(summed.map(String)).toEqual(quantities(whole, '0').map(String))
      }),
    )
  })
})

describe('proration', () => {
  it('spans with the same price covering the whole period give the unprorated charge', () => {
    fc.assert(
      fc.property(
        periodWithCuts,
        decimalText(1_000_000n, 2),
        decimalText(100_000n, 4),
        rounding,
        ({ period, pieces }, quantity, price, r) => {
          const whole = [{ from: period.from, to: period.to }]
          const area = (p: { from: string; to: string }[]) =>
            areaCharge({ areaM2: quantity, spans: withRule(p, { kind: 'area', price }), period, rounding: r })
              .amount
          expect(area(pieces)).toBe(area(whole))
          expect(area(pieces)).toBe(roundMoney(Decimal.of(quantity).times(price).times(period.months), r))

          const use = (p: { from: string; to: string }[]) =>
            consumptionCharge({
              consumption: quantity,
              spans: withRule(p, { kind: 'consumption', price }),
              period,
              rounding: r,
            }).amount
          expect(use(pieces)).toBe(roundMoney(Decimal.of(quantity).times(price), r))

          const fix = (p: { from: string; to: string }[]) =>
            fixedCharge({ spans: withRule(p, { kind: 'fixed', amount: quantity }), period, rounding: r })
              .amount
          expect(fix(pieces)).toBe(roundMoney(quantity, r))
        },
      ),
    )
  })

  it('never charges more for fewer days', () => {
    fc.assert(
      fc.property(periodWithCuts, decimalText(1_000_000n, 2), rounding, ({ period, pieces }, amount, r) => {
        const rule: StandardRule = { kind: 'fixed', amount }
        const all = fixedCharge({ spans: withRule(pieces, rule), period, rounding: r }).amount
        const part = fixedCharge({ spans: withRule(pieces.slice(-1), rule), period, rounding: r }).amount
        expect(Decimal.of(part).lte(all)).toBe(true)
      }),
    )
  })
})

describe('daysBetween', () => {
  it('agrees with the UTC calendar', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -719_162, max: 2_932_896 }),
        fc.integer({ min: -800, max: 800 }),
        (a, n) => {
          fc.pre(a + n >= -719_162 && a + n <= 2_932_896) // years 0001–9999
          expect(daysBetween(isoDay(a), isoDay(a + n))).toBe(n)
        },
      ),
    )
  })
})
