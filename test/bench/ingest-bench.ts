/**
 * Ingest benchmark (npm run bench): sustained ingest on PostgreSQL, MQTT to committed rows.
 *
 * One estate, 4 gateways, 2,000 points (half counters, half gauges) in a fresh database. Each
 * gateway is a real MQTT client on loopback that publishes valid v1 batches of 5,000 readings
 * (QoS 1) to the hub's embedded broker and keeps at most 8 batches unacknowledged, as the
 * reference gateway's window does: sustained flow with backpressure, not a burst into memory.
 * The clock runs from the first publish to the last ack (every reading committed).
 *
 * Baselines in the same run, on the same rows, each into an empty `readings` (truncated, with
 * the same monthly partitions in place) after a CHECKPOINT:
 * - the database part of the ingest alone: commitBatch() for the same batches, gateways in
 *   parallel and each gateway's batches in order, as the ingest service runs them (no MQTT, no
 *   JSON);
 * - a plain COPY ... FROM STDIN (text format, one connection): the raw write floor.
 * Plus the CPU time of parseBatch() (JSON.parse + schema check) over the same payloads, against
 * JSON.parse alone, and the event-loop load of the hub while it ingests.
 *
 * PostgreSQL at ESTATEHUB_BENCH_PG_URL or ESTATEHUB_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test); skipped when it does not answer.
 */

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { type Kysely, sql } from 'kysely'
import mqtt, { type MqttClient } from 'mqtt'
import pg from 'pg'
import copyStreams from 'pg-copy-streams'
import type { Histogram } from 'prom-client'
import {
  ackTopic,
  batchTopic,
  MAX_READINGS,
  parseAck,
  parseBatch,
  type UplinkBatch,
  type WireReading,
} from '../../gateway/contract/index.ts'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { hashPassword } from '../../hub/auth/password.ts'
import { commitBatch } from '../../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../../hub/ingest/reading-partitions.ts'
import { createOrgChain } from '../../hub/org/org-chain.ts'
import type { Database } from '../../hub/store/database-schema.ts'
import { openStore, type Store } from '../../hub/store/open-store.ts'
import { captureLog, startTestIngest } from '../support/ingest-fixture.ts'

const PG_URL =
  process.env.ESTATEHUB_BENCH_PG_URL ??
  process.env.ESTATEHUB_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const GATEWAYS = 4
const DEVICES_PER_GATEWAY = 25
/** Per device: this many counters (energy-like) and as many gauges (power-like). */
const COUNTERS_PER_DEVICE = 10
const POINTS_PER_GATEWAY = DEVICES_PER_GATEWAY * COUNTERS_PER_DEVICE * 2
const BATCH_READINGS = MAX_READINGS
const BATCHES_PER_GATEWAY = 50
const TOTAL_READINGS = GATEWAYS * BATCHES_PER_GATEWAY * BATCH_READINGS
/** The reference gateway's uplink window (gateway/uplink/uplink-options.ts). */
const WINDOW = 8
/** One reading per point per minute: 500 minutes of a 2,000-point estate. */
const STEP_MS = 60_000
/** No ack progress for this long: the run is broken, not slow. */
const STALL_MS = 60_000

interface BenchGateway {
  readonly code: string
  readonly secret: string
  /** Wire names `<device>/<point>`, counters first in each device. */
  readonly names: readonly string[]
  readonly batches: readonly UplinkBatch[]
  readonly payloads: readonly Buffer[]
}

