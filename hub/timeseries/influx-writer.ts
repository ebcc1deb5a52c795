// Copies committed readings to InfluxDB, off the system of record's path: enqueue() only
// appends to a bounded in-memory queue; a timer writes it out in batches and retries with
// backoff. Losing the copy (queue overflow, a crash) never loses a reading: the database has it.
import { HttpError, InfluxDB, Point } from '@influxdata/influxdb-client'
import { Counter, Gauge, type Registry } from 'prom-client'

export interface InfluxConfig {
  url: string
  token?: string
  org: string
  bucket: string
  flushIntervalMs: number
  batchSize: number
  maxQueue: number
  timeoutMs: number
}

/** One committed reading with its place in the estate, for InfluxDB tags. */
export interface SeriesReading {
  readonly estate: string // estate code
  readonly building?: string // building code
  readonly unit?: string // unit code
  readonly meter?: string // meter code
  readonly device: string // device code
  readonly point: string // point code
  readonly at: number // epoch ms
  readonly value: number | string | boolean | null // string = exact decimal (e.g. "123456789012.345") or free text
  readonly quality: 'good' | 'uncertain' | 'bad'
}

export interface InfluxWriterStats {
  queued: number
  written: number
  dropped: number
  failures: number
  lagMs: number
}

type Log = (level: 'warn' | 'error' | 'info', msg: string, fields?: object) => void

const MIN_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 60_000
// Bodies above this go gzipped: line protocol shrinks about tenfold.
const GZIP_THRESHOLD_BYTES = 8_192
// Compact the queue's array once this many dropped/written slots sit before the head.
const COMPACT_AFTER = 4_096
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

const defaultLog: Log = (level, msg, fields) => console[level](msg, ...(fields ? [fields] : []))

/** The line-protocol line of a reading; undefined for one that has nothing to send. */
function toLine(r: SeriesReading): string | undefined {
  const p = new Point('reading').tag('estate', r.estate).tag('device', r.device).tag('point', r.point)
  if (r.building) p.tag('building', r.building)
  if (r.unit) p.tag('unit', r.unit)
  if (r.meter) p.tag('meter', r.meter)
  p.tag('quality', r.quality)
  const v = r.value
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined
    p.floatField('value', v)
  } else if (typeof v === 'boolean') {
    p.booleanField('state', v)
  } else if (typeof v === 'string') {
    const n = DECIMAL.test(v) ? Number(v) : Number.NaN
    if (Number.isFinite(n)) p.floatField('value', n)
    else p.stringField('text', v)
  } else {
    return undefined
  }
  // A string timestamp is written as is; the request says precision=ms.
  return p.timestamp(String(Math.trunc(r.at))).toLineProtocol()
}

function sendable(r: SeriesReading): boolean {
  if (r.value === null || r.value === undefined || !Number.isFinite(r.at)) return false
  return typeof r.value !== 'number' || Number.isFinite(r.value)
}

class TimeoutError extends Error {}

export class InfluxWriter {
  readonly #config: InfluxConfig
  readonly #influx: InfluxDB
  readonly #path: string
  readonly #log: Log
  readonly #now: () => number
  readonly #metrics:
    | { written: Counter; dropped: Counter; failures: Counter; queued: Gauge; lag: Gauge }
    | undefined
  // The queue: a growing array addressed by absolute position, so dropping the oldest and
  // keeping a failed batch at the head are both index moves. Compacted now and then.
  #items: (SeriesReading | undefined)[] = [] // undefined: written or dropped, awaiting compaction
  #times: number[] = [] // enqueue time per item, for lagMs
  #base = 0 // absolute position of #items[0]
  #head = 0 // absolute position of the oldest queued item
  #written = 0
  #dropped = 0
  #failures = 0
  #backoffMs = 0
  #dropping = false
  #pumping = false
  #closed = false
  #closing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #inflight: AbortController | undefined
  // Writes run one at a time, in queue order; flush() and the timer share this chain.
  #chain: Promise<void> = Promise.resolve()

