import { describe, expect, it } from 'vitest'
import type { LiveReading } from './live-feed.ts'
import {
  decodeLivePayload,
  encodeLivePayloads,
  LIVE_PAYLOAD_LIMIT,
  type LiveRow,
  liveChannel,
} from './live-relay.ts'

/** What the sender encodes for a reading the stream will show. */
const rowOf = (r: LiveReading): LiveRow => ({
  deviceId: r.deviceId,
  pointId: r.pointId,
  t: Date.parse(r.ts),
  value: r.value,
  text: r.text,
  quality: r.quality,
})

const device = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const reading = (n: number, value: string | null, text: string | null = null): LiveReading => ({
  pointId: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  deviceId: device(n % 7),
  ts: new Date(Date.UTC(2026, 11, 8, 3, 0, 0, n)).toISOString(),
  value,
  text,
  quality: n % 3 === 0 ? 'uncertain' : 'good',
  historical: true,
})

describe('live relay payloads', () => {
  it('round-trips a batch split into payloads under 8,000 bytes, in order', () => {
    // 5,000 readings (the wire's most), some with 1,024-character texts that JSON escapes to 6 bytes a character.
    const readings = Array.from({ length: 5_000 }, (_, n) =>
      n % 500 === 0 ? reading(n, null, '\u0001'.repeat(1_024)) : reading(n, `${n}.25`),
    )
    const { payloads, omitted } = encodeLivePayloads(readings.map(rowOf), true)
    expect(omitted).toBe(0)
    expect(payloads.length).toBeGreaterThan(1)
    for (const p of payloads) expect(Buffer.byteLength(p, 'utf8')).toBeLessThanOrEqual(LIVE_PAYLOAD_LIMIT)
    // Each payload differs (PostgreSQL folds identical payloads of one transaction into one).
    expect(new Set(payloads).size).toBe(payloads.length)
    expect(payloads.flatMap((p) => decodeLivePayload(p) ?? [])).toEqual(readings)
    console.log(`[size] 5,000 readings in ${payloads.length} payloads`)
  })

  it('counts a reading too big for any payload instead of failing the batch', () => {
    const { payloads, omitted } = encodeLivePayloads(
      [reading(1, '1'), reading(2, null, 'x'.repeat(300))].map(rowOf),
      false,
      300,
    )
    expect(omitted).toBe(1)
    expect(payloads.flatMap((p) => decodeLivePayload(p) ?? []).map((r) => r.value)).toEqual(['1'])
  })

  it('reads only its own version and says so with undefined', () => {
    expect(decodeLivePayload('not json')).toBeUndefined()
    expect(decodeLivePayload('{"v":2,"r":[]}')).toBeUndefined()
    expect(
      decodeLivePayload('{"v":1,"i":0,"h":false,"d":[],"r":[[3,"p",0,"1",null,"good"]]}'),
    ).toBeUndefined()
  })

  it('names one channel per estate, within PostgreSQL’s 63-byte identifiers', () => {
    const channel = liveChannel('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')
    expect(channel).toBe('eh_live_a0eebc999c0b4ef8bb6d6bb9bd380a11')
    expect(channel.length).toBeLessThanOrEqual(63)
  })
})
