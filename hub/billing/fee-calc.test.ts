// Fee calculation engine: every expectation worked by hand, the arithmetic in the comment beside it.
import { describe, expect, it } from 'vitest'
import { Decimal } from '../kernel/decimal.ts'
import {
  areaCharge,
  type BillPeriod,
  consumptionCharge,
  daysBetween,
  fixedCharge,
  type MoneyRounding,
  oneOffCharge,
  type RuleSpan,
  roundMoney,
  sharedCharge,
  shareOut,
  tieredCharge,
} from './fee-calc.ts'

const FEN: MoneyRounding = { unit: 'fen', mode: 'half-up' }
const FEN_DOWN: MoneyRounding = { unit: 'fen', mode: 'down' }
const JIAO: MoneyRounding = { unit: 'jiao', mode: 'half-up' }
const JIAO_DOWN: MoneyRounding = { unit: 'jiao', mode: 'down' }

const MARCH: BillPeriod = { from: '2025-03-01', to: '2025-04-01', months: 1 } // 31 days
const Q1: BillPeriod = { from: '2025-01-01', to: '2025-04-01', months: 3 } // 31 + 28 + 31 = 90 days

const area = (price: string, from = MARCH.from, to = MARCH.to): RuleSpan => ({
  from,
  to,
  rule: { kind: 'area', price },
})
const perUnit = (price: string, from = MARCH.from, to = MARCH.to): RuleSpan => ({
  from,
  to,
  rule: { kind: 'consumption', price },
})
const fixed = (amount: string, from = MARCH.from, to = MARCH.to): RuleSpan => ({
  from,
  to,
  rule: { kind: 'fixed', amount },
})

// 居民阶梯电价 per month: 0–180 kWh @0.5283, 180–280 @0.5783, above 280 @0.8283
const MONTHLY_BANDS = [
  { upTo: '180', price: '0.5283' },
  { upTo: '280', price: '0.5783' },
  { upTo: null, price: '0.8283' },
]
// the same prices with annual limits: 0–2160 / 2160–4200 / above 4200 kWh
const ANNUAL_BANDS = [
  { upTo: '2160', price: '0.5283' },
  { upTo: '4200', price: '0.5783' },
  { upTo: null, price: '0.8283' },
]

describe('roundMoney', () => {
  it('rounds 12.345 to the fen and the jiao, half-up and down', () => {
    expect(roundMoney('12.345', FEN)).toBe('12.35') // .005 is half: away from zero
    expect(roundMoney('12.345', FEN_DOWN)).toBe('12.34') // cut after the fen
    expect(roundMoney('12.345', JIAO)).toBe('12.30') // .045 < .05: down to 12.3
    expect(roundMoney('12.345', JIAO_DOWN)).toBe('12.30') // cut after the jiao
    expect(roundMoney('12.35', JIAO)).toBe('12.40') // .05 is half: up to 12.4
    expect(roundMoney('12.35', JIAO_DOWN)).toBe('12.30')
  })

  it('always gives two places, takes a Decimal, and rounds negatives away from / toward zero', () => {
    expect(roundMoney('1234.5', FEN)).toBe('1234.50')
    expect(roundMoney('1234', JIAO)).toBe('1234.00')
    expect(roundMoney(Decimal.of('0.994'), FEN)).toBe('0.99')
    expect(roundMoney(Decimal.of('0.995'), FEN)).toBe('1.00')
    expect(roundMoney('-12.345', FEN)).toBe('-12.35') // away from zero at .5
    expect(roundMoney('-12.345', FEN_DOWN)).toBe('-12.34') // toward zero
    expect(roundMoney('-0.004', FEN)).toBe('0.00') // never "-0.00"
  })

  it('refuses what is not decimal text or not a known rule', () => {
    expect(() => roundMoney('12,34', FEN)).toThrow(/value is not a decimal/)
    expect(() => roundMoney('1', { unit: 'yuan', mode: 'down' } as unknown as MoneyRounding)).toThrow(
      /rounding.unit/,
    )
    expect(() => roundMoney('1', { unit: 'fen', mode: 'half-even' } as unknown as MoneyRounding)).toThrow(
      /rounding.mode/,
    )
  })
})

