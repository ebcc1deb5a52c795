import type { Writable } from 'node:stream'
import type { CommittedBatch } from '../ingest/ingest-service.ts'
import type { Quality } from '../store/database-schema.ts'

/** One committed reading as the live stream sends it (`event: reading`). */
export interface LiveReading {
  readonly pointId: string
  readonly deviceId: string
  /** The reading's own time (ISO 8601), not when it arrived. */
  readonly ts: string
  /** Exact decimal text as stored (booleans as 1/0); null for a text or missing value. */
  readonly value: string | null
  /** A value that is not a number (a state name). */
  readonly text: string | null
  readonly quality: Quality
  /** Replayed late from a disconnected gateway's outbox: older than what the client may show. */
  readonly historical: boolean
}

export interface LiveFilter {
  readonly estateId: string
  /** Only this device's points. */
  readonly deviceId?: string
}

type Listener = (readings: readonly LiveReading[]) => void

/**
 * Readings committed between `from` and `to` may not have reached this hub's streams: the
 * relay's connection to PostgreSQL was lost and is back (`to`). A client re-reads the latest
 * values (or reopens the stream for a fresh snapshot).
 */
export interface LiveGap {
  /** The last instant the relay was known to receive everything (ISO 8601). */
  readonly from: string
  /** When it listens again (ISO 8601). */
  readonly to: string
}

type GapListener = (gap: LiveGap) => void

/**
 * Where readings committed by other hubs come from (hub/timeseries/live-relay.ts): the feed
 * watches an estate while someone subscribes to it. `watch` resolves once readings committed
 * from then on will arrive (or at once when the source is down: its subscribers then get a gap).
 */
export interface LiveSource {
  watch(estateId: string): Promise<void>
  unwatch(estateId: string): void
}

interface Subscription {
  readonly filter: LiveFilter
  readonly listener: Listener
  readonly onGap: GapListener | undefined
}

const DECIMAL = /^[+-]?\d+(\.\d+)?$/

/** The stored value and text of one wire value, as hub/ingest/batch-writer.ts stores them. */
export function storedValue(v: unknown): { value: string | null; text: string | null } {
  if (v === null || v === undefined) return { value: null, text: null }
  if (typeof v === 'boolean') return { value: v ? '1' : '0', text: null }
  if (typeof v === 'number') return { value: String(v), text: null }
  const s = String(v)
  return DECIMAL.test(s) ? { value: s, text: null } : { value: null, text: s }
}

/** A committed batch's readings as the stream sends them. */
export function liveReadingsOf(committed: Pick<CommittedBatch, 'batch' | 'stored'>): LiveReading[] {
  const historical = committed.batch.historical
  return committed.stored.map((r) => ({
    pointId: r.point.id,
    deviceId: r.point.deviceId,
    ts: new Date(r.wire.t).toISOString(),
    ...storedValue(r.wire.v),
    quality: r.wire.q,
    historical,
  }))
}

/**
 * Committed readings fanned out to whoever listens (the live stream's connections), by estate
 * and optionally device. On one hub (PGlite) the ingest's after-commit hook publishes every
 * batch; with several hubs on PostgreSQL the relay delivers every hub's batches, this one's
 * included, from NOTIFY (docs/decisions/0015). A batch of an estate nobody watches costs a map
 * lookup. Listeners are called synchronously and must not block (they queue and write).
 */
export class LiveFeed {
  readonly #byEstate = new Map<string, Set<Subscription>>()
  /** Per watched estate: resolves when the source delivers its readings. */
  readonly #ready = new Map<string, Promise<void>>()
  #source: LiveSource | undefined

