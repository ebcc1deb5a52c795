import { sql } from 'kysely'
import pg from 'pg'
import type { InCommitHook, MarkMove, StoredReading } from '../ingest/batch-writer.ts'
import type { Quality } from '../store/database-schema.ts'
import { type LiveFeed, type LiveReading, type LiveSource, storedValue } from './live-feed.ts'

/**
 * The live stream across hubs (docs/decisions/0015-live-values-across-hubs.md): each batch's
 * readings go out as PostgreSQL NOTIFY on its estate's channel inside the batch's transaction,
 * so they are delivered exactly when (and only if) the batch commits, in commit order; every
 * hub LISTENs, on one connection of its own, to the estates its streams watch.
 */

/** PostgreSQL refuses a payload of 8,000 bytes or more; this leaves room to spare. */
export const LIVE_PAYLOAD_LIMIT = 7_900

/** Above this share of PostgreSQL's notification queue, batches commit without their NOTIFY. */
export const LIVE_QUEUE_CEILING = 0.5

/**
 * The advisory lock class (two-int form; late fees use 1304) whose key per estate tells a
 * committing hub that someone listens: each relay holds it shared, on its listener connection,
 * for every estate it watches.
 */
export const LIVE_WATCH_LOCK = 1501

/** The application_name of the listener connection (pg_stat_activity). */
export const LIVE_RELAY_APPLICATION = 'estatehub-live-relay'

/** The NOTIFY channel of an estate's readings. */
export function liveChannel(estateId: string): string {
  return `eh_live_${estateId.replaceAll('-', '').toLowerCase()}`
}

/** One reading in a payload: device index into `d`, point id, ts (epoch ms), value, text, quality. */
type WireLiveReading = [number, string, number, string | null, string | null, Quality]

/** One NOTIFY payload (version 1): `i` its index within the batch, `h` historical, `d` device ids. */
interface LivePayload {
  readonly v: 1
  readonly i: number
  readonly h: boolean
  readonly d: string[]
  readonly r: WireLiveReading[]
}

/** One reading as the sender has it: `LiveReading` with its instant in epoch ms. */
export interface LiveRow {
  readonly deviceId: string
  readonly pointId: string
  readonly t: number
  readonly value: string | null
  readonly text: string | null
  readonly quality: Quality
}

/** A committed batch's readings as payload rows (no date formatting on the commit's path). */
export function liveRowsOf(stored: readonly StoredReading[]): LiveRow[] {
  return stored.map((r) => ({
    deviceId: r.point.deviceId,
    pointId: r.point.id,
    t: r.wire.t,
    ...storedValue(r.wire.v),
    quality: r.wire.q,
  }))
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')
/** `{"v":1,"i":…,"h":false,"d":[],"r":[]}` with a six-digit index, rounded up. */
const ENVELOPE_BYTES = 64

/**
 * A batch's readings as NOTIFY payloads of at most `limit` bytes each, in reading order. A
 * reading always fits (a text value is at most 1,024 characters, 6,144 bytes escaped); one that
 * did not would be left out and counted in `omitted` rather than fail the batch.
 */
export function encodeLivePayloads(
  readings: readonly LiveRow[],
  historical: boolean,
  limit = LIVE_PAYLOAD_LIMIT,
): { payloads: string[]; omitted: number } {
  const chunks: { devices: Map<string, number>; rows: string[] }[] = []
  let current = { devices: new Map<string, number>(), rows: [] as string[] }
  let bytes = ENVELOPE_BYTES
  let omitted = 0
  // Ids are UUIDs, values decimals, qualities words: only the text needs JSON escaping, and a
  // row without one is ASCII, so its length is its size (this runs inside the commit).
  const rowOf = (r: LiveRow, deviceIndex: number) =>
    `[${deviceIndex},"${r.pointId}",${r.t},${r.value === null ? 'null' : `"${r.value}"`},${
      r.text === null ? 'null' : JSON.stringify(r.text)
    },"${r.quality}"]`
  for (const r of readings) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const known = current.devices.get(r.deviceId)
      const deviceIndex = known ?? current.devices.size
      const row = rowOf(r, deviceIndex)
      const cost =
        (r.text === null ? row.length : utf8(row)) + 1 + (known === undefined ? r.deviceId.length + 3 : 0)
      if (bytes + cost <= limit) {
        if (known === undefined) current.devices.set(r.deviceId, deviceIndex)
        current.rows.push(row)
        bytes += cost
        break
      }
      if (current.rows.length === 0) {
        omitted += 1 // alone too big: cannot happen within the wire contract's limits
        break
      }
      chunks.push(current)
      current = { devices: new Map(), rows: [] }
      bytes = ENVELOPE_BYTES
    }
  }
  if (current.rows.length > 0) chunks.push(current)
  const payloads = chunks.map(
    (c, i) =>
      `{"v":1,"i":${i},"h":${historical},"d":${JSON.stringify([...c.devices.keys()])},"r":[${c.rows.join(',')}]}`,
  )
  return { payloads, omitted }
}