describe('daysBetween', () => {
  it('counts calendar days, across leap days and years', () => {
    expect(daysBetween('2025-03-01', '2025-04-01')).toBe(31)
    expect(daysBetween('2025-02-01', '2025-03-01')).toBe(28)
    expect(daysBetween('2024-02-01', '2024-03-01')).toBe(29) // 2024 is a leap year
    expect(daysBetween('2000-02-01', '2000-03-01')).toBe(29) // divisible by 400: leap
    expect(daysBetween('2100-02-01', '2100-03-01')).toBe(28) // divisible by 100 only: not leap
    expect(daysBetween('2025-01-01', '2026-01-01')).toBe(365)
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366)
    expect(daysBetween('1970-01-01', '1970-01-01')).toBe(0)
    expect(daysBetween('2025-04-01', '2025-03-01')).toBe(-31)
  })

  it('refuses text that is not a calendar date', () => {
    expect(() => daysBetween('2025-02-29', '2025-03-01')).toThrow(/from is not a calendar date/)
    expect(() => daysBetween('2025-03-01', '2025-13-01')).toThrow(/to is not a calendar date/)
    expect(() => daysBetween('2025-3-1', '2025-04-01')).toThrow(/'YYYY-MM-DD'/)
  })
})

describe('areaCharge (物业费)', () => {
  it('is area × price × months over a whole month', () => {
    const line = areaCharge({ areaM2: '89.50', spans: [area('2.80')], period: MARCH, rounding: FEN })
    expect(line.amount).toBe('250.60') // 89.50 × 2.80 = 250.60
    expect(line.explanation.formula).toBe('89.50 m² × 2.80 /m²/月 × 1 月 × 31/31 天 = 250.60')
    expect(line.explanation.inputs).toEqual({
      areaM2: '89.50',
      periodFrom: '2025-03-01',
      periodTo: '2025-04-01',
      periodDays: 31,
      months: 1,
      uncoveredDays: 0,
      spans: [{ from: '2025-03-01', to: '2025-04-01', days: 31, price: '2.80' }],
      rounding: 'fen',
      roundingMode: 'half-up',
    })
  })

  it('prorates a mid-period price change by days, rounding once at the end', () => {
    const spans = [area('2.80', '2025-03-11', '2025-04-01'), area('2.50', '2025-03-01', '2025-03-11')]
    // 89.50 × 2.50 × 1 × 10 = 2237.5; 89.50 × 2.80 × 1 × 21 = 5262.6; (2237.5 + 5262.6) / 31 = 241.93871…
    expect(areaCharge({ areaM2: '89.50', spans, period: MARCH, rounding: FEN }).amount).toBe('241.94')
    expect(areaCharge({ areaM2: '89.50', spans, period: MARCH, rounding: FEN_DOWN }).amount).toBe('241.93')
    expect(areaCharge({ areaM2: '89.50', spans, period: MARCH, rounding: JIAO }).amount).toBe('241.90')
    const line = areaCharge({ areaM2: '89.50', spans, period: MARCH, rounding: FEN })
    // chronological, whatever order the spans came in
    expect(line.explanation.formula).toBe(
      '89.50 m² × 2.50 /m²/月 × 1 月 × 10/31 天 + 89.50 m² × 2.80 /m²/月 × 1 月 × 21/31 天 ≈ 241.94 (四舍五入到分)',
    )
  })

  it('charges only the days of a standard that starts mid-period', () => {
    const line = areaCharge({
      areaM2: '89.50',
      spans: [area('2.80', '2025-03-11')],
      period: MARCH,
      rounding: FEN,
    })
    // 89.50 × 2.80 × 21 / 31 = 5262.6 / 31 = 169.76129…
    expect(line.amount).toBe('169.76')
    expect(line.explanation.inputs.uncoveredDays).toBe(10)
  })

  it('multiplies by the months of a quarterly period and prorates by the quarter’s days', () => {
    // 100 × 2.00 × 3 = 600.00
    expect(
      areaCharge({ areaM2: '100', spans: [area('2.00', Q1.from, Q1.to)], period: Q1, rounding: FEN }).amount,
    ).toBe('600.00')
    // moved in 1 February: 600 × 59/90 (28 + 31 days) = 393.333…
    const spans = [area('2.00', '2025-02-01', Q1.to)]
    expect(areaCharge({ areaM2: '100', spans, period: Q1, rounding: FEN }).amount).toBe('393.33')
    expect(areaCharge({ areaM2: '100', spans, period: Q1, rounding: JIAO }).amount).toBe('393.30')
  })

  it('refuses a negative area, spans outside or overlapping the period, and the wrong kind of standard', () => {
    const base = { areaM2: '89.50', period: MARCH, rounding: FEN }
    expect(() => areaCharge({ ...base, areaM2: '-1', spans: [area('2.80')] })).toThrow(
      /areaM2 must not be negative/,
    )
    expect(() => areaCharge({ ...base, spans: [area('2.80', '2025-02-28')] })).toThrow(
      /spans\[0\] 2025-02-28..2025-04-01 is outside the period/,
    )
    expect(() => areaCharge({ ...base, spans: [area('2.80', '2025-03-01', '2025-04-02')] })).toThrow(
      /outside the period/,
    )
    expect(() =>
      areaCharge({ ...base, spans: [area('2.50', '2025-03-01', '2025-03-12'), area('2.80', '2025-03-11')] }),
    ).toThrow(/spans\[0\] 2025-03-01..2025-03-12 and spans\[1\] 2025-03-11..2025-04-01 overlap/)
    expect(() => areaCharge({ ...base, spans: [area('2.80', '2025-03-11', '2025-03-11')] })).toThrow(
      /empty or reversed/,
    )
    expect(() => areaCharge({ ...base, spans: [fixed('30')] })).toThrow(/'fixed' standard, expected 'area'/)
    expect(() => areaCharge({ ...base, spans: [] })).toThrow(/at least one span/)
    expect(() => areaCharge({ ...base, spans: [area('-2.80')] })).toThrow(
      /spans\[0\].rule.price must not be negative/,
    )
    expect(() =>
      areaCharge({
        ...base,
        spans: [area('2.80')],
        period: { from: '2025-04-01', to: '2025-03-01', months: 1 },
      }),
    ).toThrow(/period.to .* must be after period.from/)
    expect(() => areaCharge({ ...base, spans: [area('2.80')], period: { ...MARCH, months: 0 } })).toThrow(
      /period.months/,
    )
  })
})

