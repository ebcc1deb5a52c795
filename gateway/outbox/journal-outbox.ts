import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import type { UplinkBatch, WireEvent, WireReading } from '../protocol/batch-schema.ts'
import { encodeBatch, parseBatch } from '../protocol/batch-schema.ts'
import { crc32 } from './crc32.ts'
import { OutboxFullError, OutboxInvalidBatchError, OutboxLockedError } from './outbox-errors.ts'

export interface JournalOutboxOptions {
  readonly gateway: string
  readonly session: string
  readonly maxBatches: number
  readonly maxBytes: number
}

export interface NewBatch {
  readonly readings: readonly WireReading[]
  readonly events: readonly WireEvent[]
  readonly historical: boolean
}

interface Held {
  readonly seq: number
  readonly bytes: Buffer
}

/**
 * The gateway's durable outbox: a journal on disk of sealed batches, one line each
 * (`<crc32 hex> <json>`), fsynced before `append` resolves; a batch leaves only when the hub
 * has acknowledged it (`ack`). After a crash the journal is read back: a torn last line fails
 * its CRC and is dropped, never half-read. The acknowledged mark lives in a small state file
 * replaced atomically (write, fsync, rename), and seq numbers continue past the highest ever
 * issued, so the hub's de-duplication by (gateway, seq) stays right across restarts.
 */
export class JournalOutbox {
  readonly #dir: string
  readonly #options: JournalOutboxOptions
  #held: Held[] = []
  #bytes = 0
  #acked = 0
  #nextSeq = 1
  #journalFd: number
  #journalBytes = 0
  #queue: Promise<unknown> = Promise.resolve()

  private constructor(dir: string, options: JournalOutboxOptions, fd: number) {
    this.#dir = dir
    this.#options = options
    this.#journalFd = fd
  }

  static async open(dir: string, options: JournalOutboxOptions): Promise<JournalOutbox> {
    mkdirSync(dir, { recursive: true })
    lock(dir)
    const journal = join(dir, 'journal.log')
    const state = readState(dir)
    const { records, validBytes } = readJournal(journal)
    // Cut a torn tail so the next append starts on a clean line.
    if (existsSync(journal)) truncateTo(journal, validBytes)
    const fd = openSync(journal, 'a')
    const outbox = new JournalOutbox(dir, options, fd)
    outbox.#acked = state.acked
    outbox.#journalBytes = validBytes
    let highest = state.acked
    for (const record of records) {
      highest = Math.max(highest, record.seq)
      if (record.seq > state.acked) outbox.#held.push(record)
    }
    outbox.#held.sort((a, b) => a.seq - b.seq)
    outbox.#bytes = outbox.#held.reduce((n, h) => n + h.bytes.length, 0)
    outbox.#nextSeq = highest + 1
    return outbox
  }

  get depth(): number {
    return this.#held.length
  }
  get bytes(): number {
    return this.#bytes
  }
  get full(): boolean {
    return this.#held.length >= this.#options.maxBatches || this.#bytes >= this.#options.maxBytes
  }
  get ackedSeq(): number {
    return this.#acked
  }

