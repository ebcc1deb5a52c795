/**
 * When a period's meter reads are cut. A period is a calendar month 'YYYY-MM'; its cut-off is
 * 24:00 local time (in the estate's time zone) on `cutoffDay` of that month, or on the last
 * day of the month when cutoffDay is null. The period runs from the previous cut-off to this one.
 */

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/

export interface PeriodBounds {
  readonly period: string
  /** Epoch ms: the previous period's cut-off. */
  readonly start: number
  /** Epoch ms: this period's cut-off. */
  readonly cutoff: number
}

export function isPeriod(text: string): boolean {
  return PERIOD.test(text)
}

export function parsePeriod(period: string): { year: number; month: number } {
  const match = PERIOD.exec(period)
  if (!match) throw new RangeError(`period must be YYYY-MM, got ${JSON.stringify(period)}`)
  return { year: Number(match[1]), month: Number(match[2]) }
}

export function formatPeriod(year: number, month: number): string {
  const y = year + Math.floor((month - 1) / 12)
  const m = (((month - 1) % 12) + 12) % 12
  return `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`
}

export function shiftPeriod(period: string, months: number): string {
  const { year, month } = parsePeriod(period)
  return formatPeriod(year, month + months)
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (Asia/Shanghai: +8 h). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'))
  return local - Math.floor(ms / 1000) * 1000
}

/** The instant of local midnight starting `year-month-day` in `timeZone` (day may overflow). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day)
  // Two passes settle a guess that lands across a DST change.
  let instant = guess - zoneOffsetMs(guess, timeZone)
  instant = guess - zoneOffsetMs(instant, timeZone)
  return instant
}

export function cutoffOf(period: string, timeZone: string, cutoffDay: number | null): number {
  const { year, month } = parsePeriod(period)
  // 24:00 on day d is 00:00 on day d + 1; the last day's 24:00 is the 1st of next month.
  return cutoffDay === null
    ? localMidnight(year, month + 1, 1, timeZone)
    : localMidnight(year, month, cutoffDay + 1, timeZone)
}

export function periodBounds(period: string, timeZone: string, cutoffDay: number | null): PeriodBounds {
  return {
    period,
    start: cutoffOf(shiftPeriod(period, -1), timeZone, cutoffDay),
    cutoff: cutoffOf(period, timeZone, cutoffDay),
  }
}

/** The latest period whose cut-off is at or before `now`. */
export function lastClosedPeriod(now: number, timeZone: string, cutoffDay: number | null): string {
  const d = new Date(now + zoneOffsetMs(now, timeZone))
  let period = formatPeriod(d.getUTCFullYear(), d.getUTCMonth() + 1)
  while (cutoffOf(period, timeZone, cutoffDay) > now) period = shiftPeriod(period, -1)
  return period
}

/** The local calendar date 'YYYY-MM-DD' of an instant in `timeZone`. */
export function localDate(ms: number, timeZone: string): string {
  return new Date(ms + zoneOffsetMs(ms, timeZone)).toISOString().slice(0, 10)
}

export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
    return true
  } catch {
    return false
  }
}