describe('consumptionCharge', () => {
  it('is consumption × price', () => {
    const line = consumptionCharge({
      consumption: '123.4',
      spans: [perUnit('3.45')],
      period: MARCH,
      rounding: FEN,
    })
    expect(line.amount).toBe('425.73') // 123.4 × 3.45 = 425.73
    expect(line.explanation.formula).toBe('123.4 × 3.45 × 31/31 天 = 425.73')
  })

  it('splits the consumption across a price change by days, exactly, before pricing it', () => {
    const spans = [perUnit('0.50', '2025-03-01', '2025-03-11'), perUnit('0.55', '2025-03-11')]
    // 300 × 10/31 × 0.50 + 300 × 21/31 × 0.55 = (1500 + 3465) / 31 = 160.16129…
    expect(consumptionCharge({ consumption: '300', spans, period: MARCH, rounding: FEN }).amount).toBe(
      '160.16',
    )
    expect(consumptionCharge({ consumption: '300', spans, period: MARCH, rounding: JIAO }).amount).toBe(
      '160.20',
    )
  })

  it('refuses negative consumption', () => {
    expect(() =>
      consumptionCharge({ consumption: '-5', spans: [perUnit('3.45')], period: MARCH, rounding: FEN }),
    ).toThrow(/consumption must not be negative/)
  })
})

