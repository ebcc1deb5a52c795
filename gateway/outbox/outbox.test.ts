import { appendFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type BatchInput, Outbox, type OutboxOptions } from './outbox.ts'
import { OutboxFullError, OutboxInvalidBatchError, OutboxLockedError } from './outbox-errors.ts'

const opts: OutboxOptions = {
  maxBatches: 1_000,
  maxBytes: 64 * 1024 * 1024,
  gateway: 'gw-1',
  session: 's1',
  firstSeq: 1,
  now: () => 1_700_000_000_000,
}
const batch = (n: number, readings = 1): BatchInput => ({
  historical: false,
  events: [],
  readings: Array.from({ length: readings }, (_, i) => ({
    p: `m${n}/r${i}`,
    t: 1_700_000_000_000 + n,
    v: n,
    q: 'good' as const,
  })),
})
const newDir = () => join(mkdtempSync(join(tmpdir(), 'estatehub-outbox-')), 'outbox')
const seqs = (o: Outbox) => o.pending().map((b) => b.seq)
const journal = (dir: string) => join(dir, 'journal.log')

async function filled(dir: string, n: number, extra: Partial<OutboxOptions> = {}) {
  const outbox = await Outbox.open(dir, { ...opts, ...extra })
  for (let i = 1; i <= n; i++) await outbox.append(batch(i))
  return outbox
}

