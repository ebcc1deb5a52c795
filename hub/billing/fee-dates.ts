/**
 * Calendar days for proration: 'YYYY-MM-DD' dates on the proleptic Gregorian calendar (UTC, no time
 * zones), bill periods, and the standards' spans inside a period.
 */
import type { BillPeriod, RuleSpan, StandardRule } from './fee-types.ts'

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31
}

/** Days since 1970-01-01 of a valid 'YYYY-MM-DD' date; RangeError naming `name` otherwise. */
export function dayNumber(name: string, text: unknown): number {
  const m = typeof text === 'string' ? DATE_TEXT.exec(text) : null
  if (!m) throw new RangeError(`${name} must be a 'YYYY-MM-DD' date, got ${JSON.stringify(text)}`)
  const y = Number(m[1])
  const mo = Number(m[2])
  const d = Number(m[3])
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) {
    throw new RangeError(`${name} is not a calendar date: ${JSON.stringify(text)}`)
  }
  // Days from civil (H. Hinnant): years start on 1 March so the leap day is the year's last day.
  const yy = mo <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

/** Calendar days from `from` to `to` ('YYYY-MM-DD'); negative when `to` is earlier. */
export function daysBetween(from: string, to: string): number {
  return dayNumber('to', to) - dayNumber('from', from)
}

/** Throws RangeError unless the period is [from, to) with from < to and a whole number of months ≥ 1. */
export function checkPeriod(period: BillPeriod): number {
  if (period === null || typeof period !== 'object')
    throw new RangeError('period must be { from, to, months }')
  const from = dayNumber('period.from', period.from)
  const to = dayNumber('period.to', period.to)
  if (to <= from) throw new RangeError(`period.to (${period.to}) must be after period.from (${period.from})`)
  if (!Number.isSafeInteger(period.months) || period.months < 1) {
    throw new RangeError(`period.months must be a whole number ≥ 1, got ${String(period.months)}`)
  }
  return to - from
}

export interface CoveredSpan<R extends StandardRule> {
  /** position in the caller's array, for error messages */
  readonly index: number
  readonly from: string
  readonly to: string
  readonly days: number
  readonly rule: R
}

export interface Coverage<R extends StandardRule> {
  readonly periodDays: number
  readonly coveredDays: number
  /** chronological */
  readonly spans: readonly CoveredSpan<R>[]
}

/**
 * The spans of one kind of standard inside a period: each [from, to) non-empty, inside the period,
 * none overlapping another; gaps are allowed (their days are not charged). RangeError otherwise.
 */
export function coverSpans<K extends StandardRule['kind']>(
  spans: readonly RuleSpan[],
  period: BillPeriod,
  kind: K,
): Coverage<Extract<StandardRule, { kind: K }>> {
  const periodDays = checkPeriod(period)
  if (!Array.isArray(spans) || spans.length === 0) {
    throw new RangeError(
      `at least one span of a '${kind}' standard is required in ${period.from}..${period.to}`,
    )
  }
  const periodFrom = dayNumber('period.from', period.from)
  const periodTo = dayNumber('period.to', period.to)
  const checked = spans.map((span, index) => {
    const from = dayNumber(`spans[${index}].from`, span.from)
    const to = dayNumber(`spans[${index}].to`, span.to)
    if (to <= from) throw new RangeError(`spans[${index}] is empty or reversed: ${span.from}..${span.to}`)
    if (from < periodFrom || to > periodTo) {
      throw new RangeError(
        `spans[${index}] ${span.from}..${span.to} is outside the period ${period.from}..${period.to}; clip it to the period`,
      )
    }
    if (span.rule?.kind !== kind) {
      throw new RangeError(`spans[${index}] has a '${String(span.rule?.kind)}' standard, expected '${kind}'`)
    }
    return { index, start: from, from: span.from, to: span.to, days: to - from, rule: span.rule }
  })
  checked.sort((a, b) => a.start - b.start || a.index - b.index)
  for (let i = 1; i < checked.length; i++) {
    const prev = checked[i - 1]!
    const cur = checked[i]!
    if (cur.start < prev.start + prev.days) {
      throw new RangeError(
        `spans[${prev.index}] ${prev.from}..${prev.to} and spans[${cur.index}] ${cur.from}..${cur.to} overlap`,
      )
    }
  }
  const covered = checked.map(({ index, from, to, days, rule }) => ({
    index,
    from,
    to,
    days,
    rule: rule as Extract<StandardRule, { kind: K }>,
  }))
  const coveredDays = covered.reduce((n, s) => n + s.days, 0)
  return { periodDays, coveredDays, spans: covered }
}