/** CPU seconds this process (hub, broker and gateway clients, all threads) spent since `from`. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from)
  return (used.user + used.system) / 1e6
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

/** One estate, one building, GATEWAYS gateways with their devices and points, in bulk. */
async function seed(db: Kysely<Database>): Promise<{ code: string; secret: string; names: string[] }[]> {
  const suffix = randomBytes(3).toString('hex')
  const { estateId } = await createOrgChain(db, {
    group: { code: `G-BENCH-${suffix}` },
    company: { code: `C-BENCH-${suffix}` },
    estate: { code: `BENCH-${suffix}` },
  })
  const building = await db
    .insertInto('buildings')
    .values({ estateId, code: 'B1', name: 'B1', floorsAbove: 20, floorsBelow: 2 })
    .returning('id')
    .executeTakeFirstOrThrow()
  const result: { code: string; secret: string; names: string[] }[] = []
  for (let g = 1; g <= GATEWAYS; g++) {
    const code = `gw-bench-${g}`
    const secret = randomBytes(18).toString('base64url')
    const gateway = await db
      .insertInto('gateways')
      .values({ estateId, code, name: code, secretHash: await hashPassword(secret), enabled: true })
      .returning('id')
      .executeTakeFirstOrThrow()
    const devices = await db
      .insertInto('devices')
      .values(
        Array.from({ length: DEVICES_PER_GATEWAY }, (_, d) => ({
          estateId,
          gatewayId: gateway.id,
          code: `g${g}-m${String(d + 1).padStart(2, '0')}`,
          name: `meter ${d + 1} of gateway ${g}`,
          protocol: 'modbus-tcp' as const,
          connection: { host: '127.0.0.1', port: 502, unitId: d + 1 },
          buildingId: building.id,
          enabled: true,
        })),
      )
      .returning(['id', 'code'])
      .execute()
    const names: string[] = []
    const points = devices.flatMap((device) =>
      Array.from({ length: COUNTERS_PER_DEVICE * 2 }, (_, i) => {
        const counter = i < COUNTERS_PER_DEVICE
        const code = counter ? `e${i}` : `p${i - COUNTERS_PER_DEVICE}`
        names.push(`${device.code}/${code}`)
        return {
          estateId,
          deviceId: device.id,
          code,
          name: code,
          address: { table: 'holding-register', register: i * 2 },
          dataType: 'uint32',
          byteOrder: 'ABCD',
          scale: '0.01',
          kind: counter ? ('counter' as const) : ('gauge' as const),
        }
      }),
    )
    await db.insertInto('points').values(points).execute()
    result.push({ code, secret, names })
  }
  return result
}

/**
 * BATCHES_PER_GATEWAY batches of BATCH_READINGS readings: every point once per minute, so a
 * batch covers 10 minutes of its gateway's 500 points and (point, ts) is unique across the run.
 */
function buildBatches(code: string, names: readonly string[], base: number): UplinkBatch[] {
  const stepsPerBatch = BATCH_READINGS / names.length
  const batches: UplinkBatch[] = []
  for (let b = 0; b < BATCHES_PER_GATEWAY; b++) {
    const readings: WireReading[] = []
    for (let i = 0; i < BATCH_READINGS; i++) {
      const p = i % names.length
      const step = b * stepsPerBatch + Math.floor(i / names.length)
      const counter = p % (COUNTERS_PER_DEVICE * 2) < COUNTERS_PER_DEVICE
      const v = counter
        ? Math.round((10_000 + p * 37 + step * 0.25) * 100) / 100
        : Math.round((50 + 40 * Math.sin((p + step) / 7)) * 100) / 100
      readings.push({ p: names[p]!, t: base + step * STEP_MS, v, q: 'good' })
    }
    batches.push({
      v: 1,
      gateway: code,
      session: 'bench',
      seq: b + 1,
      // Sealed up front, so every batch was in the outbox when each was sealed.
      oldest: 1,
      sentAt: Date.now(),
      historical: false,
      readings,
      events: [],
    })
  }
  return batches
}