describe('Outbox', () => {
  it('assigns increasing seqs, keeps batches in order and drops them only on ack', async () => {
    const outbox = await filled(newDir(), 5)
    expect(seqs(outbox)).toEqual([1, 2, 3, 4, 5])
    const [first] = outbox.pending()
    expect(first).toMatchObject({
      v: 1,
      gateway: 'gw-1',
      session: 's1',
      seq: 1,
      oldest: 1,
      sentAt: 1_700_000_000_000,
    })
    expect(outbox.pending()[4]!.oldest).toBe(1) // nothing acked yet: the oldest held is 1
    expect(await outbox.ack(3)).toBe(3)
    expect(seqs(outbox)).toEqual([4, 5])
    expect(await outbox.ack(2)).toBe(0) // older ack: nothing to do
    expect(await outbox.append(batch(6))).toBe(6)
    expect(outbox.pending().at(-1)!.oldest).toBe(4)
    expect(outbox.entriesAfter(4, 10).map((e) => e.seq)).toEqual([5, 6])
    expect(outbox.countAfter(5)).toBe(1)
    await outbox.close()
  })

  it('keeps unacknowledged batches and continues the seq across a restart', async () => {
    const dir = newDir()
    const first = await filled(dir, 4)
    await first.ack(2)
    await first.close()
    const second = await Outbox.open(dir, opts)
    expect(seqs(second)).toEqual([3, 4])
    expect(second.recovery).toEqual({ pending: 2, tornBytes: 0, corruptRecords: 0, stateUnreadable: false })
    expect(await second.append(batch(5))).toBe(5)
    await second.close()
  })

  it('continues the seq even when everything was acked and the journal compacted away', async () => {
    const dir = newDir()
    const first = await filled(dir, 3, { compactMinBytes: 0 })
    await first.ack(3)
    expect(first.compactions).toBe(1)
    expect(statSync(journal(dir)).size).toBe(0)
    await first.close()
    const second = await Outbox.open(dir, { ...opts, firstSeq: 1 })
    expect(second.depth).toBe(0)
    expect(await second.append(batch(4))).toBe(4)
    await second.close()
  })

  it('starts a brand-new outbox at the clock, above any seq an earlier install could have used', async () => {
    const before = Date.now()
    const { firstSeq: _, ...noFirst } = opts
    const outbox = await Outbox.open(newDir(), noFirst)
    const seq = await outbox.append(batch(1))
    expect(seq).toBeGreaterThanOrEqual(before)
    expect(seq).toBeLessThanOrEqual(Date.now())
    await outbox.close()
  })

  it('drops a torn last record instead of half-reading it, and truncates it away', async () => {
    const dir = newDir()
    await (await filled(dir, 3)).close()
    const size = statSync(journal(dir)).size
    truncateSync(journal(dir), size - 10) // the third record loses its end (and its LF)
    const second = await Outbox.open(dir, opts)
    expect(seqs(second)).toEqual([1, 2])
    expect(second.recovery.tornBytes).toBeGreaterThan(0)
    // Seq 3 never resolved, so it is free again; the new record starts on a clean line.
    expect(await second.append(batch(33))).toBe(3)
    await second.close()
    const third = await Outbox.open(dir, opts)
    expect(third.pending().map((b) => b.readings[0]!.p)).toEqual(['m1/r0', 'm2/r0', 'm33/r0'])
    expect(third.recovery.tornBytes).toBe(0)
    await third.close()
  })

  it('skips a damaged record in the middle, counting it, and keeps the rest', async () => {
    const dir = newDir()
    await (await filled(dir, 3)).close()
    const lines = readFileSync(journal(dir), 'utf8').split('\n')
    lines[1] = lines[1]!.replace('"m2/r0"', '"m2/rX"') // one flipped byte: the CRC fails
    writeFileSync(journal(dir), lines.join('\n'))
    appendFileSync(journal(dir), 'garbage without an end')
    const second = await Outbox.open(dir, opts)
    expect(seqs(second)).toEqual([1, 3])
    expect(second.recovery).toMatchObject({ corruptRecords: 1, tornBytes: 22 })
    expect(await second.append(batch(4))).toBe(4)
    await second.close()
  })

  it('refuses a batch when full by count or by bytes, keeping the oldest and the seq', async () => {
    const outbox = await filled(newDir(), 3, { maxBatches: 3 })
    expect(outbox.full).toBe(true)
    const error = await outbox.append(batch(4)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutboxFullError)
    expect(error).toMatchObject({ code: 'EH_ERR_OUTBOX_FULL', depth: 3, maxBatches: 3 })
    expect(seqs(outbox)).toEqual([1, 2, 3])
    await outbox.ack(1)
    expect(outbox.full).toBe(false)
    expect(await outbox.append(batch(4))).toBe(4) // no seq was burnt by the refusal
    await outbox.close()

    const bytes = await Outbox.open(newDir(), { ...opts, maxBytes: 600 })
    await bytes.append(batch(1))
    await expect(bytes.append(batch(2, 10))).rejects.toBeInstanceOf(OutboxFullError)
    expect(bytes.bytes).toBeLessThanOrEqual(600)
    await bytes.close()
  })

  it('compacts a mostly acknowledged journal, and the result survives a restart', async () => {
    const dir = newDir()
    const outbox = await filled(dir, 10, { compactMinBytes: 1 })
    const before = statSync(journal(dir)).size
    await outbox.ack(4) // 4 of 10 acked: not yet half the file
    expect(outbox.compactions).toBe(0)
    await outbox.ack(7)
    expect(outbox.compactions).toBe(1)
    expect(statSync(journal(dir)).size).toBe(outbox.bytes)
    expect(statSync(journal(dir)).size).toBeLessThan(before / 2)
    expect(await outbox.append(batch(11))).toBe(11)
    await outbox.close()
    writeFileSync(`${journal(dir)}.tmp`, 'a compaction cut short by a crash')
    const again = await Outbox.open(dir, opts)
    expect(seqs(again)).toEqual([8, 9, 10, 11])
    await again.close()
  })

  it('refuses an ack beyond the last seq and a batch the hub would refuse', async () => {
    const outbox = await filled(newDir(), 2)
    await expect(outbox.ack(3)).rejects.toThrow(/beyond the last batch/)
    await expect(outbox.ack(0)).rejects.toThrow(RangeError)
    await expect(outbox.append({ ...batch(3), gateway: 'bad/id' })).rejects.toBeInstanceOf(
      OutboxInvalidBatchError,
    )
    expect(seqs(outbox)).toEqual([1, 2])
    await outbox.close()
  })

  it('treats an unreadable state file as nothing acked: resend, never lose', async () => {
    const dir = newDir()
    const first = await filled(dir, 3)
    await first.ack(2)
    await first.close()
    writeFileSync(join(dir, 'state.json'), '{"v":1,"ack')
    const second = await Outbox.open(dir, opts)
    expect(seqs(second)).toEqual([1, 2, 3])
    expect(second.recovery.stateUnreadable).toBe(true)
    await second.close()
  })

  it('lets one Outbox at a time use a directory', async () => {
    const dir = newDir()
    const first = await Outbox.open(dir, opts)
    await expect(Outbox.open(dir, opts)).rejects.toBeInstanceOf(OutboxLockedError)
    await first.close()
    await first.close() // twice is fine
    await expect(first.append(batch(1))).rejects.toThrow(/closed/)
    await (await Outbox.open(dir, opts)).close()
  })
})
