import { describe, expect, it } from 'vitest'
import type { KnownPoint } from './point-directory.ts'
import { escapeText, eventProblem, rangeProblem, readingProblem, storesAsNumber } from './reading-fit.ts'

const point = (
  kind: KnownPoint['kind'],
  min: string | null = null,
  max: string | null = null,
): KnownPoint => ({
  id: 'p',
  deviceId: 'd',
  kind,
  plausibleMin: min,
  plausibleMax: max,
})
const NUL = String.fromCharCode(0)
const LONE = String.fromCharCode(0xdc00)

describe('what the hub stores as sent', () => {
  it('escapes unstorable characters and never cuts a surrogate pair in half', () => {
    expect(escapeText(`a${NUL}b${LONE}`)).toBe('a\\u0000b\\uDC00')
    expect(escapeText('ab😀cd', 4)).toBe('ab…')
    expect(escapeText('😀', 10)).toBe('😀')
  })

  it('refuses inexact numbers and non-quantities on counters and gauges, not on states', () => {
    const wire = (v: number | boolean | string | null) => ({ p: 'm/x', t: 0, v, q: 'good' as const })
    expect(readingProblem(point('counter'), wire(2 ** 53 - 1))).toBeUndefined()
    expect(readingProblem(point('counter'), wire(2 ** 53))).toMatch(/beyond/)
    expect(readingProblem(point('gauge'), wire(Number.POSITIVE_INFINITY))).toMatch(/not a finite/)
    expect(readingProblem(point('counter'), wire('99999999999999999999.9999999999'))).toBeUndefined()
    expect(readingProblem(point('counter'), wire('0.12345678901'))).toMatch(/11 decimal digits/)
    expect(readingProblem(point('state'), wire('0.12345678901'))).toBeUndefined()
    expect(storesAsNumber('0.12345678901')).toBe(false)
    expect(readingProblem(point('state'), wire(true))).toBeUndefined()
    expect(readingProblem(point('counter'), wire(null))).toBeUndefined()
  })

  it('compares with the plausible range exactly, numbers in exponent form included', () => {
    const p = point('gauge', '-0.0000001', '18446744073709551615')
    expect(rangeProblem(p, -1e-7)).toBeUndefined()
    expect(rangeProblem(p, -1.5e-7)).toBe(
      "value -0.00000015 is below the point's plausible minimum -0.0000001",
    )
    expect(rangeProblem(p, '18446744073709551616')).toMatch(/above/)
    expect(rangeProblem(p, 'open')).toBeUndefined()
  })

  it('walks event data without recursion and refuses what is too deep', () => {
    let deep: Record<string, unknown> = {}
    for (let i = 0; i < 100_000; i++) deep = { d: deep }
    expect(eventProblem({ s: 'x', t: 0, type: 'alarm', d: deep })).toMatch(/nested deeper than 32/)
    expect(eventProblem({ s: 'x', t: 0, type: 'alarm', d: { a: [{ b: `${LONE}` }] } })).toMatch(
      /\/d\/a\/0\/b holds an unpaired/,
    )
  })
})