async function countReadings(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('readings')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** An empty `readings` (partitions kept) and latest values, with dirty pages flushed. */
async function reset(db: Kysely<Database>) {
  await sql`truncate readings, latest_values`.execute(db)
  await sql`checkpoint`.execute(db)
}

interface IngestRun {
  readonly ms: number
  readonly rows: number
  readonly latencies: number[]
  readonly commitMeanMs: number
  readonly cpuS: number
  /** Share of the wall time the event loop (hub, broker and gateway clients share it) was busy. */
  readonly busy: number
  readonly errors: string[]
}

/** Gateways over MQTT into the hub's ingest: first publish to last ack. */
async function ingestRun(db: Kysely<Database>, gateways: readonly BenchGateway[]): Promise<IngestRun> {
  const log = captureLog()
  const ingest = await startTestIngest(db, log)
  const clients: MqttClient[] = []
  try {
    const connected = await Promise.all(
      gateways.map(async (gw) => {
        const client = await mqtt.connectAsync(ingest.url, {
          clientId: gw.code,
          username: gw.code,
          password: gw.secret,
          reconnectPeriod: 0,
          protocolVersion: 4,
        })
        clients.push(client)
        await client.subscribeAsync(ackTopic(gw.code), { qos: 1 })
        return { gw, client }
      }),
    )
    const latencies: number[] = []
    const cpu = process.cpuUsage()
    const elu = performance.eventLoopUtilization()
    const started = performance.now()
    let lastProgress = started
    await new Promise<void>((resolve, reject) => {
      let done = 0
      const stall = setInterval(() => {
        if (performance.now() - lastProgress < STALL_MS) return
        clearInterval(stall)
        const errors = log.lines.filter((l) => l.level !== 'info').slice(0, 5)
        reject(new Error(`no ack for ${STALL_MS / 1000} s; ingest log: ${JSON.stringify(errors)}`))
      }, 1_000)
      for (const { gw, client } of connected) {
        const publishedAt: number[] = []
        let next = 1 // next seq to publish
        let acked = 0
        const pump = () => {
          while (next <= gw.payloads.length && next - acked - 1 < WINDOW) {
            publishedAt[next] = performance.now()
            client.publish(batchTopic(gw.code), gw.payloads[next - 1]!, { qos: 1 })
            next += 1
          }
        }
        client.on('error', reject)
        client.on('message', (topic, payload) => {
          if (topic !== ackTopic(gw.code)) return
          const parsed = parseAck(payload)
          if (!parsed.ok || parsed.ack.seq <= acked) return
          const now = performance.now()
          for (let s = acked + 1; s <= parsed.ack.seq; s++) latencies.push(now - publishedAt[s]!)
          acked = parsed.ack.seq
          lastProgress = now
          if (acked === gw.payloads.length) {
            done += 1
            if (done === connected.length) {
              clearInterval(stall)
              resolve()
            }
          } else pump()
        })
        pump()
      }
    })
    const ms = performance.now() - started
    const cpuS = cpuSince(cpu)
    const busy = performance.eventLoopUtilization(elu).utilization
    const commit = (await ingest.registry.getSingleMetric('estatehub_ingest_commit_seconds')) as
      | Histogram
      | undefined
    const values = (await commit?.get())?.values ?? []
    const sum = values.find((v) => v.metricName === 'estatehub_ingest_commit_seconds_sum')?.value ?? 0
    const count = values.find((v) => v.metricName === 'estatehub_ingest_commit_seconds_count')?.value ?? 1
    return {
      ms,
      rows: await countReadings(db),
      latencies: latencies.sort((a, b) => a - b),
      commitMeanMs: (sum / count) * 1000,
      cpuS,
      busy,
      errors: log.lines.filter((l) => l.level !== 'info').map((l) => l.message),
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()))
    await ingest.close()
  }
}

/** commitBatch() for the same batches (fresh seqs), gateways in parallel, each one in order. */
async function commitRun(db: Kysely<Database>, gateways: readonly BenchGateway[]) {
  const directory = new PointDirectory(db)
  const partitions = new ReadingPartitions(db)
  await partitions.load()
  const entries = await Promise.all(gateways.map((gw) => directory.gateway(gw.code)))
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    gateways.map(async (gw, g) => {
      for (const batch of gw.batches) {
        const seq = batch.seq + BATCHES_PER_GATEWAY
        await commitBatch(db, partitions, entries[g]!, { ...batch, seq, oldest: BATCHES_PER_GATEWAY + 1 })
      }
    }),
  )
  const ms = performance.now() - started
  return { ms, cpuS: cpuSince(cpu), rows: await countReadings(db) }
}

/**
 * CPU time of parseBatch() (JSON.parse + schema check) over every payload, one thread, and of
 * JSON.parse alone over the same payloads.
 */
function parseRun(gateways: readonly BenchGateway[]) {
  let started = performance.now()
  for (const gw of gateways)
    for (const payload of gw.payloads) if (!parseBatch(payload).ok) throw new Error('invalid bench payload')
  const ms = performance.now() - started
  started = performance.now()
  let readings = 0
  for (const gw of gateways)
    for (const payload of gw.payloads) readings += JSON.parse(payload.toString('utf8')).readings.length
  if (readings !== TOTAL_READINGS) throw new Error('JSON.parse lost readings')
  return { ms, jsonMs: performance.now() - started }
}

/** The same rows as COPY text, encoded before the clock starts. */
async function copyChunks(db: Kysely<Database>, gateways: readonly BenchGateway[]): Promise<Buffer[]> {
  const directory = new PointDirectory(db)
  const chunks: Buffer[] = []
  for (const gw of gateways) {
    const entry = await directory.gateway(gw.code)
    if (entry === undefined) throw new Error(`gateway ${gw.code} not found`)
    for (const batch of gw.batches) {
      let text = ''
      for (const r of batch.readings) {
        const point = entry.points.get(r.p)!
        const counter = point.kind === 'counter' ? 't' : 'f'
        text += `${point.id}\t${new Date(r.t).toISOString()}\t${counter}\t${String(r.v)}\t\\N\t${r.q}\t\\N\tf\n`
      }
      chunks.push(Buffer.from(text))
    }
  }
  return chunks
}