/** A payload back into readings; undefined when it is not one this version reads. */
export function decodeLivePayload(payload: string): LiveReading[] | undefined {
  let parsed: LivePayload
  try {
    parsed = JSON.parse(payload) as LivePayload
  } catch {
    return undefined
  }
  if (parsed?.v !== 1 || !Array.isArray(parsed.r) || !Array.isArray(parsed.d)) return undefined
  const readings: LiveReading[] = []
  for (const [device, pointId, ts, value, text, quality] of parsed.r) {
    const deviceId = parsed.d[device]
    if (deviceId === undefined) return undefined
    readings.push({
      pointId,
      deviceId,
      ts: new Date(ts).toISOString(),
      value,
      text,
      quality,
      historical: parsed.h === true,
    })
  }
  return readings
}

export interface LiveNotifyLog {
  warn(fields: object, message: string): void
}

/**
 * The in-commit hook that sends a batch's readings as NOTIFY, when some hub watches its estate:
 * the batch first tries the estate's watch lock exclusively for the rest of its transaction.
 * Taken means no relay holds it shared, so nobody listens: nothing is encoded or sent, and the
 * commit does not queue for PostgreSQL's cluster-wide NOTIFY lock. A relay that starts
 * watching meanwhile waits for this commit before its stream reads the snapshot, which then
 * has the batch. Otherwise one statement whatever the batch's size; skipped (and said, at most
 * once a minute) while the notification queue is over LIVE_QUEUE_CEILING full, since a full
 * queue fails every notifying commit: a stalled listener must cost live values, never ingest.
 */
export function liveNotifyHook(log: LiveNotifyLog): InCommitHook {
  let lastWarned = 0
  return async (trx, move: MarkMove) => {
    if (move.batch === undefined || move.stored.length === 0) return
    const unwatched = await sql<{ taken: boolean }>`select pg_try_advisory_xact_lock(${LIVE_WATCH_LOCK}::int,
        hashtext(${move.gateway.estateId}::text)) as taken`.execute(trx)
    if (unwatched.rows[0]?.taken === true) return
    const { payloads, omitted } = encodeLivePayloads(liveRowsOf(move.stored), move.batch.historical)
    if (omitted > 0)
      log.warn(
        { gateway: move.gateway.code, seq: move.seq, omitted },
        'live relay: readings too big to notify',
      )
    if (payloads.length === 0) return
    const channel = liveChannel(move.gateway.estateId)
    // The volatile pg_notify in the subquery's target list is evaluated for every row (PostgreSQL
    // keeps volatile outputs), in unnest's order.
    const { rows } = await sql<{ sent: number }>`select count(*)::int as sent from (
        select pg_notify(${channel}, p) from unnest(${payloads}::text[]) as p
        where pg_notification_queue_usage() < ${LIVE_QUEUE_CEILING}) as n`.execute(trx)
    if ((rows[0]?.sent ?? 0) === 0 && Date.now() - lastWarned > 60_000) {
      lastWarned = Date.now()
      log.warn(
        { gateway: move.gateway.code, seq: move.seq },
        'live relay: the NOTIFY queue is over half full (a listener is not reading?): live values skipped',
      )
    }
  }
}