describe('tieredCharge (阶梯)', () => {
  const tiered = (consumption: string, rounding = FEN) =>
    tieredCharge({ consumption, bands: MONTHLY_BANDS, basis: 'period', yearToDateBefore: '0', rounding })

  it('fills the monthly bands from zero, crossing two limits in one period', () => {
    const line = tiered('300')
    // 180 × 0.5283 = 95.094; 100 × 0.5783 = 57.83; 20 × 0.8283 = 16.566; Σ = 169.49
    expect(line.amount).toBe('169.49')
    expect(line.explanation.formula).toBe(
      '阶梯 (本期 300): 180 × 0.5283 (第1档 0–180) + 100 × 0.5783 (第2档 180–280) + 20 × 0.8283 (第3档 280–) = 169.49',
    )
    expect(line.explanation.inputs.bands).toEqual([
      { band: 1, from: '0', upTo: '180', price: '0.5283', quantity: '180', amount: '95.094' },
      { band: 2, from: '180', upTo: '280', price: '0.5783', quantity: '100', amount: '57.83' },
      { band: 3, from: '280', upTo: null, price: '0.8283', quantity: '20', amount: '16.566' },
    ])
  })

  it('stays in the first band below its limit, and rounds the sum once', () => {
    expect(tiered('150').amount).toBe('79.25') // 150 × 0.5283 = 79.245 → 79.25
    expect(tiered('150', FEN_DOWN).amount).toBe('79.24')
    expect(tiered('150').explanation.formula).toBe(
      '阶梯 (本期 150): 150 × 0.5283 (第1档 0–180) = 79.245 → 79.25 (四舍五入到分)',
    )
    expect(tiered('180').amount).toBe('95.09') // exactly the limit: 180 × 0.5283 = 95.094
    expect(tiered('0').amount).toBe('0.00')
  })

  it('fills annual bands from the year-to-date use: crossing 2160 kWh in this month', () => {
    const line = tieredCharge({
      consumption: '150',
      bands: ANNUAL_BANDS,
      basis: 'annual',
      yearToDateBefore: '2100',
      rounding: FEN,
    })
    // 2100 → 2250: 60 in band 1 (to 2160), 90 in band 2; 60 × 0.5283 = 31.698; 90 × 0.5783 = 52.047
    // Σ = 83.745 → 83.75
    expect(line.amount).toBe('83.75')
    expect(line.explanation.formula).toBe(
      '年阶梯 (本年已用 2100 + 本期 150 = 2250): 60 × 0.5283 (第1档 0–2160) + 90 × 0.5783 (第2档 2160–4200) = 83.745 → 83.75 (四舍五入到分)',
    )
    const bands = line.explanation.inputs.bands as { quantity: string }[]
    expect(bands.map((b) => b.quantity)).toEqual(['60', '90', '0'])
  })

  it('prices a whole month at the dearer band once the year is past the limit', () => {
    const annual = (consumption: string, ytd: string) =>
      tieredCharge({
        consumption,
        bands: ANNUAL_BANDS,
        basis: 'annual',
        yearToDateBefore: ytd,
        rounding: FEN,
      })
    expect(annual('150', '2200').amount).toBe('86.75') // 150 × 0.5783 = 86.745 → 86.75
    // 4100 → 4300: 100 × 0.5783 + 100 × 0.8283 = 57.83 + 82.83 = 140.66
    expect(annual('200', '4100').amount).toBe('140.66')
    // the same 150 kWh in January: 150 × 0.5283 = 79.245 → 79.25
    expect(annual('150', '0').amount).toBe('79.25')
  })

  it('refuses bands that are unsorted, not open-ended at the end, or open-ended in the middle', () => {
    const run = (bands: { upTo: string | null; price: string }[]) =>
      tieredCharge({ consumption: '1', bands, basis: 'period', yearToDateBefore: '0', rounding: FEN })
    expect(() =>
      run([
        { upTo: '280', price: '0.5' },
        { upTo: '180', price: '0.6' },
        { upTo: null, price: '0.8' },
      ]),
    ).toThrow(/sorted ascending: bands\[1\].upTo 180 is not above the previous limit 280/)
    expect(() =>
      run([
        { upTo: '180', price: '0.5' },
        { upTo: '280', price: '0.6' },
      ]),
    ).toThrow(/last band .* must be open-ended/)
    expect(() =>
      run([
        { upTo: null, price: '0.5' },
        { upTo: null, price: '0.6' },
      ]),
    ).toThrow(/bands\[0\] is open-ended .* not the last band/)
    expect(() => run([])).toThrow(/at least one band/)
    expect(() => run([{ upTo: null, price: '-0.5' }])).toThrow(/bands\[0\].price must not be negative/)
    expect(() =>
      tieredCharge({
        consumption: '1',
        bands: MONTHLY_BANDS,
        basis: 'period',
        yearToDateBefore: '2100',
        rounding: FEN,
      }),
    ).toThrow(/yearToDateBefore must be '0' for bands per period/)
  })
})

