import { describe, expect, it, vi } from 'vitest'
import type { Reading } from '../../drivers/driver-types.ts'
import { type BatchContent, ReadingBatcher } from './reading-batcher.ts'

const reading = (i: number): Reading => ({
  point: `m${i}/kwh`,
  ts: 1_700_000_000_000 + i,
  value: i,
  quality: 'good',
})

// What a timer sends is waited for (bounded only against a hang), never a fixed span: on a busy
// machine a 30 ms linger may fire much later. What must not be sent yet waits on a 10 s linger.
const HANG = { timeout: 10_000, interval: 5 }

describe('reading batcher', () => {
  it('closes a batch at the size limit and after the linger time, in order', async () => {
    const batches: BatchContent[] = []
    const batcher = new ReadingBatcher({
      maxReadings: 100,
      lingerMs: 30,
      sink: async (b) => {
        await new Promise((resolve) => setTimeout(resolve, 5))
        batches.push(b)
      },
    })
    batcher.addReadings(Array.from({ length: 250 }, (_, i) => reading(i)))
    await vi.waitFor(() => expect(batches.length).toBeGreaterThanOrEqual(3), HANG)
    expect(batches.map((b) => b.readings.length)).toEqual([100, 100, 50])
    const all = batches.flatMap((b) => b.readings.map((r) => r.value))
    expect(all).toEqual(Array.from({ length: 250 }, (_, i) => i))
  })

  it('carries events and flushes on demand', async () => {
    const batches: BatchContent[] = []
    const batcher = new ReadingBatcher({
      maxReadings: 10,
      lingerMs: 10_000,
      sink: async (b) => void batches.push(b),
    })
    batcher.addEvent({ source: 'door-1', ts: 1, type: 'forced', payload: {} })
    batcher.addReadings([reading(1)])
    await batcher.flush()
    expect(batches).toHaveLength(1)
    expect(batches[0]!.events[0]!.type).toBe('forced')
    expect(batcher.pending).toBe(0)
  })

  it('sends an urgent event after the short linger, with the readings gathered so far', async () => {
    const batches: BatchContent[] = []
    const batcher = new ReadingBatcher({
      maxReadings: 100,
      lingerMs: 10_000,
      urgentLingerMs: 5,
      isUrgent: (event) => event.type === 'forced',
      sink: async (b) => void batches.push(b),
    })
    batcher.addReadings([reading(1)])
    batcher.addEvent({ source: 'door-1', ts: 1, type: 'granted', payload: {} })
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(batches).toHaveLength(0)
    batcher.addEvent({ source: 'door-1', ts: 2, type: 'forced', payload: {} })
    await vi.waitFor(() => expect(batches.length).toBeGreaterThanOrEqual(1), HANG)
    expect(batches.map((b) => [b.readings.length, b.events.map((e) => e.type)])).toEqual([
      [1, ['granted', 'forced']],
    ])
    // The next non-urgent item waits for the full linger again.
    batcher.addReadings([reading(2)])
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(batches).toHaveLength(1)
    await batcher.flush()
  })
})