export interface LiveRelayLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

export interface LiveRelayOptions {
  /** The PostgreSQL URL the store uses. */
  readonly url: string
  readonly feed: LiveFeed
  readonly log: LiveRelayLog
  /** First reconnect delay; doubles up to maxBackoffMs (with jitter). Default 250 ms. */
  readonly backoffMs?: number
  readonly maxBackoffMs?: number
  /** How often an idle listener proves its connection (`select 1`); default 30 s. */
  readonly probeMs?: number
  readonly connectTimeoutMs?: number
}

const quoted = (channel: string) => `"${channel}"`

/**
 * The listening side: one pg Client outside the store's pool (LISTEN holds its connection),
 * LISTENing to the channel of each estate the feed watches, handing what arrives to the feed
 * synchronously (nothing is queued here: a slow client is bounded by its own stream's writer).
 * When the connection is lost (the server ended it, the probe failed) it reconnects with
 * backoff, LISTENs again, and tells every watching stream that it may have missed readings.
 */
export class LiveRelay implements LiveSource {
  readonly #o: LiveRelayOptions
  readonly #feed: LiveFeed
  /** Channel → estate, for every estate the feed watches. */
  readonly #channels = new Map<string, string>()
  #client: pg.Client | undefined
  #connected = false
  #closed = false
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  #probe: NodeJS.Timeout | undefined
  /** The listener connection's commands, one after another (pg 9 will not queue them itself). */
  #chain: Promise<void> = Promise.resolve()
  /** Set while not listening: the last instant everything was received. */
  #downSince: number | undefined = Date.now()
  #lastAlive = Date.now()
  /** Reconnections so far (tests, logs). */
  reconnects = 0

  constructor(options: LiveRelayOptions) {
    this.#o = options
    this.#feed = options.feed
  }

  /** Attaches to the feed and connects; never throws (a failed connect is retried). */
  start(): void {
    this.#feed.attach(this)
    void this.#connect()
  }

  get listening(): boolean {
    return this.#connected
  }

