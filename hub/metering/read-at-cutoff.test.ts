// readingAtCutoff: exact hits, exact interpolation with the meter's rounding, register wrap,
// and the fall-back to the nearest sample when interpolating would be wrong.
import { describe, expect, it } from 'vitest'
import { type CounterSample, readingAtCutoff } from './read-at-cutoff.ts'

const T0 = Date.parse('2025-03-01T00:00:00Z')
const MIN = 60_000
const WINDOW = 60 * MIN
const s = (at: number, value: string): CounterSample => ({ at, value })

describe('readingAtCutoff', () => {
  it('takes a sample exactly at the cut-off as is (normalised), whatever the window', () => {
    const before = s(T0, '100.10')
    expect(
      readingAtCutoff({ before, after: s(T0 + MIN, '200'), cutoff: T0, windowMs: 0, decimals: 2 }),
    ).toEqual({ value: '100.1', at: T0, method: 'exact', before })
  })

  it('interpolates halfway: 100.00 and 101.00 fifteen minutes apart give 100.50', () => {
    const before = s(T0, '100.00')
    const after = s(T0 + 900_000, '101.00')
    expect(readingAtCutoff({ before, after, cutoff: T0 + 450_000, windowMs: WINDOW, decimals: 2 })).toEqual({
      value: '100.5',
      at: T0 + 450_000,
      method: 'interpolated',
      before,
      after,
    })
  })

  it("rounds the interpolated value half-up to the meter's resolution", () => {
    const before = s(T0, '100.00')
    const after = s(T0 + 900_000, '100.01')
    const at = (cutoff: number, decimals: number) =>
      readingAtCutoff({ before, after, cutoff, windowMs: WINDOW, decimals })?.value
    expect(at(T0 + 450_000, 2)).toBe('100.01') // 100.005 → up
    expect(at(T0 + 300_000, 2)).toBe('100') // 100.00333… → down
    expect(at(T0 + 600_000, 2)).toBe('100.01') // 100.00666… → up
    expect(at(T0 + 450_000, 3)).toBe('100.005')
    expect(at(T0 + 300_000, 4)).toBe('100.0033')
    expect(at(T0 + 450_000, 0)).toBe('100')
  })

  it('rounds once: 100.004999999999996 is 100.00, not 100.01 via a 12-digit intermediate', () => {
    // elapsed / span = 0.4999999999996, so the exact value is 100 + 0.01 × that
    const r = readingAtCutoff({
      before: s(0, '100.00'),
      after: s(10_000_000_000_000, '100.01'),
      cutoff: 4_999_999_999_996,
      windowMs: 10_000_000_000_000,
      decimals: 2,
    })
    expect(r?.value).toBe('100')
  })

  it('interpolates across a register wrap and wraps the result back under the capacity', () => {
    const before = s(T0, '99999.00')
    const after = s(T0 + 1000, '1.00')
    const at = (cutoff: number) =>
      readingAtCutoff({ before, after, cutoff, windowMs: WINDOW, decimals: 2, registerCapacity: '100000' })
    expect(at(T0 + 250)).toMatchObject({ value: '99999.5', method: 'interpolated' })
    expect(at(T0 + 500)).toMatchObject({ value: '0', method: 'interpolated' }) // exactly the capacity
    expect(at(T0 + 750)).toMatchObject({ value: '0.5', method: 'interpolated' })
  })

  it('wraps a value that only reaches the capacity by rounding', () => {
    // 99999.995 → 100000.00 → 0
    const r = readingAtCutoff({
      before: s(T0, '99999.99'),
      after: s(T0 + 1000, '0.00'),
      cutoff: T0 + 500,
      windowMs: WINDOW,
      decimals: 2,
      registerCapacity: '100000',
    })
    expect(r?.value).toBe('0')
  })

  it('does not interpolate a register that went backwards: the nearest sample is used', () => {
    const before = s(T0 - 10 * MIN, '500.00')
    const after = s(T0 + 20 * MIN, '50.00')
    expect(readingAtCutoff({ before, after, cutoff: T0, windowMs: WINDOW, decimals: 2 })).toEqual({
      value: '500',
      at: T0 - 10 * MIN,
      method: 'nearest',
      before,
    })
    // With a capacity, a drop of more than half the register is still a drop, not a wrap:
    // 10 + 100000 − 30000 = 70010 ≥ 50000.
    const drop = readingAtCutoff({
      before: s(T0 - 20 * MIN, '30000'),
      after: s(T0 + 10 * MIN, '10'),
      cutoff: T0,
      windowMs: WINDOW,
      decimals: 2,
      registerCapacity: '100000',
    })
    expect(drop).toEqual({ value: '10', at: T0 + 10 * MIN, method: 'nearest', after: s(T0 + 10 * MIN, '10') })
  })

  it('uses the only sample inside the window', () => {
    const before = s(T0 - 30 * MIN, '42.50')
    const after = s(T0 + 61 * MIN, '43')
    expect(readingAtCutoff({ before, after, cutoff: T0, windowMs: WINDOW, decimals: 2 })).toEqual({
      value: '42.5',
      at: T0 - 30 * MIN,
      method: 'nearest',
      before,
    })
    expect(
      readingAtCutoff({
        before: s(T0 - 2 * WINDOW, '1'),
        after,
        cutoff: T0 + 2 * MIN,
        windowMs: WINDOW,
        decimals: 2,
      }),
    ).toEqual({ value: '43', at: T0 + 61 * MIN, method: 'nearest', after })
    expect(readingAtCutoff({ after, cutoff: T0 + MIN, windowMs: WINDOW, decimals: 2 })?.value).toBe('43')
  })

  it('counts a sample exactly windowMs away, and gives a tie between two nearest to before', () => {
    const before = s(T0 - WINDOW, '10')
    const after = s(T0 + WINDOW, '5')
    // Backwards, so nearest; equally far, so before.
    expect(readingAtCutoff({ before, after, cutoff: T0, windowMs: WINDOW, decimals: 2 })).toMatchObject({
      value: '10',
      method: 'nearest',
    })
  })

  it('gives nothing when no sample is inside the window', () => {
    expect(readingAtCutoff({ cutoff: T0, windowMs: WINDOW, decimals: 2 })).toBeUndefined()
    expect(
      readingAtCutoff({
        before: s(T0 - WINDOW - 1, '1'),
        after: s(T0 + WINDOW + 1, '2'),
        cutoff: T0,
        windowMs: WINDOW,
        decimals: 2,
      }),
    ).toBeUndefined()
  })

  it('refuses samples on the wrong side of the cut-off', () => {
    expect(() =>
      readingAtCutoff({ before: s(T0 + 1, '1'), cutoff: T0, windowMs: WINDOW, decimals: 2 }),
    ).toThrow(RangeError)
    expect(() => readingAtCutoff({ after: s(T0, '1'), cutoff: T0, windowMs: WINDOW, decimals: 2 })).toThrow(
      RangeError,
    )
  })
})
