import { describe, expect, it } from 'vitest'
import { encodeAck, parseAck } from './ack-schema.ts'
import {
  encodeBatch,
  MAX_BATCH_BYTES,
  MAX_EVENTS,
  MAX_READINGS,
  parseBatch,
  type UplinkBatch,
} from './batch-schema.ts'
import { encodeStatus, parseStatus } from './status-schema.ts'
import { fromWireReading, toWireEvent, toWireReading } from './wire-codec.ts'

const good = (): UplinkBatch => ({
  v: 1,
  gateway: 'gw-a-01',
  session: 'Qm9vdGVk',
  seq: 42,
  oldest: 40,
  sentAt: 1_700_000_000_500,
  historical: false,
  readings: [
    { p: 'm1/kwh', t: 1_700_000_000_000, v: 1234.5, q: 'good' },
    { p: 'm2/kwh', t: 1_700_000_000_000, v: null, q: 'bad', r: 'timeout' },
  ],
  events: [{ s: 'door-1', t: 1_700_000_000_100, type: 'granted', d: { card: '0042' } }],
})
const json = (value: unknown) => Buffer.from(JSON.stringify(value))
const errorOf = (value: unknown) => {
  const result = parseBatch(typeof value === 'string' ? value : json(value))
  return result.ok ? 'ok' : result.error
}

describe('parseBatch', () => {
  it('accepts a valid batch and round-trips it', () => {
    const result = parseBatch(encodeBatch(good()))
    expect(result).toEqual({ ok: true, batch: good() })
  })

  it('refuses bad JSON, an empty payload and a non-object', () => {
    expect(errorOf('{"v":1,')).toMatch(/^\(root\): not JSON: /)
    expect(errorOf('')).toBe('(root): empty payload')
    expect(errorOf('[1,2]')).toBe('(root): must be a JSON object')
  })

  it('refuses another version before looking at anything else', () => {
    expect(errorOf({ ...good(), v: 2, readings: 'whatever' })).toBe(
      '/v: unsupported version 2 (this is protocol v1)',
    )
    const { v: _, ...noVersion } = good()
    expect(errorOf(noVersion)).toBe('/v: is required')
  })

  it('names the missing field', () => {
    const { seq: _, ...noSeq } = good()
    expect(errorOf(noSeq)).toBe('/seq: is required')
    const { readings: _r, ...noReadings } = good()
    expect(errorOf(noReadings)).toBe('/readings: is required')
  })

  it('points at the bad item and says what is allowed', () => {
    const b = good()
    expect(errorOf({ ...b, readings: [b.readings[0], { ...b.readings[1], q: 'meh' }] })).toBe(
      '/readings/1/q: must be one of "good", "uncertain", "bad"',
    )
    expect(errorOf({ ...b, readings: [{ ...b.readings[0], v: { x: 1 } }] })).toBe(
      '/readings/0/v: must be number, boolean, string or null',
    )
    expect(errorOf({ ...b, events: [{ ...b.events[0], type: 'opened' }] })).toMatch(
      /^\/events\/0\/type: must be one of /,
    )
    expect(errorOf({ ...b, readings: [{ ...b.readings[0], extra: 1 }] })).toBe(
      '/readings/0/extra: is not allowed (unknown property)',
    )
  })

  it('checks numbers and identifiers', () => {
    expect(errorOf({ ...good(), seq: 0 })).toBe('/seq: must be >= 1')
    expect(errorOf({ ...good(), seq: 1.5 })).toBe('/seq: must be integer')
    expect(errorOf({ ...good(), oldest: 43 })).toBe('/oldest: must be ≤ seq (42)')
    expect(errorOf({ ...good(), gateway: 'a/b' })).toMatch(/^\/gateway: must match pattern/)
    expect(errorOf({ ...good(), historical: 'yes' })).toBe('/historical: must be boolean')
  })

  it('refuses too many readings or events, counted before the items are checked', () => {
    const reading = good().readings[0]
    expect(errorOf({ ...good(), readings: Array(MAX_READINGS + 1).fill(reading) })).toBe(
      `/readings: has too many items (${MAX_READINGS + 1}, at most ${MAX_READINGS})`,
    )
    expect(errorOf({ ...good(), readings: Array(MAX_READINGS).fill(reading) })).toBe('ok')
    expect(errorOf({ ...good(), events: Array(MAX_EVENTS + 1).fill(good().events[0]) })).toBe(
      `/events: has too many items (${MAX_EVENTS + 1}, at most ${MAX_EVENTS})`,
    )
  })

  it('refuses oversize payloads and strings before parsing them', () => {
    expect(errorOf('x'.repeat(MAX_BATCH_BYTES + 1))).toBe(
      `(root): payload of ${MAX_BATCH_BYTES + 1} bytes exceeds ${MAX_BATCH_BYTES}`,
    )
    expect(errorOf({ ...good(), readings: [{ ...good().readings[0], p: 'p'.repeat(201) }] })).toBe(
      '/readings/0/p: must not have more than 200 characters',
    )
  })
})

describe('ack and status', () => {
  it('round-trips an ack and refuses bad ones precisely', () => {
    expect(parseAck(encodeAck(7))).toEqual({ ok: true, ack: { v: 1, seq: 7 } })
    expect(parseAck('{"v":2,"seq":7}')).toEqual({
      ok: false,
      error: '/v: unsupported version 2 (this is protocol v1)',
    })
    expect(parseAck('{"v":1}')).toEqual({ ok: false, error: '/seq: is required' })
    expect(parseAck('{"v":1,"seq":-1}')).toEqual({ ok: false, error: '/seq: must be >= 1' })
    expect(parseAck('nope')).toMatchObject({ ok: false, error: expect.stringMatching(/^\(root\): not JSON/) })
    expect(() => encodeAck(0)).toThrow(RangeError)
  })

  it('round-trips a status', () => {
    const status = { state: 'offline' as const, ts: 1, session: 'abc' }
    expect(parseStatus(encodeStatus(status))).toEqual({ ok: true, status })
    expect(parseStatus('{"state":"away","ts":1,"session":"abc"}')).toEqual({
      ok: false,
      error: '/state: must be one of "online", "offline"',
    })
  })
})

describe('wire codec', () => {
  it('maps a reading both ways and turns a non-finite value into a bad reading', () => {
    const r = { point: 'm1/kwh', ts: 5, value: 1.5, quality: 'good' as const }
    expect(fromWireReading(toWireReading(r))).toEqual(r)
    expect(toWireReading({ ...r, value: Number.NaN })).toEqual({
      p: 'm1/kwh',
      t: 5,
      v: null,
      q: 'bad',
      r: 'non-finite value NaN',
    })
    expect(toWireEvent({ source: 'd1', ts: 9, type: 'forced', payload: { door: 2 } })).toEqual({
      s: 'd1',
      t: 9,
      type: 'forced',
      d: { door: 2 },
    })
  })
})