  /**
   * LISTENs, then holds the estate's watch lock shared: from then on every committing hub sends
   * the estate's batches. Taking the lock waits for a batch that found it free to commit.
   */
  watch(estateId: string): Promise<void> {
    const channel = liveChannel(estateId)
    this.#channels.set(channel, estateId)
    return this.#serial(async (client) => {
      await client.query(`listen ${quoted(channel)}`)
      await client.query('select pg_advisory_lock_shared($1::int, hashtext($2::text))', [
        LIVE_WATCH_LOCK,
        estateId,
      ])
    })
  }

  unwatch(estateId: string): void {
    const channel = liveChannel(estateId)
    this.#channels.delete(channel)
    void this.#serial(async (client) => {
      await client.query(`unlisten ${quoted(channel)}`)
      await client.query('select pg_advisory_unlock_shared($1::int, hashtext($2::text))', [
        LIVE_WATCH_LOCK,
        estateId,
      ])
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    clearInterval(this.#probe)
    const client = this.#client
    this.#client = undefined
    this.#connected = false
    await client?.end().catch(() => {})
  }

  /**
   * Runs `work` on the connection after the commands before it, when connected (otherwise the
   * next connect covers it); a failure counts as a lost connection. Never rejects.
   */
  #serial(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
    const client = this.#client
    if (!this.#connected || client === undefined) return Promise.resolve()
    const next = this.#chain.then(async () => {
      if (client !== this.#client) return
      try {
        await work(client)
      } catch (error) {
        this.#lost(client, error as Error)
      }
    })
    this.#chain = next
    return next
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({
      connectionString: this.#o.url,
      application_name: LIVE_RELAY_APPLICATION,
      connectionTimeoutMillis: this.#o.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    })
    this.#client = client
    client.on('error', (error) => this.#lost(client, error))
    client.on('end', () => this.#lost(client, new Error('connection ended')))
    client.on('notification', (message) => {
      if (client !== this.#client) return
      this.#lastAlive = Date.now()
      const estateId = this.#channels.get(message.channel)
      if (estateId === undefined || message.payload === undefined) return
      const readings = decodeLivePayload(message.payload)
      if (readings) this.#feed.deliver(estateId, readings)
    })
    try {
      await client.connect()
    } catch (error) {
      this.#lost(client, error as Error)
      return
    }
    if (client !== this.#client || this.#closed) return
    // Connected before the LISTENs: an estate watched from now on queues its own behind these.
    this.#connected = true
    this.#chain = Promise.resolve()
    const channels = [...this.#channels.keys()]
    const estates = [...this.#channels.values()]
    await this.#serial(async (c) => {
      if (channels.length === 0) return
      // Two round trips whatever the number of watched estates (the simple protocol takes several statements).
      await c.query(channels.map((channel) => `listen ${quoted(channel)}`).join('; '))
      await c.query('select pg_advisory_lock_shared($1::int, hashtext(e)) from unnest($2::text[]) as e', [
        LIVE_WATCH_LOCK,
        estates,
      ])
    })
    if (client !== this.#client || !this.#connected) return
    this.#attempt = 0
    const now = Date.now()
    this.#lastAlive = now
    const downSince = this.#downSince
    this.#downSince = undefined
    // Streams that watched while nothing listened (the first connect included) may have missed some.
    if (downSince !== undefined && this.#channels.size > 0) {
      this.#feed.gap(this.#channels.values(), {
        from: new Date(downSince).toISOString(),
        to: new Date(now).toISOString(),
      })
    }
    if (this.reconnects > 0) this.#o.log.info({ estates: channels.length }, 'live relay: listening again')
    const probeMs = this.#o.probeMs ?? 30_000
    clearInterval(this.#probe)
    this.#probe = setInterval(() => void this.#prove(client), probeMs)
    this.#probe.unref()
  }

  /** A `select 1` within 10 s, or the connection counts as lost (a cut link sends no error). */
  #prove(client: pg.Client): Promise<void> {
    if (client !== this.#client) return Promise.resolve()
    return this.#serial(async (c) => {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          c.query('select 1'),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('probe: no answer within 10 s')), 10_000)
          }),
        ])
        this.#lastAlive = Date.now()
      } finally {
        clearTimeout(timer)
      }
    })
  }

  #lost(client: pg.Client, error: Error): void {
    if (client !== this.#client || this.#closed) return
    this.#client = undefined
    const wasConnected = this.#connected
    this.#connected = false
    clearInterval(this.#probe)
    if (this.#downSince === undefined) this.#downSince = this.#lastAlive
    client.removeAllListeners('notification')
    // Keep an error listener: a late socket error on the dropped client must not crash the hub.
    client.on('error', () => {})
    void client.end().catch(() => {})
    const base = this.#o.backoffMs ?? 250
    const delay =
      Math.min(this.#o.maxBackoffMs ?? 10_000, base * 2 ** this.#attempt) * (0.5 + Math.random() / 2)
    this.#attempt += 1
    if (wasConnected || this.#attempt === 1)
      this.#o.log.warn(
        { code: (error as { code?: string }).code, err: error.message, retryInMs: Math.round(delay) },
        'live relay: lost its PostgreSQL connection; live streams may miss readings until it listens again',
      )
    this.reconnects += 1
    this.#timer = setTimeout(() => void this.#connect(), delay)
    this.#timer.unref()
  }
}
