// VEE: which flags a record gets and what they say, the master/sub check, and the daily-average
// estimate for a missing reading.
import { describe, expect, it } from 'vitest'
import type { CutoffReading } from './read-at-cutoff.ts'
import {
  dailyAverage,
  estimateFromDailyAverage,
  masterBelowSubs,
  type VeeFlag,
  veeFlags,
} from './vee-checks.ts'

const T0 = Date.parse('2025-03-01T00:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const reading: CutoffReading = { value: '1250', at: T0, method: 'exact', before: { at: T0, value: '1250' } }
const clean = {
  consumption: '120',
  backwards: false,
  reading,
  meterOnline: true,
  trailingAverage: '120.5',
  spikeFactor: '3',
  occupiedWholePeriod: true,
  hasPrevious: true,
}
const codes = (flags: VeeFlag[]) => flags.map((f) => f.code)

describe('veeFlags', () => {
  it('flags nothing on a normal period', () => {
    expect(veeFlags(clean)).toEqual([])
  })

  it('flags a spike above k × the trailing average, saying the numbers', () => {
    expect(veeFlags({ ...clean, consumption: '950' })).toEqual([
      { code: 'spike', message: 'consumption 950 is above 3 × the trailing average 120.5' },
    ])
    // 3 × 120.5 = 361.5 exactly is not above
    expect(veeFlags({ ...clean, consumption: '361.500' })).toEqual([])
    expect(codes(veeFlags({ ...clean, consumption: '361.501' }))).toEqual(['spike'])
    expect(codes(veeFlags({ ...clean, consumption: '200', spikeFactor: '1.5' }))).toEqual(['spike'])
  })

  it('does not judge spikes without a positive trailing average', () => {
    expect(veeFlags({ ...clean, consumption: '950', trailingAverage: '0' })).toEqual([])
    const { trailingAverage: _, ...noHistory } = clean
    expect(veeFlags({ ...noHistory, consumption: '950' })).toEqual([])
  })

  it('flags zero consumption only for a unit occupied the whole period', () => {
    expect(codes(veeFlags({ ...clean, consumption: '0.000' }))).toEqual(['zero_occupied'])
    expect(veeFlags({ ...clean, consumption: '0', occupiedWholePeriod: false })).toEqual([])
    expect(veeFlags({ ...clean, consumption: '0.001' })).toEqual([])
  })

  it('flags a backwards register, a missing reading, an offline meter and a first read', () => {
    const { consumption: _c, reading: _r, ...rest } = clean
    const flags = veeFlags({ ...rest, backwards: true, meterOnline: false, hasPrevious: false })
    expect(codes(flags)).toEqual(['reverse', 'stale', 'offline', 'no_previous'])
    for (const f of flags) expect(f.message.length).toBeGreaterThan(10)
    // offline is flagged even when a reading was found in the window
    expect(codes(veeFlags({ ...clean, meterOnline: false }))).toEqual(['offline'])
  })
})

describe('masterBelowSubs', () => {
  it('flags a master that measured less than its sub-meters together', () => {
    expect(masterBelowSubs('99.99', ['40', '60.00'])).toEqual({
      code: 'master_below_subs',
      message: 'master consumption 99.99 is below the sum 100 of its 2 sub-meters',
    })
    expect(masterBelowSubs('5', ['5.5'])?.message).toBe(
      'master consumption 5 is below the sum 5.5 of its 1 sub-meter',
    )
  })

  it('accepts a master equal to or above the sum, and no sub-meters at all', () => {
    expect(masterBelowSubs('100', ['40', '60'])).toBeUndefined()
    expect(masterBelowSubs('130.5', ['40', '60'])).toBeUndefined()
    expect(masterBelowSubs('0', [])).toBeUndefined()
  })
})

describe('estimateFromDailyAverage', () => {
  it('adds dailyAverage × days and rounds half-up to the resolution', () => {
    // 1000.5 + 12.345 × 2.5 = 1000.5 + 30.8625 = 1031.3625
    const args = { previous: '1000.5', dailyAverage: '12.345', days: '2.5' }
    expect(estimateFromDailyAverage({ ...args, decimals: 2 })).toBe('1031.36')
    expect(estimateFromDailyAverage({ ...args, decimals: 3 })).toBe('1031.363')
    expect(estimateFromDailyAverage({ ...args, decimals: 0 })).toBe('1031')
    expect(estimateFromDailyAverage({ ...args, days: '0', decimals: 2 })).toBe('1000.5')
  })

  it('wraps at the register capacity, also when rounding reaches it', () => {
    const wrap = { registerCapacity: '100000', decimals: 2 }
    expect(estimateFromDailyAverage({ previous: '99990', dailyAverage: '20', days: '1', ...wrap })).toBe('10')
    // 99990 + 9.9999 = 99999.9999 → 100000.00 → 0
    expect(estimateFromDailyAverage({ previous: '99990', dailyAverage: '9.9999', days: '1', ...wrap })).toBe(
      '0',
    )
    expect(estimateFromDailyAverage({ previous: '0', dailyAverage: '100000', days: '2.5', ...wrap })).toBe(
      '50000',
    )
    expect(estimateFromDailyAverage({ previous: '99990', dailyAverage: '20', days: '1', decimals: 2 })).toBe(
      '100010',
    )
  })
})

describe('dailyAverage', () => {
  it('divides the advance by the span in days', () => {
    expect(dailyAverage([s(T0, '100'), s(T0 + DAY, '110'), s(T0 + 2 * DAY, '130')])).toBe('15')
    // 10 over 3 days
    expect(dailyAverage([s(T0, '0'), s(T0 + 3 * DAY, '10')])).toBe('3.333333')
    // 0.5 in exactly an hour is 12 a day
    expect(dailyAverage([s(T0, '7.25'), s(T0 + HOUR, '7.75')])).toBe('12')
  })

  it('uses the earliest and latest samples whatever their order', () => {
    expect(dailyAverage([s(T0 + 2 * DAY, '130'), s(T0, '100'), s(T0 + DAY, '999')])).toBe('15')
  })

  it('handles one rollover', () => {
    // 99990 → 10 on a 100000 register is 20 in a day
    expect(dailyAverage([s(T0, '99990'), s(T0 + 12 * HOUR, '99999'), s(T0 + DAY, '10')], '100000')).toBe('20')
  })

  it('gives nothing for too few samples, too short a span, or a register that went backwards', () => {
    expect(dailyAverage([])).toBeUndefined()
    expect(dailyAverage([s(T0, '1')])).toBeUndefined()
    expect(dailyAverage([s(T0, '1'), s(T0 + HOUR - 1, '2')])).toBeUndefined()
    expect(dailyAverage([s(T0, '99990'), s(T0 + DAY, '10')])).toBeUndefined()
  })
})

function s(at: number, value: string) {
  return { at, value }
}