describe('fixedCharge', () => {
  it('is the amount per period, prorated by the days covered', () => {
    expect(fixedCharge({ spans: [fixed('30.00')], period: MARCH, rounding: FEN }).amount).toBe('30.00')
    // moved in 11 March: 30 × 21/31 = 630/31 = 20.32258…
    const line = fixedCharge({ spans: [fixed('30.00', '2025-03-11')], period: MARCH, rounding: FEN })
    expect(line.amount).toBe('20.32')
    expect(line.explanation.formula).toBe('30.00 /期 × 21/31 天 ≈ 20.32 (四舍五入到分)')
  })

  it('prorates a change of amount inside the period', () => {
    const feb: BillPeriod = { from: '2025-02-01', to: '2025-03-01', months: 1 } // 28 days
    const spans = [fixed('20.00', '2025-02-01', '2025-02-15'), fixed('25.00', '2025-02-15', '2025-03-01')]
    // (20 × 14 + 25 × 14) / 28 = 630 / 28 = 22.5
    expect(fixedCharge({ spans, period: feb, rounding: FEN }).amount).toBe('22.50')
  })
})

describe('oneOffCharge', () => {
  it('is the amount rounded to the unit', () => {
    expect(oneOffCharge({ amount: '200', rounding: FEN })).toEqual({
      amount: '200.00',
      explanation: {
        formula: '一次性 200.00',
        inputs: { amount: '200', rounding: 'fen', roundingMode: 'half-up' },
      },
    })
    expect(oneOffCharge({ amount: '88.88', rounding: JIAO }).amount).toBe('88.90') // .08 ≥ .05 → up
    expect(oneOffCharge({ amount: '88.88', rounding: JIAO_DOWN }).explanation.formula).toBe(
      '一次性 88.88 → 88.80 (舍去到角)',
    )
    expect(() => oneOffCharge({ amount: '-1', rounding: FEN })).toThrow(/amount must not be negative/)
  })
})

