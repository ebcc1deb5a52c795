import { describe, expect, it } from 'vitest'
import { cutoffOf, lastClosedPeriod, periodBounds, shiftPeriod } from './cutoff.ts'

const iso = (ms: number) => new Date(ms).toISOString()

describe('meter-read cut-off', () => {
  it('is the last day of the month at 24:00 local time by default', () => {
    // 2026-11-30 24:00 in Shanghai (UTC+8) is 2026-11-30 16:00 UTC.
    expect(iso(cutoffOf('2026-11', 'Asia/Shanghai', null))).toBe('2026-11-30T16:00:00.000Z')
    expect(iso(cutoffOf('2026-12', 'Asia/Shanghai', null))).toBe('2026-12-31T16:00:00.000Z')
    // February of a leap year.
    expect(iso(cutoffOf('2028-02', 'Asia/Shanghai', null))).toBe('2028-02-29T16:00:00.000Z')
  })

  it('honours a cut-off day and the estate time zone, DST included', () => {
    expect(iso(cutoffOf('2026-11', 'Asia/Shanghai', 25))).toBe('2026-11-25T16:00:00.000Z')
    // Europe/Berlin: March 31 24:00 is after the switch to summer time (UTC+2).
    expect(iso(cutoffOf('2026-03', 'Europe/Berlin', null))).toBe('2026-03-31T22:00:00.000Z')
    expect(iso(cutoffOf('2026-01', 'Europe/Berlin', null))).toBe('2026-01-31T23:00:00.000Z')
    expect(iso(cutoffOf('2026-01', 'UTC', null))).toBe('2026-02-01T00:00:00.000Z')
  })

  it('runs a period from the previous cut-off, across the year', () => {
    const b = periodBounds('2027-01', 'Asia/Shanghai', null)
    expect(iso(b.start)).toBe('2026-12-31T16:00:00.000Z')
    expect(iso(b.cutoff)).toBe('2027-01-31T16:00:00.000Z')
    expect(shiftPeriod('2027-01', -1)).toBe('2026-12')
    expect(shiftPeriod('2026-12', 1)).toBe('2027-01')
  })

  it('finds the last closed period', () => {
    expect(lastClosedPeriod(Date.parse('2026-11-30T15:59:59Z'), 'Asia/Shanghai', null)).toBe('2026-10')
    expect(lastClosedPeriod(Date.parse('2026-11-30T16:00:00Z'), 'Asia/Shanghai', null)).toBe('2026-11')
    expect(lastClosedPeriod(Date.parse('2026-12-01T03:00:00Z'), 'Asia/Shanghai', 25)).toBe('2026-11')
  })
})