  /** Takes readings from `source` (the relay) for every estate watched now and later. */
  attach(source: LiveSource): void {
    this.#source = source
    for (const estateId of this.#byEstate.keys()) this.#ready.set(estateId, source.watch(estateId))
  }

  subscribe(filter: LiveFilter, listener: Listener, onGap?: GapListener): () => void {
    const subscription: Subscription = { filter, listener, onGap }
    let set = this.#byEstate.get(filter.estateId)
    if (!set) {
      set = new Set()
      this.#byEstate.set(filter.estateId, set)
      if (this.#source) this.#ready.set(filter.estateId, this.#source.watch(filter.estateId))
    }
    set.add(subscription)
    return () => {
      const current = this.#byEstate.get(filter.estateId)
      if (!current?.delete(subscription) || current.size > 0) return
      this.#byEstate.delete(filter.estateId)
      this.#ready.delete(filter.estateId)
      this.#source?.unwatch(filter.estateId)
    }
  }

  /** Resolves when readings of a subscribed estate committed from now on will be delivered. */
  ready(estateId: string): Promise<void> {
    return this.#ready.get(estateId) ?? Promise.resolve()
  }

  /** Estates someone subscribes to. */
  watchedEstates(): string[] {
    return [...this.#byEstate.keys()]
  }

  /** Open subscriptions, all estates (tests, metrics). */
  get size(): number {
    let n = 0
    for (const set of this.#byEstate.values()) n += set.size
    return n
  }

  /** The ingest's after-commit hook (one hub, no relay): must not throw or block. */
  publish(committed: Pick<CommittedBatch, 'gateway' | 'batch' | 'stored'>): void {
    if (committed.stored.length === 0 || !this.#byEstate.has(committed.gateway.estateId)) return
    this.deliver(committed.gateway.estateId, liveReadingsOf(committed))
  }

  /** Hands an estate's committed readings to its subscribers; must not throw or block. */
  deliver(estateId: string, readings: readonly LiveReading[]): void {
    const subscriptions = this.#byEstate.get(estateId)
    if (!subscriptions || readings.length === 0) return
    for (const s of [...subscriptions]) {
      const deviceId = s.filter.deviceId
      const mine = deviceId === undefined ? readings : readings.filter((r) => r.deviceId === deviceId)
      if (mine.length === 0) continue
      try {
        s.listener(mine)
      } catch {
        // A broken connection must not stop the others (nor the ingest that called us).
      }
    }
  }

  /** Tells every subscriber of these estates that readings may have been missed. */
  gap(estateIds: Iterable<string>, gap: LiveGap): void {
    for (const estateId of estateIds)
      for (const s of [...(this.#byEstate.get(estateId) ?? [])]) {
        try {
          s.onGap?.(gap)
        } catch {
          // as in deliver
        }
      }
  }
}

/** One Server-Sent Events frame: `event:` and one `data:` line of JSON. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * Writes SSE frames to one connection without letting a slow client grow the hub's memory:
 * while the stream wants a drain, frames wait in a queue of at most `maxQueued`; beyond that
 * the oldest waiting frame is dropped and counted, and the client is told how many it missed
 * (`event: dropped`) before the next frame that gets through. Comments (heartbeats) are only
 * written when nothing waits.
 */
export class BoundedSseWriter {
  readonly #out: Writable
  readonly #max: number
  readonly #queue: string[] = []
  #dropped = 0
  /** Frames dropped over the connection's life. */
  droppedTotal = 0
  #closed = false

  constructor(out: Writable, maxQueued: number) {
    this.#out = out
    this.#max = maxQueued
    out.on('drain', () => this.#flush())
  }

  get queued(): number {
    return this.#queue.length
  }

  event(event: string, data: unknown): void {
    if (this.#closed) return
    this.#queue.push(sseEvent(event, data))
    if (this.#queue.length > this.#max) {
      this.#queue.shift()
      this.#dropped += 1
      this.droppedTotal += 1
    }
    this.#flush()
  }

  /** An SSE comment line (`: text`): keeps proxies and the client's idle timer happy. */
  comment(text: string): void {
    if (this.#closed || this.#queue.length > 0 || this.#out.writableNeedDrain) return
    this.#out.write(`: ${text}\n\n`)
  }

  end(): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue.length = 0
    if (!this.#out.writableEnded) this.#out.end()
  }

  #flush(): void {
    while (!this.#closed && this.#queue.length > 0 && !this.#out.writableNeedDrain) {
      if (this.#dropped > 0) {
        const missed = this.#dropped
        this.#dropped = 0
        this.#out.write(sseEvent('dropped', { count: missed }))
        continue
      }
      this.#out.write(this.#queue.shift()!)
    }
  }
}