describe('shareOut and sharedCharge (公摊)', () => {
  const sum = (shares: { amount: string }[]) =>
    shares.reduce((s, x) => s.plus(x.amount), Decimal.ZERO).toFixed(2)

  it('splits by area with the largest remainder, summing exactly to the total', () => {
    const shares = shareOut({
      total: '100.00',
      parts: [
        { id: '1-101', weight: '89.50' },
        { id: '1-102', weight: '120.00' },
        { id: '1-103', weight: '95.25' },
      ],
      rounding: FEN,
    })
    // Σ area = 304.75; 10000 fen × 89.50/304.75 = 2936.83…, × 120/304.75 = 3937.65…, × 95.25/304.75 = 3125.51…
    // floors 2936 + 3937 + 3125 = 9998: 2 fen left go to the largest remainders .83 and .65
    expect(shares.map((s) => s.amount)).toEqual(['29.37', '39.38', '31.25'])
    expect(sum(shares)).toBe('100.00')
    expect(shares[0]!.explanation.formula).toBe(
      '100.00 × 89.50/304.75 ≈ 29.36 + 0.01 (最大余数法分尾差) = 29.37',
    )
    expect(shares[2]!.explanation.formula).toBe('100.00 × 95.25/304.75 ≈ 31.25 (舍去到分)')
    expect(shares[0]!.explanation.inputs).toMatchObject({
      base: '29.36',
      adjustment: '0.01',
      totalWeight: '304.75',
    })
  })

  it('breaks ties by id, whatever the order of the parts', () => {
    const shares = shareOut({
      total: '100.00',
      parts: [
        { id: 'C', weight: '1' },
        { id: 'A', weight: '1' },
        { id: 'B', weight: '1' },
      ],
      rounding: FEN,
    })
    // 10000 / 3 = 3333 r 1 each: the 1 fen left goes to the smallest id, A
    expect(shares).toMatchObject([
      { id: 'C', amount: '33.33' },
      { id: 'A', amount: '33.34' },
      { id: 'B', amount: '33.33' },
    ])
  })

  it('shares to the jiao', () => {
    const shares = shareOut({
      total: '10.00',
      parts: [
        { id: 'a', weight: '1' },
        { id: 'b', weight: '1' },
        { id: 'c', weight: '1' },
      ],
      rounding: JIAO,
    })
    // 100 jiao / 3 = 33 r 1: a gets 34 jiao
    expect(shares.map((s) => s.amount)).toEqual(['3.40', '3.30', '3.30'])
    expect(() => shareOut({ total: '10.05', parts: [{ id: 'a', weight: '1' }], rounding: JIAO })).toThrow(
      /not a whole number of jiao/,
    )
  })

  it('shares a loss quantity by the units’ own consumption', () => {
    const shares = sharedCharge({
      quantity: '123.4',
      price: '0.6',
      parts: [
        { id: 'A', weight: '150' },
        { id: 'B', weight: '230.5' },
        { id: 'C', weight: '99.7' },
      ],
      rounding: FEN,
    })
    // 123.4 kWh × 0.6 = 74.04 = 7404 fen; Σ weight = 480.2
    // 7404 × 150/480.2 = 2312.79, × 230.5/480.2 = 3553.98, × 99.7/480.2 = 1537.23
    // floors 2312 + 3553 + 1537 = 7402: 2 fen to B (.98) and A (.79)
    expect(shares.map((s) => s.amount)).toEqual(['23.13', '35.54', '15.37'])
    expect(sum(shares)).toBe('74.04')
    expect(shares[1]!.explanation.formula).toBe(
      '公摊 123.4 × 0.6 = 74.04; 74.04 × 230.5/480.2 ≈ 35.53 + 0.01 (最大余数法分尾差) = 35.54',
    )
    expect(shares[1]!.explanation.inputs).toMatchObject({ quantity: '123.4', price: '0.6', total: '74.04' })
  })

  it('rounds the shared total before splitting it', () => {
    const shares = sharedCharge({
      quantity: '10',
      price: '0.3333',
      parts: [
        { id: 'A', weight: '60' },
        { id: 'B', weight: '40' },
      ],
      rounding: FEN,
    })
    // 10 × 0.3333 = 3.333 → 3.33 = 333 fen; × 0.6 = 199.8, × 0.4 = 133.2 → 199 + 133 = 332, 1 fen to A
    expect(shares.map((s) => s.amount)).toEqual(['2.00', '1.33'])
  })

  it('refuses a zero total weight, negative weights and duplicate ids', () => {
    expect(() =>
      shareOut({
        total: '10.00',
        parts: [
          { id: 'A', weight: '0' },
          { id: 'B', weight: '0' },
        ],
        rounding: FEN,
      }),
    ).toThrow(/total weight of the 2 part\(s\) is zero/)
    expect(() => shareOut({ total: '10.00', parts: [], rounding: FEN })).toThrow(RangeError)
    expect(() => shareOut({ total: '10.00', parts: [{ id: 'A', weight: '-1' }], rounding: FEN })).toThrow(
      /weight must not be negative/,
    )
    expect(() =>
      shareOut({
        total: '10.00',
        parts: [
          { id: 'A', weight: '1' },
          { id: 'A', weight: '2' },
        ],
        rounding: FEN,
      }),
    ).toThrow(/not unique/)
  })

  it('gives a zero-weight part nothing and splits a credit like a charge', () => {
    const shares = shareOut({
      total: '-10.00',
      parts: [
        { id: 'A', weight: '2' },
        { id: 'B', weight: '1' },
        { id: 'Z', weight: '0' },
      ],
      rounding: FEN,
    })
    // 1000 fen × 2/3 = 666.67, × 1/3 = 333.33: 1 fen to A; negated
    expect(shares.map((s) => s.amount)).toEqual(['-6.67', '-3.33', '0.00'])
  })
})
