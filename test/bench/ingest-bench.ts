/**
 * Ingest benchmark (npm run bench): the real hub process, MQTT to committed rows, on PostgreSQL.
 *
 * Each hub is `estatehub hub --config <generated yaml>` as a child process (bin/estatehub.js),
 * everything on: alarm engine, live feed, HTTP API, background jobs. Cases:
 * - the embedded broker, 1 hub (gateways log in to the hub with their secrets);
 * - a private Mosquitto on a free port with 1, 2 and 3 hubs (`mqtt.mode: external`, one MQTT 5
 *   shared subscription group), gateways connecting to Mosquitto;
 * - baselines: commitBatch() alone for the same batches in this process (the database part of
 *   the ingest, no MQTT, no JSON), and a plain COPY of the same rows (the raw write floor).
 *
 * One estate, GATEWAYS gateways of 25 devices × 20 points (half counters, half gauges). Each
 * gateway is a real MQTT client speaking the wire contract (gateway/contract): v1 batches of
 * 5,000 readings at QoS 1, at most 8 unacknowledged (the reference gateway's window), payloads
 * encoded before the clock. Before the clock each gateway sends 2 small warm-up batches and waits
 * for their acks, so every hub has compiled its hot paths. The clock runs from the first publish
 * to the last ack; the row count is checked against what was sent. Every run starts on an empty
 * `readings` and `latest_values` after a CHECKPOINT, with fresh hub processes.
 *
 * CPU is read from /proc for the hubs, the broker and the PostgreSQL backends of the bench's
 * database, and reported per 10,000 readings/s (cores busy at that rate). Rounds interleave the
 * cases (test/bench/bench-runs.ts): median, min, max, load average.
 *
 * PostgreSQL at ESTATEHUB_BENCH_PG_URL or ESTATEHUB_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test); skipped when it does not answer. Size:
 * INGEST_BENCH_GATEWAYS (4), INGEST_BENCH_BATCHES per gateway (20), INGEST_BENCH_RUNS (3).
 */

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { type Kysely, sql } from 'kysely'
import mqtt, { type MqttClient } from 'mqtt'
import pg from 'pg'
import copyStreams from 'pg-copy-streams'
import {
  ackTopic,
  batchTopic,
  MAX_READINGS,
  parseAck,
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
import {
  CpuMeter,
  createScratchDatabase,
  fmt,
  type HubProcess,
  percentile,
  pidsByCommandLine,
  startHubProcess,
} from '../load/hub-processes.ts'
import {
  type PrivateMosquitto,
  privateMosquittoMissing,
  startPrivateMosquitto,
} from '../support/private-mosquitto.ts'
import { type CaseStats, interleave, median, printStats } from './bench-runs.ts'

const PG_URL =
  process.env.ESTATEHUB_BENCH_PG_URL ??
  process.env.ESTATEHUB_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const positive = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`)
  return n
}
const GATEWAYS = positive('INGEST_BENCH_GATEWAYS', 4)
const BATCHES_PER_GATEWAY = positive('INGEST_BENCH_BATCHES', 20)
const RUNS = positive('INGEST_BENCH_RUNS', 3)
const DEVICES_PER_GATEWAY = 25
/** Per device: this many counters (energy-like) and as many gauges (power-like). */
const COUNTERS_PER_DEVICE = 10
const POINTS_PER_GATEWAY = DEVICES_PER_GATEWAY * COUNTERS_PER_DEVICE * 2
const BATCH_READINGS = MAX_READINGS
const TOTAL_READINGS = GATEWAYS * BATCHES_PER_GATEWAY * BATCH_READINGS
/** Small batches before the clock, each reading every point once (timestamps before the run's). */
const WARMUP_BATCHES = 2
const WARMUP_READINGS = GATEWAYS * WARMUP_BATCHES * POINTS_PER_GATEWAY
/** The reference gateway's uplink window (gateway/uplink/uplink-options.ts). */
const WINDOW = 8
/** One reading per point per minute. */
const STEP_MS = 60_000
/** No ack progress for this long: the run is broken, not slow. */
const STALL_MS = 60_000
/** A hub's database pool (the config default). */
const POOL_MAX = 10

interface BenchGateway {
  readonly code: string
  readonly secret: string
  /** Wire names `<device>/<point>`, counters first in each device. */
  readonly names: readonly string[]
  /** The measured batches; seq and oldest are set per run. */
  readonly batches: readonly UplinkBatch[]
  readonly warmup: readonly UplinkBatch[]
}

/** One estate, one building, GATEWAYS gateways with their devices and points (one shared secret). */
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
  const secret = randomBytes(18).toString('base64url')
  const secretHash = await hashPassword(secret)
  const result: { code: string; secret: string; names: string[] }[] = []
  for (let g = 1; g <= GATEWAYS; g++) {
    const code = `gw-bench-${g}`
    const gateway = await db
      .insertInto('gateways')
      .values({ estateId, code, name: code, secretHash, enabled: true })
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

const value = (p: number, step: number) =>
  p % (COUNTERS_PER_DEVICE * 2) < COUNTERS_PER_DEVICE
    ? Math.round((10_000 + p * 37 + step * 0.25) * 100) / 100
    : Math.round((50 + 40 * Math.sin((p + step) / 7)) * 100) / 100

function batchOf(code: string, readings: WireReading[]): UplinkBatch {
  return {
    v: 1,
    gateway: code,
    session: 'bench',
    seq: 0,
    oldest: 0,
    sentAt: Date.now(),
    historical: false,
    readings,
    events: [],
  }
}

/**
 * BATCHES_PER_GATEWAY batches of BATCH_READINGS readings, every point once per minute from
 * `base` on, so (point, ts) is unique across a run; warm-up batches read every point once at the
 * minutes before `base`.
 */
function buildBatches(code: string, names: readonly string[], base: number) {
  const stepsPerBatch = BATCH_READINGS / names.length
  const batches: UplinkBatch[] = []
  for (let b = 0; b < BATCHES_PER_GATEWAY; b++) {
    const readings: WireReading[] = []
    for (let i = 0; i < BATCH_READINGS; i++) {
      const p = i % names.length
      const step = b * stepsPerBatch + Math.floor(i / names.length)
      readings.push({ p: names[p]!, t: base + step * STEP_MS, v: value(p, step), q: 'good' })
    }
    batches.push(batchOf(code, readings))
  }
  const warmup = Array.from({ length: WARMUP_BATCHES }, (_, w) => {
    const step = w - WARMUP_BATCHES
    return batchOf(
      code,
      names.map((p, i) => ({ p, t: base + step * STEP_MS, v: value(i, step), q: 'good' as const })),
    )
  })
  return { batches, warmup }
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

/** Seqs of one run: each run's above every earlier run's (the hub de-duplicates by seq). */
class SeqPlan {
  #next = 0
  /** Warm-up seqs first, then the measured ones; `oldest` as a gateway's outbox would say. */
  take(): { warmup: (w: number) => [number, number]; measured: (b: number) => [number, number] } {
    const first = this.#next + 1
    this.#next += WARMUP_BATCHES + BATCHES_PER_GATEWAY
    const measuredFirst = first + WARMUP_BATCHES
    return {
      warmup: (w) => [first + w, first],
      measured: (b) => [measuredFirst + b, measuredFirst],
    }
  }
}

/** What each run measured besides its rate. */
interface RunDetail {
  p50: number
  p99: number
  /** Cores busy per 10,000 readings/s. */
  hub: number
  broker: number
  postgres: number
  /** The bench process: gateway clients, or commitBatch's JavaScript for the baseline. */
  driver: number
}

interface Deployment {
  readonly broker: 'embedded' | 'mosquitto'
  readonly hubs: number
}

interface Env {
  readonly db: Kysely<Database>
  readonly database: { url: string; backendPids(): Promise<number[]> }
  readonly gateways: readonly BenchGateway[]
  readonly mosquitto: PrivateMosquitto | undefined
  readonly seqs: SeqPlan
}

function encode(batch: UplinkBatch, [seq, oldest]: [number, number]): Buffer {
  return Buffer.from(JSON.stringify({ ...batch, seq, oldest, sentAt: Date.now() }))
}

/** Sends payloads with a window, resolves with the publish → ack latency of each batch. */
async function stream(
  connected: readonly { code: string; client: MqttClient; payloads: readonly Buffer[]; seqs: number[] }[],
  onProgress: () => void,
): Promise<number[]> {
  const latencies: number[] = []
  let lastProgress = performance.now()
  await new Promise<void>((resolve, reject) => {
    let done = 0
    const stall = setInterval(() => {
      if (performance.now() - lastProgress < STALL_MS) return
      clearInterval(stall)
      reject(new Error(`no ack for ${STALL_MS / 1000} s`))
    }, 1_000)
    for (const gw of connected) {
      const publishedAt = new Map<number, number>()
      let next = 0 // index of the next payload to publish
      let acked = 0 // payloads acknowledged
      const last = gw.seqs.at(-1)!
      const pump = () => {
        while (next < gw.payloads.length && next - acked < WINDOW) {
          publishedAt.set(gw.seqs[next]!, performance.now())
          gw.client.publish(batchTopic(gw.code), gw.payloads[next]!, { qos: 1 })
          next += 1
        }
      }
      gw.client.removeAllListeners('message')
      gw.client.on('message', (topic, payload) => {
        if (topic !== ackTopic(gw.code)) return
        const parsed = parseAck(payload)
        if (!parsed.ok) return
        const now = performance.now()
        while (acked < gw.seqs.length && gw.seqs[acked]! <= parsed.ack.seq) {
          latencies.push(now - publishedAt.get(gw.seqs[acked]!)!)
          acked += 1
          lastProgress = now
          onProgress()
        }
        if (parsed.ack.seq >= last) {
          gw.client.removeAllListeners('message')
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
  return latencies.sort((a, b) => a - b)
}

/** Hub processes for one run, gateways over MQTT into them: first publish to last ack. */
async function hubRun(env: Env, deployment: Deployment, detail: RunDetail[]): Promise<number> {
  const hubs: HubProcess[] = []
  const clients: MqttClient[] = []
  const plan = env.seqs.take()
  try {
    const group = `bench-${randomBytes(3).toString('hex')}`
    hubs.push(
      ...(await Promise.all(
        Array.from({ length: deployment.hubs }, (_, i) =>
          startHubProcess({
            databaseUrl: env.database.url,
            poolMax: POOL_MAX,
            mqtt:
              deployment.broker === 'embedded'
                ? ['mode: embedded', 'host: 127.0.0.1', 'port: 0']
                : [
                    'mode: external',
                    `url: ${env.mosquitto!.url}`,
                    `clientId: ${group}-${i + 1}`,
                    `shareGroup: ${group}`,
                  ],
          }),
        ),
      )),
    )
    const url = hubs[0]!.mqttUrl
    const connected = await Promise.all(
      env.gateways.map(async (gw) => {
        const client = await mqtt.connectAsync(url, {
          clientId: gw.code,
          ...(deployment.broker === 'embedded' ? { username: gw.code, password: gw.secret } : {}),
          reconnectPeriod: 0,
          protocolVersion: 4,
        })
        clients.push(client)
        await client.subscribeAsync(ackTopic(gw.code), { qos: 1 })
        return { gw, client }
      }),
    )
    await stream(
      connected.map(({ gw, client }) => ({
        code: gw.code,
        client,
        payloads: gw.warmup.map((b, w) => encode(b, plan.warmup(w))),
        seqs: gw.warmup.map((_, w) => plan.warmup(w)[0]),
      })),
      () => {},
    )
    const work = connected.map(({ gw, client }) => ({
      code: gw.code,
      client,
      payloads: gw.batches.map((b, i) => encode(b, plan.measured(i))),
      seqs: gw.batches.map((_, i) => plan.measured(i)[0]),
    }))
    const hubCpu = new CpuMeter(() => hubs.map((h) => h.pid))
    const brokerCpu = new CpuMeter(() =>
      deployment.broker === 'mosquitto' ? pidsByCommandLine(env.mosquitto!.dir) : [],
    )
    const pgCpu = new CpuMeter(() => env.database.backendPids())
    await Promise.all([hubCpu.start(), brokerCpu.start(), pgCpu.start()])
    const driver = process.cpuUsage()
    const started = performance.now()
    const latencies = await stream(work, () => {})
    const seconds = (performance.now() - started) / 1000
    const driverS = process.cpuUsage(driver)
    const [hubS, brokerS, pgS] = await Promise.all([hubCpu.stop(), brokerCpu.stop(), pgCpu.stop()])
    const rows = await countReadings(env.db)
    if (rows !== TOTAL_READINGS + WARMUP_READINGS)
      throw new Error(`${rows} rows in readings, ${TOTAL_READINGS + WARMUP_READINGS} sent`)
    const rate = TOTAL_READINGS / seconds
    const per10k = (cpu: number) => cpu / seconds / (rate / 10_000)
    detail.push({
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      hub: per10k(hubS),
      broker: per10k(brokerS),
      postgres: per10k(pgS),
      driver: per10k((driverS.user + driverS.system) / 1e6),
    })
    // Warnings the hubs logged during the run (pino level ≥ 40), each message once with its count.
    const warned = new Map<string, number>()
    for (const hub of hubs)
      for (const line of hub.output().split('\n'))
        if (/"level":(40|50|60)/.test(line)) {
          const msg = line.match(/"msg":"([^"]*)"/)?.[1] ?? line.slice(0, 120)
          warned.set(msg, (warned.get(msg) ?? 0) + 1)
        }
    if (warned.size > 0)
      console.log(`    hubs logged: ${[...warned].map(([m, n]) => `${m} (×${n})`).join('; ')}`)
    return rate
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()))
    await Promise.all(hubs.map((h) => h.stop()))
  }
}

/** commitBatch() for the same batches, gateways in parallel, each one in order, in this process. */
async function commitRun(env: Env, detail: RunDetail[]): Promise<number> {
  const { db } = env
  const directory = new PointDirectory(db)
  const partitions = new ReadingPartitions(db)
  await partitions.load()
  const entries = await Promise.all(env.gateways.map((gw) => directory.gateway(gw.code)))
  const plan = env.seqs.take()
  const commit = (g: number, batch: UplinkBatch, [seq, oldest]: [number, number]) =>
    commitBatch(db, partitions, entries[g]!, { ...batch, seq, oldest })
  await Promise.all(
    env.gateways.map(async (gw, g) => {
      for (const [w, batch] of gw.warmup.entries()) await commit(g, batch, plan.warmup(w))
    }),
  )
  const pgCpu = new CpuMeter(() => env.database.backendPids())
  await pgCpu.start()
  const driver = process.cpuUsage()
  const latencies: number[] = []
  const started = performance.now()
  await Promise.all(
    env.gateways.map(async (gw, g) => {
      for (const [b, batch] of gw.batches.entries()) {
        const t = performance.now()
        await commit(g, batch, plan.measured(b))
        latencies.push(performance.now() - t)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const driverS = process.cpuUsage(driver)
  const pgS = await pgCpu.stop()
  const rows = await countReadings(db)
  if (rows !== TOTAL_READINGS + WARMUP_READINGS)
    throw new Error(`commitBatch: ${rows} rows in readings, ${TOTAL_READINGS + WARMUP_READINGS} written`)
  const rate = TOTAL_READINGS / seconds
  const per10k = (cpu: number) => cpu / seconds / (rate / 10_000)
  latencies.sort((a, b) => a - b)
  detail.push({
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    hub: Number.NaN,
    broker: Number.NaN,
    postgres: per10k(pgS),
    driver: per10k((driverS.user + driverS.system) / 1e6),
  })
  return rate
}

/** The same rows as COPY text, encoded once. */
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
async function copyRun(env: Env, chunks: readonly Buffer[], detail: RunDetail[]): Promise<number> {
  const client = new pg.Client({ connectionString: env.database.url })
  await client.connect()
  try {
    const pgCpu = new CpuMeter(() => env.database.backendPids())
    await pgCpu.start()
    const driver = process.cpuUsage()
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
    const seconds = (performance.now() - started) / 1000
    const driverS = process.cpuUsage(driver)
    const pgS = await pgCpu.stop()
    if (stream.rowCount !== TOTAL_READINGS) throw new Error(`COPY: ${stream.rowCount} rows copied`)
    const rate = TOTAL_READINGS / seconds
    const per10k = (cpu: number) => cpu / seconds / (rate / 10_000)
    detail.push({
      p50: Number.NaN,
      p99: Number.NaN,
      hub: Number.NaN,
      broker: Number.NaN,
      postgres: per10k(pgS),
      driver: per10k((driverS.user + driverS.system) / 1e6),
    })
    return rate
  } finally {
    await client.end()
  }
}

function printDetails(stats: readonly CaseStats[], details: ReadonlyMap<string, RunDetail[]>) {
  const cell = (values: number[], digits: number) => {
    const finite = values.filter(Number.isFinite)
    if (finite.length === 0) return '—'
    const f = (n: number) => (digits === 0 ? fmt(n) : n.toFixed(digits))
    return `${f(median(finite))} (${f(Math.min(...finite))}–${f(Math.max(...finite))})`
  }
  console.log('\nPer case: median (min–max) over the runs; CPU as cores busy per 10,000 readings/s')
  console.log(
    '  case | readings/s | ack p50 ms | ack p99 ms | hub CPU | broker CPU | PostgreSQL backends CPU | bench process CPU | load avg',
  )
  for (const s of stats) {
    const d = details.get(s.name) ?? []
    const pick = (k: keyof RunDetail) => d.map((r) => r[k])
    console.log(
      `  ${s.name} | ${cell([...s.samples], 0)} | ${cell(pick('p50'), 0)} | ${cell(pick('p99'), 0)} | ${cell(pick('hub'), 2)} | ${cell(pick('broker'), 2)} | ${cell(pick('postgres'), 2)} | ${cell(pick('driver'), 2)} | ${s.loads.map((l) => l.toFixed(2)).join(', ')}`,
    )
  }
}

async function main() {
  const database = await createScratchDatabase(PG_URL, 'eh_bench')
  if ('missing' in database) {
    console.log(`Ingest benchmark skipped: ${database.missing}.`)
    console.log(
      '  Set ESTATEHUB_BENCH_PG_URL (or ESTATEHUB_TEST_PG_URL) to a server where it may create databases.',
    )
    return
  }
  const mosquittoMissing = privateMosquittoMissing()
  if (mosquittoMissing) console.log(`Mosquitto cases skipped: ${mosquittoMissing}.`)
  let store: Store | undefined
  let mosquitto: PrivateMosquitto | undefined
  try {
    store = await openStore({ url: database.url, poolMax: 10 })
    const db = store.db
    await migrateHub(db)
    const version =
      (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]?.v ?? '?'
    const seeded = await seed(db)
    // Whole minutes two days back: every timestamp within the last two days (1-2 monthly partitions).
    const base = Math.floor((Date.now() - 2 * 86_400_000) / STEP_MS) * STEP_MS
    const gateways: BenchGateway[] = seeded.map((s) => ({ ...s, ...buildBatches(s.code, s.names, base) }))
    if (!mosquittoMissing)
      // Unbounded queues: a hub's share must wait in the broker, not be dropped at 1,000 messages.
      mosquitto = await startPrivateMosquitto({ config: ['max_queued_messages 0'] })
    const env: Env = { db, database, gateways, mosquitto, seqs: new SeqPlan() }
    const payloadKiB = JSON.stringify(gateways[0]!.batches[0]).length / 1024
    console.log(
      `Ingest on PostgreSQL ${version}: ${GATEWAYS} gateways × ${BATCHES_PER_GATEWAY} batches × ${fmt(BATCH_READINGS)} readings = ${fmt(TOTAL_READINGS)} readings per run (${payloadKiB.toFixed(0)} KiB per batch, window ${WINDOW}); ${fmt(GATEWAYS * POINTS_PER_GATEWAY)} points, half counters; hub processes with pool ${POOL_MAX}`,
    )
    const chunks = await copyChunks(db, gateways)
    const details = new Map<string, RunDetail[]>()
    const detailOf = (name: string) => {
      const list: RunDetail[] = []
      details.set(name, list)
      return list
    }
    const deployments: (Deployment & { name: string })[] = [
      { name: 'embedded broker, 1 hub', broker: 'embedded', hubs: 1 },
      ...(mosquitto
        ? ([1, 2, 3] as const).map((hubs) => ({
            name: `Mosquitto, ${hubs} hub${hubs > 1 ? 's' : ''}`,
            broker: 'mosquitto' as const,
            hubs,
          }))
        : []),
    ]
    const stats = await interleave(
      [
        ...deployments.map((d) => {
          const detail = detailOf(d.name)
          return { name: d.name, unit: 'readings/s', run: () => hubRun(env, d, detail) }
        }),
        {
          name: 'commitBatch alone',
          unit: 'rows/s',
          run: (
            (detail) => () =>
              commitRun(env, detail)
          )(detailOf('commitBatch alone')),
        },
        {
          name: 'COPY FROM STDIN',
          unit: 'rows/s',
          run: (
            (detail) => () =>
              copyRun(env, chunks, detail)
          )(detailOf('COPY FROM STDIN')),
        },
      ],
      { runs: RUNS, between: () => reset(db) },
    )
    printStats('Ingest: readings committed per second, first publish to last ack', stats, 'commitBatch alone')
    printDetails(stats, details)
  } finally {
    await mosquitto?.destroy()
    await store?.close()
    await database.drop()
  }
}

await main()
