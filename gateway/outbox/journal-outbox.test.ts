import { appendFileSync, mkdtempSync, readFileSync, statSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseBatch } from '../protocol/batch-schema.ts'
import { JournalOutbox as Outbox } from './journal-outbox.ts'
import { OutboxFullError, OutboxLockedError } from './outbox-errors.ts'

const options = { gateway: 'gw-1', session: 's1', maxBatches: 1000, maxBytes: 64 * 1024 * 1024 }
const batch = (n: number, historical = false) => ({
  readings: [{ p: `m${n}/kwh`, t: 1_700_000_000_000 + n, v: n, q: 'good' as const }],
  events: [],
  historical,
})
const fresh = () => join(mkdtempSync(join(tmpdir(), 'estatehub-outbox-')), 'outbox')
const seqsOf = (outbox: Outbox) => outbox.pending().map((h) => h.seq)

describe('outbox', () => {
  it('keeps every unacknowledged batch across a restart, and continues the seq', async () => {
    const dir = fresh()
    const first = await Outbox.open(dir, options)
    for (let i = 1; i <= 5; i++) expect(await first.append(batch(i))).toBe(i)
    await first.ack(2)
    await first.close()
    const second = await Outbox.open(dir, { ...options, session: 's2' })
    expect(seqsOf(second)).toEqual([3, 4, 5])
    const held = parseBatch(second.pending()[0]!.bytes)
    expect(held.ok && held.batch.readings[0]!.p).toBe('m3/kwh')
    expect(await second.append(batch(6))).toBe(6)
    await second.close()
  })

  it('continues the seq even when every batch was acknowledged', async () => {
    const dir = fresh()
    const first = await Outbox.open(dir, options)
    for (let i = 1; i <= 3; i++) await first.append(batch(i))
    await first.ack(3)
    await first.close()
    const second = await Outbox.open(dir, options)
    expect(second.depth).toBe(0)
    expect(await second.append(batch(4))).toBe(4)
    await second.close()
  })

  it('drops a torn last record after a crash instead of half-reading it', async () => {
    const dir = fresh()
    const first = await Outbox.open(dir, options)
    for (let i = 1; i <= 3; i++) await first.append(batch(i))
    await first.close()
    const journal = join(dir, 'journal.log')
    truncateSync(journal, statSync(journal).size - 10) // the third record loses its end
    appendFileSync(join(dir, 'journal.log'), '') // nothing else changes
    const second = await Outbox.open(dir, options)
    expect(seqsOf(second)).toEqual([1, 2])
    expect(await second.append(batch(9))).toBe(3)
    await second.close()
    const third = await Outbox.open(dir, options)
    expect(seqsOf(third)).toEqual([1, 2, 3])
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(3)
    await third.close()
  })

  it('refuses a batch when full, keeping the oldest', async () => {
    const dir = fresh()
    const outbox = await Outbox.open(dir, { ...options, maxBatches: 3 })
    for (let i = 1; i <= 3; i++) await outbox.append(batch(i))
    expect(outbox.full).toBe(true)
    await expect(outbox.append(batch(4))).rejects.toBeInstanceOf(OutboxFullError)
    expect(seqsOf(outbox)).toEqual([1, 2, 3])
    await outbox.ack(1)
    expect(await outbox.append(batch(4))).toBe(4)
    await outbox.close()
  })

  it('compacts a mostly acknowledged journal and keeps what is pending', async () => {
    const dir = fresh()
    const outbox = await Outbox.open(dir, options)
    const big = {
      ...batch(0),
      readings: Array.from({ length: 2000 }, (_, i) => ({ p: `m${i}/kwh`, t: i, v: i, q: 'good' as const })),
    }
    for (let i = 0; i < 20; i++) await outbox.append(big)
    const before = statSync(join(dir, 'journal.log')).size
    await outbox.ack(19)
    expect(statSync(join(dir, 'journal.log')).size).toBeLessThan(before / 10)
    await outbox.close()
    const reopened = await Outbox.open(dir, options)
    expect(seqsOf(reopened)).toEqual([20])
    expect(await reopened.append(batch(1))).toBe(21)
    await reopened.close()
  })

  it('admits one owner of a directory at a time', async () => {
    const dir = fresh()
    const outbox = await Outbox.open(dir, options)
    await expect(Outbox.open(dir, options)).rejects.toBeInstanceOf(OutboxLockedError)
    await outbox.close()
  })

  it('marks each batch with the oldest seq still held', async () => {
    const outbox = await Outbox.open(fresh(), options)
    await outbox.append(batch(1))
    await outbox.append(batch(2))
    await outbox.ack(1)
    await outbox.append(batch(3, true))
    const last = parseBatch(outbox.pending().at(-1)!.bytes)
    expect(last.ok && [last.batch.seq, last.batch.oldest, last.batch.historical]).toEqual([3, 2, true])
    await outbox.close()
  })
})

describe('wire form of readings', () => {
  it('keeps a batch valid when a driver gives a very long reason', async () => {
    const { toWireReading } = await import('../protocol/wire-codec.ts')
    const outbox = await Outbox.open(fresh(), options)
    const reading = toWireReading({
      point: 'm1/kwh',
      ts: 1,
      value: null,
      quality: 'bad',
      reason: 'x'.repeat(5000),
    })
    expect(await outbox.append({ readings: [reading], events: [], historical: false })).toBe(1)
    await outbox.close()
  })
})
