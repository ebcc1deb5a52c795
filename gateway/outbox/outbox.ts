import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeBatch, MAX_BATCH_BYTES, parseBatch, type UplinkBatch } from '../contract/batch-schema.ts'
import { acquireLock, fsyncDir, replaceFileDurably, writeAll } from './durable-file.ts'
import { encodeRecord, type JournalRecord, scanJournal } from './journal-record.ts'
import { OutboxBrokenError, OutboxFullError, OutboxInvalidBatchError } from './outbox-errors.ts'
import { type CheckedOptions, checkOptions, JOURNAL_FILE, readState, STATE_FILE } from './outbox-state.ts'
import type { BatchInput, OutboxEntry, OutboxOptions, OutboxRecovery } from './outbox-types.ts'

export type {
  BatchInput,
  OutboxEntry,
  OutboxOptions,
  OutboxRecovery,
  UnsequencedBatch,
} from './outbox-types.ts'

/**
 * The gateway's store-and-forward queue: an append-only journal of batches plus a small state
 * file with the highest seq the hub acknowledged. A batch is durable (fsynced) before append()
 * resolves and leaves only through ack(); the state file is replaced atomically, so a kill at
 * any instant leaves either the old or the new acked seq — at worst a batch is sent twice,
 * which the hub de-duplicates by seq. All mutations run one at a time, in call order.
 */
export class Outbox {
  readonly dir: string
  readonly recovery: OutboxRecovery
  readonly #opts: CheckedOptions
  readonly #release: () => Promise<void>
  #fh: FileHandle
  #fileSize: number
  #entries: JournalRecord[]
  #head = 0
  #bytes: number
  #lastSeq: number
  #ackedSeq: number
  #compactions = 0
  #queue: Promise<unknown> = Promise.resolve()
  #broken: OutboxBrokenError | undefined
  #closed = false

  private constructor(dir: string, opts: CheckedOptions, init: OutboxInit) {
    this.dir = dir
    this.#opts = opts
    this.#release = init.release
    this.#fh = init.fh
    this.#fileSize = init.fileSize
    this.#entries = init.entries
    this.#bytes = init.entries.reduce((sum, e) => sum + e.line.length, 0)
    this.#lastSeq = init.lastSeq
    this.#ackedSeq = init.ackedSeq
    this.recovery = init.recovery
  }

  static async open(dir: string, options: OutboxOptions): Promise<Outbox> {
    const opts = checkOptions(options)
    await mkdir(dir, { recursive: true })
    const release = await acquireLock(dir)
    try {
      const journal = join(dir, JOURNAL_FILE)
      await rm(`${journal}.tmp`, { force: true }) // a compaction cut short: the old journal stands
      const state = await readState(join(dir, STATE_FILE))
      const scan = await scanJournal(journal, MAX_BATCH_BYTES + 64)
      const acked = state.acked
      const entries: JournalRecord[] = []
      let corrupt = scan.corrupt
      let maxSeq = Math.max(acked, state.lastSeq)
      for (const record of scan.records) {
        // Seqs only grow in the journal; one that does not is damage that slipped past the CRC.
        if (record.seq <= (entries.at(-1)?.seq ?? 0)) corrupt++
        else if (record.seq > acked) entries.push(record)
        maxSeq = Math.max(maxSeq, record.seq)
      }
      const fresh = !state.existed && scan.records.length === 0
      const lastSeq = fresh ? opts.firstSeq - 1 : maxSeq
      const fh = await open(journal, 'a')
      if (scan.tornBytes > 0) {
        await fh.truncate(scan.goodBytes)
        await fh.datasync()
      }
      if (!scan.existed) await fsyncDir(dir)
      const recovery = {
        pending: entries.length,
        tornBytes: scan.tornBytes,
        corruptRecords: corrupt,
        stateUnreadable: state.unreadable,
      }
      return new Outbox(dir, opts, {
        release,
        fh,
        fileSize: scan.goodBytes,
        entries,
        lastSeq,
        ackedSeq: acked,
        recovery,
      })
    } catch (error) {
      await release()
      throw error
    }
  }

  /** Batches waiting for the hub's ack. */
  get depth(): number {
    return this.#entries.length - this.#head
  }
  /** Bytes of the pending records on disk. */
  get bytes(): number {
    return this.#bytes
  }
  get full(): boolean {
    return this.depth >= this.#opts.maxBatches || this.#bytes >= this.#opts.maxBytes
  }
  /** The last seq handed out (persisted: it survives restarts even when everything was acked). */
  get lastSeq(): number {
    return this.#lastSeq
  }
  get ackedSeq(): number {
    return this.#ackedSeq
  }
  get oldestSeq(): number | undefined {
    return this.#entries[this.#head]?.seq
  }
  get compactions(): number {
    return this.#compactions
  }

