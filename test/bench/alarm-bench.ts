/**
 * Event → alarm and work order, committed: the hub's ingest (its own MQTT broker) with the
 * alarm engine judging inside each batch's transaction, on PGlite (as `npm start` runs) and on
 * PostgreSQL when one answers. One rule "door forced → urgent security order"; per run 1,000
 * forced-door events at 1,000 new doors, published over loopback at 100 or 1,000 per second.
 * The gateway seals a batch every 10 ms tick (1 event per batch at 100/s, 10 at 1,000/s) and
 * keeps every unacknowledged batch in `oldest`, as the reference gateway does.
 *
 * Latency is publish → the hub's ack of the batch. The alarm, its order and its notice commit
 * in the batch's transaction and the ack is published after the commit, so at the ack the
 * order is in the database (checked: every run counts its orders). Baseline, interleaved in
 * the same rounds (test/bench/bench-runs.ts): the same batches from a gateway of an estate
 * without alarm rules on the same hub, i.e. storing the events without raising anything.
 *
 *   npx tsx test/bench/alarm-bench.ts            (PGlite, and PostgreSQL at ESTATEHUB_BENCH_PG_URL
 *                                                 or ESTATEHUB_TEST_PG_URL when it answers)
 *   ALARM_BENCH_RUNS=5 ALARM_BENCH_EVENTS=2000   (defaults 3 and 1,000)
 */
import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import pg from 'pg'
import { ackTopic, batchTopic, parseAck, type UplinkBatch } from '../../gateway/contract/index.ts'
import { AlarmEngine } from '../../hub/alarms/alarm-engine.ts'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { openStore, type Store } from '../../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from '../support/ingest-fixture.ts'
import { type BenchCase, type CaseStats, interleave, load1, median, printStats } from './bench-runs.ts'

const EVENTS = Number(process.env.ALARM_BENCH_EVENTS ?? 1_000)
const RUNS = Number(process.env.ALARM_BENCH_RUNS ?? 3)
const TICK_MS = 10
const RATES = [100, 1_000] as const

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** A gateway on the wire: publishes batches, hears cumulative acks, keeps `oldest` honest. */
class BenchGateway {
  readonly #client: MqttClient
  readonly #site: Site
  #seq = Date.now()
  /** Publish instant of each unacknowledged seq, in seq order. */
  readonly #pending = new Map<number, number>()
  /** The payload of each unacknowledged seq and when it was last sent, to resend it. */
  readonly #unacked = new Map<number, { payload: string; sentAt: number }>()
  resent = 0
  readonly #ackedAt = new Map<number, number>()

  private constructor(client: MqttClient, site: Site) {
    this.#client = client
    this.#site = site
    client.on('message', (_topic, payload) => {
      const parsed = parseAck(payload)
      if (!parsed.ok) return
      const now = performance.now()
      for (const seq of this.#pending.keys()) {
        if (seq > parsed.ack.seq) break
        this.#ackedAt.set(seq, now)
        this.#pending.delete(seq)
        this.#unacked.delete(seq)
      }
    })
  }

  static async connect(url: string, site: Site): Promise<BenchGateway> {
    const client = await mqtt.connectAsync(url, {
      clientId: site.gatewayCode,
      username: site.gatewayCode,
      password: site.secret,
      reconnectPeriod: 0,
    })
    const gateway = new BenchGateway(client, site)
    await client.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
    return gateway
  }

  /** Publishes one batch of events; returns its seq. */
  publish(events: UplinkBatch['events']): number {
    const seq = ++this.#seq
    const oldest = this.#pending.size > 0 ? this.#pending.keys().next().value! : seq
    const batch: UplinkBatch = {
      v: 1,
      gateway: this.#site.gatewayCode,
      session: 'bench',
      seq,
      oldest,
      sentAt: Date.now(),
      historical: false,
      readings: [],
      events,
    }
    const payload = JSON.stringify(batch)
    this.#pending.set(seq, performance.now())
    this.#unacked.set(seq, { payload, sentAt: performance.now() })
    void this.#client.publishAsync(batchTopic(this.#site.gatewayCode), payload, { qos: 1 })
    return seq
  }

