import type { WireEvent, WireReading } from '../../gateway/contract/index.ts'
import { Decimal } from '../kernel/decimal.ts'
import { describeUnstorable, escapeUnstorable, unstorableCharacter } from '../kernel/unstorable-text.ts'
import type { KnownPoint } from './point-directory.ts'

/**
 * What a reading or event must be for the hub to store it exactly as sent (docs/protocol.md §
 * Values the hub stores). Anything else is set aside as an ingest problem with the reason, so
 * one bad value never fails the transaction of the batch it came in.
 */

/**
 * A JSON number beyond ±(2^53 − 1) may already have been rounded when it was parsed (a 39-digit
 * integer arrives as 1.2345678901234568e38): exact values that large travel as decimal strings
 * (docs/decisions/0009-exact-scaling.md), so such a number is refused rather than stored rounded.
 */
export const MAX_EXACT_NUMBER = Number.MAX_SAFE_INTEGER
/** A uint64 register unscaled has 20 digits; nothing a driver decodes has more. */
export const MAX_INTEGER_DIGITS = 20
/** A point's scale and offset have at most 10 places, so raw × scale + offset has no more. */
export const MAX_FRACTION_DIGITS = 10

const DECIMAL_TEXT = /^[+-]?(\d+)(?:\.(\d+))?$/

/** Deeper event data than this is refused: JSON.stringify would recurse through all of it. */
export const MAX_EVENT_DEPTH = 32

/** Kinds whose values are quantities: a boolean or a word there is a misconfigured point. */
const numericKinds: ReadonlySet<KnownPoint['kind']> = new Set(['counter', 'gauge'])

/** Text shown in a reason or an ingest problem: unstorable characters as visible escapes, bounded. */
export function escapeText(text: string, max = 1_024): string {
  const escaped = escapeUnstorable(text)
  if (escaped.length <= max) return escaped
  // Never cut a surrogate pair in half: that would make the very character this avoids.
  const cut = escaped.slice(0, max - 1)
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`
}

function textProblem(what: string, text: string): string | undefined {
  const character = unstorableCharacter(text)
  if (character === undefined) return undefined
  return `${what} holds ${describeUnstorable(character)}, which PostgreSQL cannot store`
}

/** Why this value cannot be stored exactly, if it cannot (any point kind). */
function numberProblem(v: number): string | undefined {
  if (!Number.isFinite(v)) return `value ${String(v)} is not a finite number`
  if (Math.abs(v) > MAX_EXACT_NUMBER)
    return `value ${String(v)} is beyond ±(2^53 − 1): the number may already be rounded (exact values that large must be sent as decimal strings)`
  return undefined
}

function decimalProblem(v: string): string | undefined {
  const m = DECIMAL_TEXT.exec(v)
  if (m === null) return undefined
  const integer = m[1]!.replace(/^0+(?=\d)/, '')
  const fraction = m[2] ?? ''
  if (integer.length > MAX_INTEGER_DIGITS || fraction.length > MAX_FRACTION_DIGITS)
    return `value ${escapeText(v, 60)} has ${integer.length} integer and ${fraction.length} decimal digits (at most ${MAX_INTEGER_DIGITS} and ${MAX_FRACTION_DIGITS})`
  return undefined
}

export const isDecimalText = (v: string) => DECIMAL_TEXT.test(v)

/**
 * A string value that goes to the numeric column: a decimal within the limits. A longer digit
 * string on a state point (a serial number) is kept as text, exactly as sent.
 */
export const storesAsNumber = (v: string) => isDecimalText(v) && decimalProblem(v) === undefined

/**
 * Why this reading of a known point cannot be stored as sent, or undefined when it can:
 * unstorable text, a number that is not exact, a non-numeric value on a counter or gauge.
 */
export function readingProblem(point: KnownPoint, wire: WireReading): string | undefined {
  const { v } = wire
  const text =
    textProblem('the point name', wire.p) ??
    (wire.r === undefined ? undefined : textProblem('the reason', wire.r))
  if (text !== undefined) return text
  if (v === null) return undefined
  if (typeof v === 'number') return numberProblem(v)
  if (typeof v === 'string') {
    const problem = textProblem('the value', v)
    if (problem !== undefined) return problem
    if (isDecimalText(v)) return numericKinds.has(point.kind) ? decimalProblem(v) : undefined
  }
  if (numericKinds.has(point.kind))
    return `a ${point.kind} point takes a number or a decimal string, got ${typeof v === 'string' ? `the text ${JSON.stringify(escapeText(v, 60))}` : String(v)}`
  return undefined
}

/** A wire number or decimal string as an exact decimal; undefined for anything else. */
function exactOf(v: WireReading['v']): Decimal | undefined {
  if (typeof v === 'string') return isDecimalText(v) ? Decimal.of(v.replace(/^\+/, '')) : undefined
  if (typeof v !== 'number') return undefined
  const text = String(v)
  // Below 1e-6, String() writes an exponent: spell the same digits out as a plain decimal.
  const m = /^(-?)(\d)(?:\.(\d+))?e-(\d+)$/.exec(text)
  if (m === null) return Decimal.of(text)
  return Decimal.of(`${m[1]}0.${'0'.repeat(Number(m[4]) - 1)}${m[2]}${m[3] ?? ''}`)
}

/**
 * Why a storable value lies outside its point's plausible range, if it does. The comparison is
 * exact (decimal), so a counter of 18446744073709551.615 is not judged through a double.
 */
export function rangeProblem(point: KnownPoint, v: WireReading['v']): string | undefined {
  if (point.plausibleMin === null && point.plausibleMax === null) return undefined
  const value = exactOf(v)
  if (value === undefined) return undefined
  if (point.plausibleMin !== null && value.lt(point.plausibleMin))
    return `value ${value.toString()} is below the point's plausible minimum ${point.plausibleMin}`
  if (point.plausibleMax !== null && value.gt(point.plausibleMax))
    return `value ${value.toString()} is above the point's plausible maximum ${point.plausibleMax}`
  return undefined
}

/**
 * Why this event cannot be stored as sent: unstorable text in its source or anywhere in its
 * data (keys included: jsonb refuses \u0000 too), or data nested too deep to serialise safely.
 * Walked without recursion, so a hostile depth costs a refusal, not the stack.
 */
export function eventProblem(event: WireEvent): string | undefined {
  const source = textProblem('the source', event.s)
  if (source !== undefined) return source
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value: event.d, path: '/d', depth: 0 },
  ]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next
    if (typeof value === 'string') {
      const problem = textProblem(`the data at ${escapeText(path, 100)}`, value)
      if (problem !== undefined) return problem
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (depth >= MAX_EVENT_DEPTH)
      return `the data at ${escapeText(path, 100)} is nested deeper than ${MAX_EVENT_DEPTH} levels`
    for (const [key, child] of Object.entries(value)) {
      const problem = textProblem(`a key in the data at ${escapeText(path, 100)}`, key)
      if (problem !== undefined) return problem
      pending.push({ value: child, path: `${path}/${key}`, depth: depth + 1 })
    }
  }
  return undefined
}

/** An event's type and data as storable text for the ingest problem that keeps it. */
export function eventText(event: WireEvent): string {
  let data: string
  try {
    // JSON.stringify writes NUL and lone surrogates as \u escapes: the text itself is storable.
    data = JSON.stringify(event.d)
  } catch {
    data = '(data too deep to show)'
  }
  return escapeText(`${event.type} ${data}`, 2_000)
}