  /**
   * Assigns the next seq, makes the batch durable (fsync), then resolves with its seq.
   * Rejects with OutboxFullError (nothing written, seq not used) when at a limit, and with
   * OutboxInvalidBatchError for a batch the hub would refuse.
   */
  append(batch: BatchInput): Promise<number> {
    return this.#serial(async () => {
      const seq = this.#lastSeq + 1
      const sealed: UplinkBatch = {
        v: 1,
        gateway: batch.gateway ?? this.#opts.gateway ?? '',
        session: batch.session ?? this.#opts.session ?? '',
        seq,
        oldest: this.oldestSeq ?? seq,
        sentAt: batch.sentAt ?? this.#opts.now(),
        historical: batch.historical,
        readings: batch.readings,
        events: batch.events,
      }
      const payload = encodeBatch(sealed)
      const record = encodeRecord(seq, payload)
      const { maxBatches, maxBytes } = this.#opts
      if (this.depth + 1 > maxBatches || this.#bytes + record.line.length > maxBytes)
        throw new OutboxFullError(this.depth, this.#bytes, maxBatches, maxBytes)
      // A batch the hub would refuse would never be acked and would block every later one.
      const check = parseBatch(payload)
      if (!check.ok) throw new OutboxInvalidBatchError(check.error)
      await this.#appendLine(record.line)
      this.#entries.push(record)
      this.#bytes += record.line.length
      this.#lastSeq = seq
      return seq
    })
  }

  /** Pending batches in seq order, decoded (for inspection and tests; the uplink uses entriesAfter). */
  pending(): readonly UplinkBatch[] {
    return this.#entries.slice(this.#head).map((e) => JSON.parse(e.payload.toString('utf8')) as UplinkBatch)
  }

  /** Up to `limit` pending entries with seq > afterSeq, in order. */
  entriesAfter(afterSeq: number, limit: number): readonly OutboxEntry[] {
    const from = this.#indexAfter(afterSeq)
    return this.#entries.slice(from, from + Math.max(0, limit))
  }

  /** How many pending entries have seq > afterSeq. */
  countAfter(afterSeq: number): number {
    return this.#entries.length - this.#indexAfter(afterSeq)
  }

  #indexAfter(seq: number): number {
    let lo = this.#head
    let hi = this.#entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#entries[mid]!.seq <= seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * The hub committed every batch with seq ≤ `seq`: record that durably, then forget them.
   * Resolves with how many were dropped. An ack beyond the last seq handed out is refused
   * (RangeError): believing it would drop batches the hub never saw.
   */
  ack(seq: number): Promise<number> {
    return this.#serial(async () => {
      if (!Number.isSafeInteger(seq) || seq < 1)
        throw new RangeError(`ack seq must be a positive integer: ${seq}`)
      if (seq <= this.#ackedSeq) return 0
      if (seq > this.#lastSeq)
        throw new RangeError(`ack ${seq} is beyond the last batch sealed here (${this.#lastSeq})`)
      const state = { v: 1, acked: seq, lastSeq: this.#lastSeq }
      await replaceFileDurably(join(this.dir, STATE_FILE), Buffer.from(JSON.stringify(state)))
      this.#ackedSeq = seq
      const before = this.#head
      while (this.#head < this.#entries.length && this.#entries[this.#head]!.seq <= seq)
        this.#bytes -= this.#entries[this.#head++]!.line.length
      if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
        this.#entries = this.#entries.slice(this.#head)
        this.#head = 0
      }
      const garbage = this.#fileSize - this.#bytes
      if (garbage >= this.#opts.compactMinBytes && garbage >= this.#bytes && garbage > 0)
        await this.#compact()
      return this.#head - before
    })
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      this.#closed = true
      try {
        await this.#fh.close()
      } finally {
        await this.#release()
      }
    }, true)
  }

  #serial<T>(fn: () => Promise<T>, closing = false): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) {
        if (closing) return undefined as T
        throw new Error(`outbox ${this.dir} is closed`)
      }
      if (this.#broken && !closing) throw this.#broken
      return fn()
    })
    this.#queue = run.catch(() => {})
    return run
  }

  async #appendLine(line: Buffer): Promise<void> {
    const before = this.#fileSize
    try {
      await writeAll(this.#fh, line)
    } catch (error) {
      // A partial line (ENOSPC) would glue itself to the next record: cut it off again.
      try {
        await this.#fh.truncate(before)
        await this.#fh.datasync()
      } catch {
        this.#broken = new OutboxBrokenError(`outbox ${this.dir}: append failed and could not be undone`, {
          cause: error,
        })
      }
      throw error
    }
    try {
      await this.#fh.datasync()
    } catch (error) {
      // After a failed fsync the kernel may have dropped the dirty pages and cleared the error:
      // nothing more written through this handle can be trusted (PostgreSQL's "fsyncgate").
      this.#broken = new OutboxBrokenError(`outbox ${this.dir}: fsync failed`, { cause: error })
      throw this.#broken
    }
    this.#fileSize = before + line.length
  }

  /** Rewrites the journal with the pending records only; a crash leaves the old or the new one. */
  async #compact(): Promise<void> {
    const journal = join(this.dir, JOURNAL_FILE)
    const live = this.#entries.slice(this.#head)
    const tmp = await open(`${journal}.tmp`, 'w')
    try {
      for (const e of live) await writeAll(tmp, e.line)
      await tmp.datasync()
    } finally {
      await tmp.close()
    }
    await rename(`${journal}.tmp`, journal)
    try {
      await fsyncDir(this.dir)
      await this.#fh.close()
      this.#fh = await open(journal, 'a')
    } catch (error) {
      this.#broken = new OutboxBrokenError(`outbox ${this.dir}: journal reopen after compaction failed`, {
        cause: error,
      })
      throw this.#broken
    }
    this.#entries = live
    this.#head = 0
    this.#fileSize = this.#bytes
    this.#compactions++
  }
}

interface OutboxInit {
  readonly release: () => Promise<void>
  readonly fh: FileHandle
  readonly fileSize: number
  readonly entries: JournalRecord[]
  readonly lastSeq: number
  readonly ackedSeq: number
  readonly recovery: OutboxRecovery
}