  /**
   * Sends again what waited 30 s for its ack, as a gateway does when a commit failed (the hub
   * does not ack it); latency still counts from the first publish.
   */
  resendOverdue() {
    const now = performance.now()
    for (const [, entry] of this.#unacked)
      if (now - entry.sentAt > 30_000) {
        entry.sentAt = now
        this.resent++
        void this.#client.publishAsync(batchTopic(this.#site.gatewayCode), entry.payload, { qos: 1 })
      }
  }

  ackedAt(seq: number): number | undefined {
    return this.#ackedAt.get(seq)
  }

  close() {
    return this.#client.endAsync()
  }
}

interface RunResult {
  readonly p50: number
  readonly p99: number
  readonly max: number
  /** Events per second from the first publish to the last ack. */
  readonly rate: number
}

/** One run: EVENTS forced doors at `rate` per second, 10 ms ticks; waits for every ack. */
async function runOnce(gateway: BenchGateway, rate: number, doorPrefix: string): Promise<RunResult> {
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000))
  const sent: { seq: number; at: number; events: number }[] = []
  const start = performance.now()
  let door = 0
  for (let tick = 0; door < EVENTS; tick++) {
    const due = start + tick * TICK_MS
    while (performance.now() < due) await new Promise((r) => setTimeout(r, 1))
    const events = []
    for (let i = 0; i < perTick && door < EVENTS; i++, door++)
      events.push({ s: `door-ctl/${doorPrefix}-${door}`, t: Date.now(), type: 'forced' as const, d: {} })
    const at = performance.now()
    sent.push({ seq: gateway.publish(events), at, events: events.length })
  }
  const hang = Date.now() + 300_000
  while (sent.some((s) => gateway.ackedAt(s.seq) === undefined)) {
    if (Date.now() > hang) throw new Error('alarm bench: acks did not arrive within 300 s')
    gateway.resendOverdue()
    await new Promise((r) => setTimeout(r, 5))
  }
  const latencies: number[] = []
  for (const s of sent) for (let i = 0; i < s.events; i++) latencies.push(gateway.ackedAt(s.seq)! - s.at)
  latencies.sort((a, b) => a - b)
  const lastAck = Math.max(...sent.map((s) => gateway.ackedAt(s.seq)!))
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1)!,
    rate: EVENTS / ((lastAck - start) / 1000),
  }
}