/** A plain COPY FROM STDIN of the same rows on one connection: the raw write floor. */
async function copyRun(url: string, chunks: readonly Buffer[]) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const cpu = process.cpuUsage()
    const started = performance.now()
    const stream = client.query(
      copyStreams.from(
        'copy readings (point_id, ts, counter, value, value_text, quality, reason, historical) from stdin',
      ),
    )
    const finished = once(stream, 'finish')
    for (const chunk of chunks) if (!stream.write(chunk)) await once(stream, 'drain')
    stream.end()
    await finished
    const ms = performance.now() - started
    return { ms, cpuS: cpuSince(cpu), copied: stream.rowCount }
  } finally {
    await client.end()
  }
}

async function main() {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5_000 })
  try {
    await admin.connect()
  } catch (error) {
    console.log(
      `Ingest benchmark skipped: PostgreSQL does not answer at ${PG_URL} (${(error as Error).message}).`,
    )
    console.log(
      '  Set ESTATEHUB_BENCH_PG_URL (or ESTATEHUB_TEST_PG_URL) to a server where it may create databases.',
    )
    return
  }
  const version =
    (await admin.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]?.v ?? '?'
  const name = `eh_bench_${randomBytes(6).toString('hex')}`
  await admin.query(`create database ${name}`)
  const dbUrl = new URL(PG_URL)
  dbUrl.pathname = `/${name}`
  let store: Store | undefined
  try {
    store = await openStore({ url: dbUrl.toString(), poolMax: 10 })
    const db = store.db
    await migrateHub(db)
    const seeded = await seed(db)
    // Whole minutes two days back: every timestamp within the last two days (1-2 monthly partitions).
    const base = Math.floor((Date.now() - 2 * 86_400_000) / STEP_MS) * STEP_MS
    const gateways: BenchGateway[] = seeded.map((s) => {
      const batches = buildBatches(s.code, s.names, base)
      return { ...s, batches, payloads: batches.map((b) => Buffer.from(JSON.stringify(b))) }
    })
    const payloadBytes = gateways.reduce((n, gw) => n + gw.payloads.reduce((m, p) => m + p.length, 0), 0)
    const batchCount = GATEWAYS * BATCHES_PER_GATEWAY

    console.log(
      `Ingest on PostgreSQL ${version}: ${GATEWAYS} gateways × ${BATCHES_PER_GATEWAY} batches × ${fmt(BATCH_READINGS)} readings = ${fmt(TOTAL_READINGS)} readings`,
    )
    console.log(
      `  ${fmt(GATEWAYS * POINTS_PER_GATEWAY)} points (half counters, half gauges), window ${WINDOW} batches per gateway, payload ${(payloadBytes / batchCount / 1024).toFixed(0)} KiB per batch`,
    )

    await reset(db)
    const ingest = await ingestRun(db, gateways)
    if (ingest.rows !== TOTAL_READINGS)
      throw new Error(`ingest: ${ingest.rows} rows in readings, ${TOTAL_READINGS} sent`)
    const ingestRate = TOTAL_READINGS / (ingest.ms / 1000)
    console.log(
      `  MQTT → committed: ${fmt(ingestRate)} readings/s   ${(batchCount / (ingest.ms / 1000)).toFixed(1)} batches/s   ${secs(ingest.ms)}   rows ${fmt(ingest.rows)}/${fmt(TOTAL_READINGS)}`,
    )
    console.log(
      `    publish → ack per batch: p50 ${fmt(percentile(ingest.latencies, 50))} ms   p99 ${fmt(percentile(ingest.latencies, 99))} ms   max ${fmt(percentile(ingest.latencies, 100))} ms   commit inside the hub: mean ${fmt(ingest.commitMeanMs)} ms`,
    )
    console.log(
      `    Node process CPU (hub, broker, gateway clients): ${ingest.cpuS.toFixed(1)} s of ${secs(ingest.ms)} wall   event loop busy ${(ingest.busy * 100).toFixed(0)} %`,
    )
    if (ingest.errors.length > 0) console.log(`    ingest logged: ${[...new Set(ingest.errors)].join('; ')}`)

    await reset(db)
    const commit = await commitRun(db, gateways)
    if (commit.rows !== TOTAL_READINGS)
      throw new Error(`commitBatch: ${commit.rows} rows in readings, ${TOTAL_READINGS} written`)
    const commitRate = TOTAL_READINGS / (commit.ms / 1000)
    console.log(
      `  commitBatch alone (${GATEWAYS} in parallel, no MQTT/JSON): ${fmt(commitRate)} rows/s   ${secs(commit.ms)}   ${fmt((commit.ms * GATEWAYS) / batchCount)} ms per batch   Node CPU ${commit.cpuS.toFixed(1)} s`,
    )

    const parse = parseRun(gateways)
    console.log(
      `  parseBatch alone (JSON.parse + schema, one thread): ${fmt(TOTAL_READINGS / (parse.ms / 1000))} readings/s   ${secs(parse.ms)}   ${(parse.ms / batchCount).toFixed(1)} ms per batch`,
    )
    console.log(
      `  JSON.parse alone (one thread): ${fmt(TOTAL_READINGS / (parse.jsonMs / 1000))} readings/s   ${secs(parse.jsonMs)}   ${(parse.jsonMs / batchCount).toFixed(1)} ms per batch`,
    )

    const chunks = await copyChunks(db, gateways)
    await reset(db)
    const copy = await copyRun(dbUrl.toString(), chunks)
    const copyRows = await countReadings(db)
    if (copyRows !== TOTAL_READINGS || copy.copied !== TOTAL_READINGS)
      throw new Error(`COPY: ${copyRows} rows in readings (${copy.copied} copied), ${TOTAL_READINGS} sent`)
    const copyRate = TOTAL_READINGS / (copy.ms / 1000)
    console.log(
      `  COPY FROM STDIN (one connection, text): ${fmt(copyRate)} rows/s   ${secs(copy.ms)}   Node CPU ${copy.cpuS.toFixed(1)} s`,
    )

    const p50 = percentile(ingest.latencies, 50)
    const inFlight = GATEWAYS * WINDOW
    const batchesPerS = batchCount / (ingest.ms / 1000)
    // Little's law: with every window full, a batch waits for the ones ahead of it.
    const queueMs = (inFlight / batchesPerS) * 1000
    const rows: [string, string, string, string][] = [
      [
        'sustained ingest, MQTT → committed rows',
        `${fmt(ingestRate)} readings/s`,
        `COPY ${fmt(copyRate)} rows/s`,
        (ingestRate / copyRate).toFixed(2),
      ],
      [
        'commitBatch alone (the database part)',
        `${fmt(commitRate)} rows/s`,
        `COPY ${fmt(copyRate)} rows/s`,
        (commitRate / copyRate).toFixed(2),
      ],
      [
        'publish → ack per batch, p50',
        `${fmt(p50)} ms (p99 ${fmt(percentile(ingest.latencies, 99))} ms)`,
        `queueing: ${inFlight} in flight ÷ ${batchesPerS.toFixed(1)} batches/s = ${fmt(queueMs)} ms`,
        (p50 / queueMs).toFixed(2),
      ],
      [
        'parseBatch per batch (JSON.parse + schema check)',
        `${(parse.ms / batchCount).toFixed(1)} ms`,
        `JSON.parse alone ${(parse.jsonMs / batchCount).toFixed(1)} ms`,
        (parse.ms / parse.jsonMs).toFixed(1),
      ],
      [
        'sustained ingest against commitBatch alone',
        `${secs(ingest.ms)}`,
        `${secs(commit.ms)}`,
        (ingest.ms / commit.ms).toFixed(2),
      ],
    ]
    const widths = [0, 1, 2, 3].map((i) =>
      Math.max(
        ...[['measure', 'result', 'baseline in the same run', 'ratio'], ...rows].map((r) => r[i]!.length),
      ),
    )
    const line = (r: readonly string[]) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd()
    console.log('Summary')
    console.log(line(['measure', 'result', 'baseline in the same run', 'ratio']))
    for (const r of rows) console.log(line(r))
  } finally {
    await store?.close()
    // pg-pool's end() resolves before its idle connections have closed: a forced drop now
    // would terminate them and crash on the pool's unhandled 'error'. Wait until they are gone.
    for (let i = 0; i < 50; i++) {
      const open = await admin.query('select 1 from pg_stat_activity where datname = $1', [name])
      if (open.rowCount === 0) break
      await new Promise((r) => setTimeout(r, 100))
    }
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

await main()
