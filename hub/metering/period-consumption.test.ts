// Period consumption: register advance × multiplier per physical meter, across rollover and
// mid-period replacement, with hand-worked numbers.
import { describe, expect, it } from 'vitest'
import { periodConsumption, type Replacement, registerAdvance } from './period-consumption.ts'

const DAY = 86_400_000
const T0 = Date.parse('2025-03-01T00:00:00Z')

describe('registerAdvance', () => {
  it('is the plain difference when the register moved forward or not at all', () => {
    expect(registerAdvance('100', '150.25')).toEqual({ advance: '50.25', rollover: false, backwards: false })
    expect(registerAdvance('12345.670', '12345.67')).toEqual({
      advance: '0',
      rollover: false,
      backwards: false,
    })
  })

  it('rolls over at the capacity: 99998.50 → 3.25 on a 100000 register is 4.75', () => {
    expect(registerAdvance('99998.50', '3.25', '100000')).toEqual({
      advance: '4.75',
      rollover: true,
      backwards: false,
    })
    // 10 + 100000 − 60000 = 40010 < 50000: still a wrap
    expect(registerAdvance('60000', '10', '100000')).toEqual({
      advance: '40010',
      rollover: true,
      backwards: false,
    })
  })

  it('calls a drop backwards without a capacity, or when the wrap would be half the register or more', () => {
    const backwards = { advance: undefined, rollover: false, backwards: true }
    expect(registerAdvance('99998.50', '3.25')).toEqual(backwards)
    expect(registerAdvance('30000', '10', '100000')).toEqual(backwards) // 70010 ≥ 50000
    expect(registerAdvance('50000', '0', '100000')).toEqual(backwards) // exactly half
    expect(registerAdvance('50000.01', '0', '100000')).toMatchObject({ advance: '49999.99', rollover: true })
    expect(registerAdvance('5', '4', '0')).toEqual(backwards)
  })

  it('calls a forward jump of half the register or more a register that ran back below zero', () => {
    // 1102.00 running backwards past 0 on a uint32 × 0.01 register shows 42949185.46.
    expect(registerAdvance('1102', '42949185.46', '42949672.96')).toEqual({
      advance: undefined,
      rollover: false,
      backwards: true,
    })
    expect(registerAdvance('0', '49999.99', '100000')).toMatchObject({
      advance: '49999.99',
      backwards: false,
    })
    expect(registerAdvance('0', '50000', '100000')).toMatchObject({ backwards: true })
    // Without a capacity there is no way to tell: a jump is consumption (the spike check sees it).
    expect(registerAdvance('1102', '42949185.46')).toMatchObject({ advance: '42948083.46' })
  })
})

describe('periodConsumption', () => {
  it('multiplies the advance of one register and rounds half-up to 3 places by default', () => {
    const r = periodConsumption({
      previous: '1000.5',
      current: '1100.25',
      multiplier: '1.5',
      replacements: [],
    })
    // 99.75 × 1.5 = 149.625
    expect(r).toEqual({
      consumption: '149.625',
      rollover: false,
      backwards: false,
      segments: [
        {
          from: '1000.5',
          to: '1100.25',
          advance: '99.75',
          multiplier: '1.5',
          rollover: false,
          backwards: false,
        },
      ],
    })
    // 10.5 × 0.3333 = 3.49965 → 3.500; at 4 places 3.4997
    expect(
      periodConsumption({ previous: '0', current: '10.5', multiplier: '0.3333', replacements: [] })
        .consumption,
    ).toBe('3.5')
    // 0.5 × 0.001 = 0.0005 → 0.001 half-up at 3 places, 0.00 at 2
    expect(
      periodConsumption({ previous: '0', current: '0.5', multiplier: '0.001', replacements: [] }).consumption,
    ).toBe('0.001')
    expect(
      periodConsumption({ previous: '0', current: '0.5', multiplier: '0.001', replacements: [], decimals: 2 })
        .consumption,
    ).toBe('0')
    expect(
      periodConsumption({
        previous: '0',
        current: '10.5',
        multiplier: '0.3333',
        replacements: [],
        decimals: 4,
      }).consumption,
    ).toBe('3.4997')
  })

  it('bills across a rollover: (99998.50 → 3.25) × 2 = 9.5', () => {
    const r = periodConsumption({
      previous: '99998.50',
      current: '3.25',
      multiplier: '2',
      registerCapacity: '100000',
      replacements: [],
    })
    expect(r).toMatchObject({ consumption: '9.5', rollover: true, backwards: false })
  })

  it('bills a mid-period replacement per meter: 100 → 150 ×1, then 0 → 20 ×40 = 50 + 800 = 850', () => {
    const swap: Replacement = {
      at: T0 + 10 * DAY,
      oldFinal: '150',
      newStart: '0',
      oldMultiplier: '1',
      newMultiplier: '40',
    }
    const r = periodConsumption({ previous: '100', current: '20', multiplier: '40', replacements: [swap] })
    expect(r).toEqual({
      consumption: '850',
      rollover: false,
      backwards: false,
      segments: [
        { from: '100', to: '150', advance: '50', multiplier: '1', rollover: false, backwards: false },
        { from: '0', to: '20', advance: '20', multiplier: '40', rollover: false, backwards: false },
      ],
    })
  })

  it("chains two replacements, each segment on its own meter's multiplier and capacity", () => {
    const first: Replacement = {
      at: T0 + 5 * DAY,
      oldFinal: '5', // wrapped on a 10000 register: 9990 → 5 is 15
      newStart: '100',
      oldMultiplier: '1',
      newMultiplier: '2',
      oldCapacity: '10000',
      newCapacity: '1000',
    }
    const second: Replacement = {
      at: T0 + 20 * DAY,
      oldFinal: '10', // 100 → 10 on a 1000 register: 10 + 1000 − 100 = 910 ≥ 500, a drop
      newStart: '0',
      oldMultiplier: '2',
      newMultiplier: '10',
    }
    // Given out of order: the result must not depend on it.
    const r = periodConsumption({
      previous: '9990',
      current: '3',
      multiplier: '10',
      replacements: [second, first],
    })
    expect(r.backwards).toBe(true)
    expect(r.consumption).toBeUndefined()
    expect(r.segments.map((x) => [x.from, x.to, x.advance, x.multiplier, x.rollover, x.backwards])).toEqual([
      ['9990', '5', '15', '1', true, false],
      ['100', '10', undefined, '2', false, true],
      ['0', '3', '3', '10', false, false],
    ])

    const ok = periodConsumption({
      previous: '9990',
      current: '3',
      multiplier: '10',
      replacements: [first, { ...second, oldFinal: '150.5' }],
    })
    // 15 × 1 + 50.5 × 2 + 3 × 10 = 15 + 101 + 30 = 146
    expect(ok).toMatchObject({ consumption: '146', rollover: true, backwards: false })
  })

  it('reports a backwards register without a consumption but keeps the good segments', () => {
    const r = periodConsumption({ previous: '500', current: '400', multiplier: '1', replacements: [] })
    expect(r).toEqual({
      consumption: undefined,
      rollover: false,
      backwards: true,
      segments: [
        { from: '500', to: '400', advance: undefined, multiplier: '1', rollover: false, backwards: true },
      ],
    })
  })
})