async function postgresStore(): Promise<{ store: Store; drop: () => Promise<void> } | string> {
  const url = process.env.ESTATEHUB_BENCH_PG_URL ?? process.env.ESTATEHUB_TEST_PG_URL
  if (!url) return 'no ESTATEHUB_BENCH_PG_URL or ESTATEHUB_TEST_PG_URL'
  const name = `eh_bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: url })
  try {
    await admin.connect()
    await admin.query(`create database ${name}`)
  } catch (error) {
    return `PostgreSQL at ${url} does not answer: ${(error as Error).message}`
  } finally {
    await admin.end().catch(() => {})
  }
  const dbUrl = new URL(url)
  dbUrl.pathname = `/${name}`
  const store = await openStore({ url: dbUrl.toString() })
  return {
    store,
    drop: async () => {
      const dropper = new pg.Client({ connectionString: url })
      await dropper.connect()
      await dropper.query(`drop database if exists ${name} with (force)`)
      await dropper.end()
    },
  }
}

async function bench(backend: string, store: Store) {
  await migrateHub(store.db)
  const alarmed = await seedSite(store.db, { code: 'BENCH-ALM', points: [] })
  const plain = await seedSite(store.db, { code: 'BENCH-PLAIN', points: [] })
  await store.db
    .insertInto('alarmRules')
    .values({
      estateId: alarmed.estateId,
      name: '门被强行打开',
      kind: 'event',
      eventType: 'forced',
      workOrderCategory: 'security',
      workOrderPriority: 'urgent',
    })
    .execute()
  const engineLog = captureLog()
  const ingestLog = captureLog()
  const engine = new AlarmEngine(store.db, engineLog)
  const ingest = await startTestIngest(store.db, ingestLog, { inCommit: engine.inCommit })
  const withAlarms = await BenchGateway.connect(ingest.url, alarmed)
  const without = await BenchGateway.connect(ingest.url, plain)
  const ordersOf = async (prefix: string) =>
    Number(
      (
        await store.db
          .selectFrom('workOrders')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('estateId', '=', alarmed.estateId)
          .where('location', 'like', `door-ctl/${prefix}-%`)
          .executeTakeFirstOrThrow()
      ).n,
    )
  // Warm-up (caches, JIT, first partitions): not measured.
  await runOnce(withAlarms, 100, 'warm')
  await runOnce(without, 100, 'warm')

  const tails = new Map<string, { p99: number[]; max: number[]; rate: number[]; loads: number[] }>()
  let missing = 0
  const cases: BenchCase[] = RATES.flatMap((rate) => {
    const measured = (name: string, gateway: BenchGateway, counted: boolean): BenchCase => ({
      name,
      run: async (round) => {
        const prefix = `${rate}-${round}`
        const result = await runOnce(gateway, rate, prefix)
        const tail = tails.get(name) ?? { p99: [], max: [], rate: [], loads: [] }
        tail.p99.push(result.p99)
        tail.max.push(result.max)
        tail.rate.push(result.rate)
        tail.loads.push(load1())
        tails.set(name, tail)
        if (counted) {
          const orders = await ordersOf(prefix)
          if (orders !== EVENTS) {
            missing += EVENTS - orders
            console.log(`  ${name}: ${orders} orders of ${EVENTS} at the last ack`)
          }
        }
        return result.p50
      },
    })
    return [
      measured(`${rate}/s alarm → order committed, p50`, withAlarms, true),
      measured(`${rate}/s baseline (no rule) committed, p50`, without, false),
    ]
  })
  console.log(
    `\n${backend}: ${EVENTS} forced-door events per run at ${RATES.join(' and ')}/s, ${TICK_MS} ms batches, ${RUNS} interleaved rounds`,
  )
  const stats = await interleave(cases, { runs: RUNS })
  for (const rate of RATES) {
    const chosen = stats.filter((s) => s.name.startsWith(`${rate}/s`))
    printStats(
      `${backend}, ${rate} events/s: publish → ack (alarm and order committed), p50 per run`,
      chosen,
      chosen[1]!.name,
    )
    const tailStats: CaseStats[] = []
    for (const s of chosen) {
      const tail = tails.get(s.name)!
      for (const [what, values, unit] of [
        ['p99', tail.p99, 'ms'],
        ['max', tail.max, 'ms'],
        ['rate', tail.rate, 'events/s'],
      ] as const)
        tailStats.push({
          name: `${s.name.replace(', p50', '')} ${what}`,
          unit,
          samples: values,
          loads: tail.loads,
          median: median(values),
          min: Math.min(...values),
          max: Math.max(...values),
        })
    }
    printStats(`${backend}, ${rate} events/s: p99, max and sustained rate per run`, tailStats)
  }
  console.log(`  orders missing at the last ack: ${missing}`)
  console.log(
    `  batches resent after 30 s without an ack: ${withAlarms.resent} (alarms), ${without.resent} (baseline)`,
  )
  const problems = [...ingestLog.lines, ...engineLog.lines].filter((l) => l.level !== 'info')
  const kinds = new Map<string, number>()
  for (const p of problems) {
    const key = `${p.message}: ${(p.fields as { err?: string }).err ?? ''}`.slice(0, 200)
    kinds.set(key, (kinds.get(key) ?? 0) + 1)
  }
  for (const [what, n] of kinds) console.log(`  hub log, ${n}×: ${what}`)
  await withAlarms.close()
  await without.close()
  await ingest.close()
  return missing
}

let failed = 0
const pglite = await openStore({ dataDir: 'memory://' })
try {
  failed += await bench('PGlite (embedded)', pglite)
} finally {
  await pglite.close()
}
const postgres = await postgresStore()
if (typeof postgres === 'string') console.log(`\nPostgreSQL: skipped (${postgres})`)
else
  try {
    failed += await bench('PostgreSQL', postgres.store)
  } finally {
    await postgres.store.close()
    await postgres.drop()
  }
if (failed > 0) process.exitCode = 1