  /** Seals a batch with the next seq and stores it durably; resolves with its seq. */
  append(batch: NewBatch): Promise<number> {
    return this.#serial(() => {
      const seq = this.#nextSeq
      const sealed: UplinkBatch = {
        v: 1,
        gateway: this.#options.gateway,
        session: this.#options.session,
        seq,
        oldest: this.#held[0]?.seq ?? seq,
        sentAt: Date.now(),
        historical: batch.historical,
        readings: [...batch.readings],
        events: [...batch.events],
      }
      const bytes = encodeBatch(sealed)
      const checked = parseBatch(bytes)
      if (!checked.ok) throw new OutboxInvalidBatchError(checked.error)
      const { maxBatches, maxBytes } = this.#options
      if (this.#held.length + 1 > maxBatches || this.#bytes + bytes.length > maxBytes) {
        throw new OutboxFullError(this.#held.length, this.#bytes, maxBatches, maxBytes)
      }
      const line = Buffer.concat([
        Buffer.from(`${crc32(bytes).toString(16).padStart(8, '0')} `),
        bytes,
        Buffer.from('\n'),
      ])
      writeSync(this.#journalFd, line)
      fsyncSync(this.#journalFd)
      this.#journalBytes += line.length
      this.#nextSeq = seq + 1
      this.#held.push({ seq, bytes })
      this.#bytes += bytes.length
      return seq
    })
  }

  /** Batches waiting for the hub, oldest first, as the bytes to publish. */
  pending(): readonly { readonly seq: number; readonly bytes: Buffer }[] {
    return this.#held
  }

  /** The hub committed every batch up to `seq`: forget them, durably. */
  ack(seq: number): Promise<void> {
    return this.#serial(() => {
      if (seq <= this.#acked) return
      this.#acked = Math.min(seq, this.#nextSeq - 1)
      writeState(this.#dir, this.#acked)
      while (this.#held[0] && this.#held[0].seq <= this.#acked)
        this.#bytes -= this.#held.shift()!.bytes.length
      // Rewrite the journal once it is mostly acknowledged, so it does not grow forever.
      if (this.#journalBytes > 1_048_576 && this.#bytes < this.#journalBytes / 4) this.#compact()
    })
  }

  async close(): Promise<void> {
    await this.#queue.catch(() => {})
    closeSync(this.#journalFd)
    rmSync(join(this.#dir, 'outbox.lock'), { force: true })
  }

  #compact() {
    const journal = join(this.#dir, 'journal.log')
    const temp = `${journal}.tmp`
    const fd = openSync(temp, 'w')
    let size = 0
    for (const held of this.#held) {
      const line = Buffer.concat([
        Buffer.from(`${crc32(held.bytes).toString(16).padStart(8, '0')} `),
        held.bytes,
        Buffer.from('\n'),
      ])
      writeSync(fd, line)
      size += line.length
    }
    fsyncSync(fd)
    closeSync(fd)
    closeSync(this.#journalFd)
    renameSync(temp, journal)
    syncDir(this.#dir)
    this.#journalFd = openSync(journal, 'a')
    this.#journalBytes = size
  }

  #serial<T>(work: () => T): Promise<T> {
    const run = this.#queue.catch(() => {}).then(work)
    this.#queue = run
    return run
  }
}

function readJournal(path: string): { records: Held[]; validBytes: number } {
  if (!existsSync(path)) return { records: [], validBytes: 0 }
  const data = readFileSync(path)
  const records: Held[] = []
  let offset = 0
  while (offset < data.length) {
    const end = data.indexOf(0x0a, offset)
    if (end < 0) break // torn last line: no newline yet
    const line = data.subarray(offset, end)
    const crc = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16)
    const bytes = Buffer.from(line.subarray(9))
    if (line[8] !== 0x20 || crc !== crc32(bytes)) break // torn or damaged: nothing after it is trusted
    const parsed = parseBatch(bytes)
    if (!parsed.ok) break
    records.push({ seq: parsed.batch.seq, bytes })
    offset = end + 1
  }
  return { records, validBytes: offset }
}

function truncateTo(path: string, length: number) {
  const fd = openSync(path, 'r+')
  try {
    // Cut through the fd, then make the shorter file durable.
    ftruncateSync(fd, length)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function readState(dir: string): { acked: number } {
  const path = join(dir, 'acked.json')
  if (!existsSync(path)) return { acked: 0 }
  const value = JSON.parse(readFileSync(path, 'utf8')) as { acked?: unknown }
  return { acked: typeof value.acked === 'number' && Number.isSafeInteger(value.acked) ? value.acked : 0 }
}

function writeState(dir: string, acked: number) {
  const path = join(dir, 'acked.json')
  const temp = `${path}.tmp`
  const fd = openSync(temp, 'w')
  writeSync(fd, JSON.stringify({ acked }))
  fsyncSync(fd)
  closeSync(fd)
  renameSync(temp, path)
  syncDir(dir)
}

function syncDir(dir: string) {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function lock(dir: string) {
  const path = join(dir, 'outbox.lock')
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8'))
    if (pid && isAlive(pid)) throw new OutboxLockedError(dir, pid)
    rmSync(path, { force: true })
  }
  const fd = openSync(path, 'wx')
  writeSync(fd, String(process.pid))
  closeSync(fd)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