  constructor(
    config: InfluxConfig,
    options: {
      registry?: Registry
      log?: (level: 'warn' | 'error' | 'info', msg: string, fields?: object) => void
      now?: () => number
    } = {},
  ) {
    this.#config = config
    this.#log = options.log ?? defaultLog
    this.#now = options.now ?? Date.now
    // Our queue decides retries: the client is used only to send one request per batch.
    this.#influx = new InfluxDB({
      url: config.url,
      timeout: config.timeoutMs,
      ...(config.token ? { token: config.token } : {}),
    })
    this.#path = `/api/v2/write?org=${encodeURIComponent(config.org)}&bucket=${encodeURIComponent(config.bucket)}&precision=ms`
    const registry = options.registry
    if (registry) {
      const writer = this
      this.#metrics = {
        queued: new Gauge({
          name: 'estatehub_influx_queued',
          help: 'Readings waiting to be copied to InfluxDB',
          registers: [registry],
          collect() {
            this.set(writer.#queued)
          },
        }),
        written: new Counter({
          name: 'estatehub_influx_written_total',
          help: 'Readings written to InfluxDB',
          registers: [registry],
        }),
        dropped: new Counter({
          name: 'estatehub_influx_dropped_total',
          help: 'Readings never copied to InfluxDB: queue full (oldest dropped), refused by the server, or closed',
          registers: [registry],
        }),
        failures: new Counter({
          name: 'estatehub_influx_failures_total',
          help: 'Failed InfluxDB write requests',
          registers: [registry],
        }),
        lag: new Gauge({
          name: 'estatehub_influx_lag_seconds',
          help: 'How long the oldest queued reading has waited for InfluxDB (0 when none)',
          registers: [registry],
          collect() {
            this.set(writer.#lagMs / 1000)
          },
        }),
      }
    }
    this.#schedule(config.flushIntervalMs)
  }

  get stats(): InfluxWriterStats {
    return {
      queued: this.#queued,
      written: this.#written,
      dropped: this.#dropped,
      failures: this.#failures,
      lagMs: this.#lagMs,
    }
  }

  /** Queues readings for InfluxDB. Never throws, never waits; a full queue drops its oldest. */
  enqueue(readings: readonly SeriesReading[]): void {
    try {
      if (this.#closed) {
        this.#drop(readings.filter(sendable).length)
        return
      }
      const now = this.#now()
      for (const r of readings) {
        if (!sendable(r)) continue // a value-less (bad) reading has nothing to chart
        this.#items.push(r)
        this.#times.push(now)
      }
      const over = this.#queued - this.#config.maxQueue
      if (over > 0) {
        if (!this.#dropping)
          this.#log('warn', 'influx: queue full, dropping the oldest readings', {
            maxQueue: this.#config.maxQueue,
          })
        this.#dropping = true
        this.#drop(this.#advance(this.#head + over))
      }
      // A full batch goes out now rather than at the next tick, unless we are backing off.
      if (this.#queued >= this.#config.batchSize && this.#backoffMs === 0 && !this.#pumping) this.#schedule(0)
    } catch (error) {
      this.#log('error', 'influx: enqueue failed', { reason: this.#reason(error) })
    }
  }

  /** Writes everything queued at the call; rejects with the first failed write's error. */
  flush(): Promise<void> {
    const target = this.#base + this.#items.length
    return this.#exclusive(async () => {
      while (this.#head < target && !this.#closed) await this.#writeBatch()
    })
  }

  /** Flushes for at most timeoutMs, then stops; whatever is still queued is dropped. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError('close timed out')), this.#config.timeoutMs)
    })
    let failure: unknown
    try {
      await Promise.race([this.flush(), deadline])
    } catch (error) {
      failure = error
    } finally {
      clearTimeout(timer)
    }
    this.#closed = true
    this.#inflight?.abort()
    clearTimeout(this.#timer)
    this.#timer = undefined
    const left = this.#queued
    if (left > 0) {
      this.#log('warn', 'influx: closed with readings not written', {
        queued: left,
        reason: this.#reason(failure),
      })
      this.#drop(this.#advance(this.#head + left))
    }
    this.#items = []
    this.#times = []
    this.#base = this.#head
  }

  get #queued(): number {
    return this.#base + this.#items.length - this.#head
  }

  get #lagMs(): number {
    const t = this.#times[this.#head - this.#base]
    return this.#queued > 0 && t !== undefined ? Math.max(0, this.#now() - t) : 0
  }

  #drop(n: number) {
    if (n <= 0) return
    this.#dropped += n
    this.#metrics?.dropped.inc(n)
  }

  /** Moves the head to `to` (if ahead), releasing the passed readings; returns how many it passed. */
  #advance(to: number): number {
    const from = this.#head
    if (to <= from) return 0
    for (let i = from - this.#base; i < to - this.#base; i++) this.#items[i] = undefined
    this.#head = to
    const gone = to - this.#base
    if (gone >= COMPACT_AFTER && gone * 2 >= this.#items.length) {
      this.#items = this.#items.slice(gone)
      this.#times = this.#times.slice(gone)
      this.#base = to
    }
    return to - from
  }

  #exclusive(work: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(work)
    this.#chain = run.catch(() => {})
    return run
  }

  #schedule(delayMs: number) {
    if (this.#closed || this.#closing) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#pump()
    }, delayMs)
    this.#timer.unref() // a hub shutting down closes us; the timer alone keeps nothing alive
  }

  async #pump() {
    if (this.#pumping) return
    this.#pumping = true
    try {
      await this.#exclusive(async () => {
        while (this.#queued > 0 && !this.#closed) await this.#writeBatch()
      })
      this.#schedule(this.#config.flushIntervalMs)
    } catch {
      this.#schedule(this.#backoffMs) // #writeBatch counted and logged it
    } finally {
      this.#pumping = false
    }
  }

  /** Sends the batch at the head. On failure it stays there (unless the server refused its data). */
  async #writeBatch(): Promise<void> {
    const start = this.#head
    const end = Math.min(this.#base + this.#items.length, start + this.#config.batchSize)
    if (end <= start) return
    const lines: string[] = []
    for (let i = start; i < end; i++) {
      const r = this.#items[i - this.#base]
      const line = r && toLine(r)
      if (line) lines.push(line)
    }
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, this.#config.timeoutMs)
    this.#inflight = controller
    try {
      if (lines.length > 0)
        await this.#influx.transport.request(this.#path, lines.join('\n'), {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          gzipThreshold: GZIP_THRESHOLD_BYTES,
          signal: controller.signal,
        })
    } catch (error) {
      // The client's own timeout leaves the socket open; aborting destroys it.
      controller.abort()
      if (this.#closed) throw error // close() gave up on this request: no retry, no warning
      this.#failures++
      this.#metrics?.failures.inc()
      const reason = timedOut ? `timed out after ${this.#config.timeoutMs} ms` : this.#reason(error)
      // 400/422: the server refused this data; sending it again cannot succeed.
      if (error instanceof HttpError && (error.statusCode === 400 || error.statusCode === 422)) {
        const lost = this.#advance(end)
        this.#drop(lost)
        this.#log('error', 'influx: server refused a batch; dropped it', { reason, readings: lost })
        return
      }
      this.#backoffMs = this.#backoffMs === 0 ? MIN_BACKOFF_MS : Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS)
      this.#log('warn', 'influx: write failed; will retry', {
        reason,
        retryInMs: this.#backoffMs,
        queued: this.#queued,
        failures: this.#failures,
      })
      this.#schedule(this.#backoffMs)
      throw new Error(`influx write failed: ${reason}`)
    } finally {
      clearTimeout(timer)
      this.#inflight = undefined
    }
    // Items dropped while the request was out were counted as dropped already.
    const done = this.#advance(end)
    this.#written += done
    this.#metrics?.written.inc(done)
    if (this.#backoffMs > 0) this.#log('info', 'influx: writes resumed', { queued: this.#queued })
    this.#backoffMs = 0
    if (this.#queued === 0) this.#dropping = false
  }

  /** An error's message with the token masked: HTTP errors can echo request details. */
  #reason(error: unknown): string {
    const message =
      error instanceof Error
        ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
        : String(error ?? 'unknown')
    const token = this.#config.token
    return token ? message.split(token).join('***') : message
  }
}
