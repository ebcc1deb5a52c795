/**
 * The group-scale load run (`npm run load`; not a test, not in CI): a simulated fleet against N
 * hub processes on a private Mosquitto and PostgreSQL, in compressed time. docs/scaling.md
 * explains the report; `npm run load -- --help` lists the knobs.
 *
 * The fleet: `gateways` logical gateways, each with `meters` meters (one counter point each, read
 * once per `meter-interval` simulated minutes, all of a gateway's meters in one poll cycle and
 * one batch, as the reference gateway's batcher closes a cycle) and `gauges` gauge points on its
 * first meters (read every simulated minute). Each gateway is its own MQTT connection with its
 * own client id and topics, as production and the broker's ACL have them (no multiplexing:
 * 2,000 gateways are 2,000 connections). A gateway sends one batch per simulated minute at its
 * own phase within the minute, keeps at most 8 batches unacknowledged, and resends a batch not
 * acknowledged within 30 s, as the reference uplink does.
 *
 * Time: a simulated minute lasts `minute-ms` real milliseconds. Readings carry simulated
 * timestamps that end before the hub's clock (the hub refuses readings from its future).
 *
 * Measured: readings/s acknowledged (sustained = over the measured minutes, first send to last
 * ack), publish → ack lag p50/p99, CPU seconds from /proc for the hubs, Mosquitto, the PostgreSQL
 * backends of the run's database and PostgreSQL's background writers (server-wide), WAL written,
 * and the growth of `readings` & co, scaled to a million meters for a month.
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import mqtt, { type MqttClient } from 'mqtt'
import { ackTopic, batchTopic, parseAck, type WireReading } from '../../gateway/contract/index.ts'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { hashPassword } from '../../hub/auth/password.ts'
import { createOrgChain } from '../../hub/org/org-chain.ts'
import { openStore, type Store } from '../../hub/store/open-store.ts'
import { privateMosquittoMissing, startPrivateMosquitto } from '../support/private-mosquitto.ts'
import {
  CpuMeter,
  createScratchDatabase,
  fmt,
  type HubProcess,
  percentile,
  pidsByCommandLine,
  startHubProcess,
} from './hub-processes.ts'

const knobs = {
  gateways: { default: 400, help: 'logical gateways, one MQTT connection each' },
  'gateways-per-estate': { default: 10, help: 'gateways of one estate (estates = gateways / this)' },
  meters: { default: 500, help: 'meters (counter points) per gateway' },
  gauges: { default: 20, help: 'gauge points per gateway, read every simulated minute' },
  'meter-interval': { default: 15, help: 'simulated minutes between two reads of a meter' },
  'minute-ms': { default: 8_000, help: 'real milliseconds one simulated minute lasts' },
  minutes: { default: 15, help: 'simulated minutes measured (after one warm-up minute)' },
  hubs: { default: 3, help: 'hub processes sharing the subscription' },
  'pool-max': { default: 10, help: "each hub's database pool" },
} as const
type Knob = keyof typeof knobs

type CamelKnob =
  | 'gateways'
  | 'gatewaysPerEstate'
  | 'meters'
  | 'gauges'
  | 'meterInterval'
  | 'minuteMs'
  | 'minutes'
  | 'hubs'
  | 'poolMax'
const camel = (k: string) => k.replace(/-(.)/g, (_, c: string) => c.toUpperCase()) as CamelKnob

function options(): Record<CamelKnob, number> & { pgUrl: string } {
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(Object.keys(knobs).map((k) => [k, { type: 'string' as const }])),
      'pg-url': { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) {
    console.log('npm run load -- [--knob value]… (or LOAD_<KNOB> in the environment, e.g. LOAD_MINUTE_MS)')
    for (const [k, v] of Object.entries(knobs)) console.log(`  --${k.padEnd(15)} ${v.help} (${v.default})`)
    console.log(
      '  --pg-url         PostgreSQL server where the run may create a database (ESTATEHUB_BENCH_PG_URL, ESTATEHUB_TEST_PG_URL, postgres://postgres@127.0.0.1:5432/test)',
    )
    process.exit(0)
  }
  const result = {} as Record<CamelKnob, number>
  for (const [k, v] of Object.entries(knobs) as [Knob, (typeof knobs)[Knob]][]) {
    const given =
      (values as Record<string, unknown>)[k] ?? process.env[`LOAD_${k.toUpperCase().replaceAll('-', '_')}`]
    const n = given === undefined ? v.default : Number(given)
    if (!Number.isInteger(n) || n < (k === 'gauges' ? 0 : 1))
      throw new Error(`--${k}: a whole number, got ${given}`)
    result[camel(k)] = n
  }
  if (result.gauges > result.meters) throw new Error('--gauges: at most --meters (gauges sit on the meters)')
  return {
    ...result,
    pgUrl:
      (values['pg-url'] as string | undefined) ??
      process.env.ESTATEHUB_BENCH_PG_URL ??
      process.env.ESTATEHUB_TEST_PG_URL ??
      'postgres://postgres@127.0.0.1:5432/test',
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const WINDOW = 8
const ACK_TIMEOUT_MS = 30_000
const MINUTE = 60_000
/** After the last simulated minute: time for the hubs to catch up before the run is called broken. */
const DRAIN_MS = 180_000
/** How long the idle hubs' CPU is measured before the fleet starts. */
const IDLE_MS = 10_000

/**
 * One group and company; estates of `gateways-per-estate` gateways each (a group runs hundreds
 * of estates, and per-estate work such as the alarm rules' device list scales with an estate's
 * size, not the group's); gateways, meters (devices) and points set-based: a million rows in a
 * few statements.
 */
async function seed(store: Store, o: ReturnType<typeof options>, secretHash: string) {
  const db = store.db
  const suffix = randomBytes(3).toString('hex')
  const { companyId } = await createOrgChain(db, {
    group: { code: `G-LOAD-${suffix}` },
    company: { code: `C-LOAD-${suffix}` },
    estate: { code: `LOAD-${suffix}-0` },
  })
  const estates = Math.ceil(o.gateways / o.gatewaysPerEstate)
  await sql`insert into org_nodes (kind, parent_id, code, name, timezone)
    select 'estate', ${companyId}::uuid, ${`LOAD-${suffix}-`} || e, ${`LOAD-${suffix}-`} || e, 'Asia/Shanghai'
    from generate_series(1, ${estates}::int) e`.execute(db)
  await sql`insert into buildings (estate_id, code, name, floors_above, floors_below)
    select id, 'B1', 'B1', 30, 2 from org_nodes where parent_id = ${companyId}::uuid and code <> ${`LOAD-${suffix}-0`}`.execute(
    db,
  )
  // Gateway g belongs to estate ceil(g / gateways-per-estate).
  await sql`insert into gateways (estate_id, code, name, secret_hash)
    select n.id, 'lg-' || g, 'lg-' || g, ${secretHash}
    from generate_series(1, ${o.gateways}::int) g
    join org_nodes n on n.code = ${`LOAD-${suffix}-`} || ((g - 1) / ${o.gatewaysPerEstate}::int + 1)`.execute(
    db,
  )
  await sql`insert into devices (estate_id, gateway_id, code, name, protocol, connection, building_id)
    select gw.estate_id, gw.id, 'm' || d, 'm' || d, 'modbus-tcp',
      jsonb_build_object('host', '10.0.0.1', 'port', 502, 'unitId', d % 247 + 1), b.id
    from gateways gw
    join buildings b on b.estate_id = gw.estate_id
    cross join generate_series(1, ${o.meters}::int) d
    where gw.code like 'lg-%'`.execute(db)
  await sql`insert into points (estate_id, device_id, code, name, address, data_type, byte_order, scale, kind)
    select d.estate_id, d.id, 'e', 'energy', '{"table":"holding-register","register":0}', 'uint32', 'ABCD', 0.01, 'counter'
    from devices d`.execute(db)
  if (o.gauges > 0)
    await sql`insert into points (estate_id, device_id, code, name, address, data_type, byte_order, scale, kind)
      select d.estate_id, d.id, 'p', 'power', '{"table":"holding-register","register":2}', 'float32', 'ABCD', 1, 'gauge'
      from devices d where substr(d.code, 2)::int <= ${o.gauges}::int`.execute(db)
  await sql`analyze`.execute(db)
  return estates
}

/** Bytes of the tables a reading touches, and WAL position. */
async function sizes(store: Store) {
  const row = (
    await sql<Record<string, string>>`select
      (select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree('readings_counter') where isleaf) as counter,
      (select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree('readings_other') where isleaf) as other,
      pg_total_relation_size('latest_values') as latest,
      pg_total_relation_size('ingested_batches') + pg_total_relation_size('gateway_links') as marks,
      pg_total_relation_size('unmatched_readings') + pg_total_relation_size('dead_letters') as problems,
      pg_current_wal_lsn() - '0/0'::pg_lsn as wal,
      (select count(*) from readings where counter) as counters,
      (select count(*) from readings where not counter) as gauges`.execute(store.db)
  ).rows[0]!
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as Record<
    'counter' | 'other' | 'latest' | 'marks' | 'problems' | 'wal' | 'counters' | 'gauges',
    number
  >
}

interface SimGateway {
  readonly code: string
  readonly index: number
  client?: MqttClient
  /** Fraction of a minute at which this gateway sends. */
  readonly phase: number
  /** The minute (mod the meter interval) of its meters' poll cycle. */
  readonly cycle: number
  seq: number
  /** Sealed, not yet acknowledged, in seq order (the outbox). */
  readonly outbox: { seq: number; payload: Buffer; readings: number; firstSent?: number; sentAt?: number }[]
  acked: number
}

async function main() {
  const o = options()
  const missing = privateMosquittoMissing()
  if (missing) throw new Error(`the load run needs a Mosquitto of its own: ${missing}`)
  const database = await createScratchDatabase(o.pgUrl, 'eh_load')
  if ('missing' in database) throw new Error(`the load run needs PostgreSQL: ${database.missing}`)
  const perMinute = o.gateways * (o.meters / o.meterInterval + o.gauges)
  console.log(
    `Fleet: ${fmt(o.gateways)} gateways × ${o.meters} meters (every ${o.meterInterval} min) + ${o.gauges} gauges (every min) = ${fmt(o.gateways * o.meters)} meters; ${o.hubs} hubs on a private Mosquitto and PostgreSQL (${database.name})`,
  )
  console.log(
    `  1 simulated minute = ${o.minuteMs} ms (×${(MINUTE / o.minuteMs).toFixed(1)}); ${o.minutes} minutes measured: offered ${fmt((perMinute * 1000) / o.minuteMs)} readings/s, ${fmt((o.gateways * 1000) / o.minuteMs)} batches/s (real time: ${fmt(perMinute / 60)} readings/s)`,
  )
  let store: Store | undefined
  const mosquitto = await startPrivateMosquitto({
    // Unbounded per-client queues: a hub's share waits in the broker instead of being dropped.
    config: ['max_queued_messages 0', 'log_type none'],
  })
  const hubs: HubProcess[] = []
  const gateways: SimGateway[] = []
  try {
    let started = performance.now()
    store = await openStore({ url: database.url, poolMax: 4 })
    await migrateHub(store.db)
    const estates = await seed(store, o, await hashPassword(randomBytes(18).toString('base64url')))
    console.log(
      `  seeded ${fmt(estates)} estates, ${fmt(o.gateways * o.meters)} meters, ${fmt(o.gateways * (o.meters + o.gauges))} points in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )

    started = performance.now()
    const group = `load-${randomBytes(3).toString('hex')}`
    hubs.push(
      ...(await Promise.all(
        Array.from({ length: o.hubs }, (_, i) =>
          startHubProcess({
            databaseUrl: database.url,
            poolMax: o.poolMax,
            mqtt: [
              'mode: external',
              `url: ${mosquitto.url}`,
              `clientId: ${group}-${i + 1}`,
              `shareGroup: ${group}`,
            ],
          }),
        ),
      )),
    )
    for (let g = 1; g <= o.gateways; g++)
      gateways.push({
        code: `lg-${g}`,
        index: g,
        phase: Math.random(),
        cycle: Math.floor(Math.random() * o.meterInterval),
        seq: 0,
        outbox: [],
        acked: 0,
      })
    const latencies: number[] = []
    let ackedReadings = 0
    let resends = 0
    let measuring = false
    let lastAckAt = 0
    const pump = (gw: SimGateway) => {
      const now = performance.now()
      for (const entry of gw.outbox.slice(0, WINDOW)) {
        if (entry.sentAt !== undefined && now - entry.sentAt < ACK_TIMEOUT_MS) continue
        if (entry.sentAt !== undefined) resends += 1
        entry.firstSent ??= now
        entry.sentAt = now
        gw.client!.publish(batchTopic(gw.code), entry.payload, { qos: 1 })
      }
    }
    // Connect in waves: 2,000 connects at once would measure the broker's accept queue.
    for (let i = 0; i < gateways.length; i += 100)
      await Promise.all(
        gateways.slice(i, i + 100).map(async (gw) => {
          const client = await mqtt.connectAsync(mosquitto.url, {
            clientId: gw.code,
            reconnectPeriod: 1_000,
            protocolVersion: 4,
            keepalive: 60,
          })
          gw.client = client
          client.on('message', (_topic, payload) => {
            const parsed = parseAck(payload)
            if (!parsed.ok) return
            const now = performance.now()
            while (gw.outbox.length > 0 && gw.outbox[0]!.seq <= parsed.ack.seq) {
              const entry = gw.outbox.shift()!
              if (measuring) {
                latencies.push(now - entry.firstSent!)
                ackedReadings += entry.readings
                lastAckAt = now
              }
            }
            gw.acked = Math.max(gw.acked, parsed.ack.seq)
            pump(gw)
          })
          await client.subscribeAsync(ackTopic(gw.code), { qos: 1 })
        }),
      )
    console.log(
      `  ${o.hubs} hubs started and ${fmt(gateways.length)} gateways connected in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )

    // Simulated minute 0 is the warm-up; minutes 1..minutes are measured. Every timestamp ends
    // an hour before now, inside the hub's accepted age.
    const totalMinutes = o.minutes + 1
    const simStart = Math.floor((Date.now() - (totalMinutes + 60) * MINUTE) / MINUTE) * MINUTE
    const seal = (gw: SimGateway, minute: number) => {
      const t = simStart + minute * MINUTE + Math.floor(gw.phase * MINUTE)
      const readings: WireReading[] = []
      for (let p = 1; p <= o.gauges; p++)
        readings.push({
          p: `m${p}/p`,
          t,
          v: Math.round((5 + 3 * Math.sin(minute / 9 + p)) * 1000) / 1000,
          q: 'good',
        })
      // Minute 0 (warm-up) carries gauges only, unless there are none.
      const meters = minute === 0 ? o.gauges === 0 : minute % o.meterInterval === gw.cycle
      if (meters)
        for (let m = 1; m <= o.meters; m++)
          readings.push({
            p: `m${m}/e`,
            t,
            v: Math.round((1_000 * m + minute * 0.37) * 100) / 100,
            q: 'good',
          })
      if (readings.length === 0) return
      gw.seq += 1
      gw.outbox.push({
        seq: gw.seq,
        readings: readings.length,
        payload: Buffer.from(
          JSON.stringify({
            v: 1,
            gateway: gw.code,
            session: 'load',
            seq: gw.seq,
            oldest: gw.outbox[0]?.seq ?? gw.seq,
            sentAt: Date.now(),
            historical: false,
            readings,
            events: [],
          }),
        ),
      })
      pump(gw)
    }
    const resender = setInterval(() => {
      for (const gw of gateways) if (gw.outbox.length > 0) pump(gw)
    }, 1_000)
    try {
      // Warm-up: every gateway's first batch, so a hub has loaded its points (one hub per gateway).
      for (const gw of gateways) seal(gw, 0)
      const warmEnd = Date.now() + DRAIN_MS
      while (gateways.some((gw) => gw.outbox.length > 0)) {
        if (Date.now() > warmEnd) throw new Error('warm-up batches not all acknowledged within 180 s')
        await sleep(100)
      }
      const before = await sizes(store)
      const hubCpu = new CpuMeter(() => hubs.map((h) => h.pid))
      // What the hubs spend with no batch arriving (jobs, timers, the broker connection): the
      // floor under the per-batch cost, measured over IDLE_MS after the warm-up drained.
      await hubCpu.start()
      await sleep(IDLE_MS)
      const idleCores = (await hubCpu.stop()) / (IDLE_MS / 1000)
      const brokerCpu = new CpuMeter(() => pidsByCommandLine(mosquitto.dir))
      const pgCpu = new CpuMeter(() => database.backendPids())
      const pgBackground = new CpuMeter(() => database.backgroundPids())
      await Promise.all([hubCpu.start(), brokerCpu.start(), pgCpu.start(), pgBackground.start()])
      const simCpu = process.cpuUsage()
      const loads: number[] = []
      measuring = true
      const clock = performance.now()
      let offered = 0
      // Each gateway's batch of minute m leaves at (m - 1 + phase) × minute-ms after the clock.
      const schedule = gateways.map((gw) => ({ gw, at: gw.phase })).sort((a, b) => a.at - b.at)
      for (let minute = 1; minute <= o.minutes; minute++) {
        for (const { gw, at } of schedule) {
          const due = clock + (minute - 1 + at) * o.minuteMs
          const wait = due - performance.now()
          if (wait > 2) await sleep(wait)
          const before = gw.outbox.length
          seal(gw, minute)
          if (gw.outbox.length > before) offered += gw.outbox.at(-1)!.readings
        }
        loads.push(loadavg()[0]!)
        const backlog = gateways.reduce((n, gw) => n + gw.outbox.length, 0)
        process.stdout.write(
          `  minute ${minute}/${o.minutes}: ${fmt(ackedReadings)} readings acked, ${fmt(backlog)} batches unacknowledged, load ${loads.at(-1)!.toFixed(2)}\n`,
        )
      }
      const sentUntil = performance.now()
      const drainEnd = Date.now() + DRAIN_MS
      while (gateways.some((gw) => gw.outbox.length > 0) && Date.now() < drainEnd) await sleep(50)
      const unacked = gateways.reduce((n, gw) => n + gw.outbox.length, 0)
      const seconds = ((unacked === 0 ? lastAckAt : performance.now()) - clock) / 1000
      const used = process.cpuUsage(simCpu)
      const [hubS, brokerS, pgS, pgBgS] = await Promise.all([
        hubCpu.stop(),
        brokerCpu.stop(),
        pgCpu.stop(),
        pgBackground.stop(),
      ])
      for (const hub of hubs) {
        const problems = hub
          .output()
          .split('\n')
          .filter((l) => /"level":(40|50|60)/.test(l))
        if (problems.length > 0)
          console.log(
            `  hub ${hubs.indexOf(hub) + 1} logged ${problems.length} warnings, e.g. ${problems[0]!.slice(0, 300)}`,
          )
      }
      const after = await sizes(store)
      latencies.sort((a, b) => a - b)
      const rate = ackedReadings / seconds
      const per10k = (cpu: number) => cpu / seconds / (rate / 10_000)
      const storedCounters = after.counters - before.counters
      const storedGauges = after.gauges - before.gauges
      const counterBytes = (after.counter - before.counter) / storedCounters
      const gaugeBytes = storedGauges > 0 ? (after.other - before.other) / storedGauges : Number.NaN
      const walBytes = (after.wal - before.wal) / (storedCounters + storedGauges)
      // A million meters read every meter-interval minutes for 30 days, and the same mix of gauges.
      const monthCounters = (1e6 * 30 * 24 * 60) / o.meterInterval
      const monthGauges = ((1e6 * o.gauges) / o.meters) * 30 * 24 * 60
      const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(0)} GiB`
      console.log('\nReport')
      const lines: [string, string][] = [
        [
          'sustained ingest',
          `${fmt(rate)} readings/s acknowledged (offered ${fmt(offered / ((o.minutes * o.minuteMs) / 1000))}/s: ${fmt(offered)} readings sealed over ${((sentUntil - clock) / 1000).toFixed(0)} s; ${fmt(ackedReadings)} acknowledged in ${seconds.toFixed(1)} s)`,
        ],
        [
          'publish → ack per batch',
          `p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(percentile(latencies, 100))} ms over ${fmt(latencies.length)} batches; resends ${resends}; unacknowledged at the end ${unacked}`,
        ],
        [
          'hub CPU',
          `${per10k(hubS).toFixed(2)} cores per 10k readings/s (${hubS.toFixed(1)} s over ${o.hubs} hubs; ${((hubS * 1000) / latencies.length).toFixed(1)} ms per batch of ${fmt(ackedReadings / latencies.length)} readings on average); idle, the ${o.hubs} hubs use ${idleCores.toFixed(3)} cores, so above idle ${per10k(hubS - idleCores * seconds).toFixed(2)} cores per 10k readings/s, ${(((hubS - idleCores * seconds) * 1000) / latencies.length).toFixed(1)} ms per batch`,
        ],
        ['Mosquitto CPU', `${per10k(brokerS).toFixed(2)} cores per 10k readings/s (${brokerS.toFixed(1)} s)`],
        [
          'PostgreSQL backends CPU',
          `${per10k(pgS).toFixed(2)} cores per 10k readings/s (${pgS.toFixed(1)} s, ${((pgS * 1000) / latencies.length).toFixed(1)} ms per batch); background writers (server-wide) ${pgBgS.toFixed(1)} s`,
        ],
        [
          'simulated fleet CPU (this process)',
          `${per10k((used.user + used.system) / 1e6).toFixed(2)} cores per 10k readings/s`,
        ],
        [
          'storage per reading',
          `counters ${fmt(counterBytes)} B (readings_counter with its index), gauges ${fmt(gaugeBytes)} B; WAL ${fmt(walBytes)} B per reading (server-wide: includes other databases' writes); latest_values ${fmt(after.latest / (o.gateways * (o.meters + o.gauges)))} B per point (one row each, does not grow)`,
        ],
        [
          'growth per million meters per month',
          `counters ${gib(monthCounters * counterBytes)} (${fmt(monthCounters / 1e6)} M readings); gauges at this mix (${fmt((1e6 * o.gauges) / o.meters)} per million meters, every minute) ${gib(monthGauges * gaugeBytes)}`,
        ],
        ['load average (1 min) per simulated minute', loads.map((l) => l.toFixed(2)).join(', ')],
      ]
      for (const [k, v] of lines) console.log(`  ${k}: ${v}`)
      if (unacked > 0)
        console.log(
          `  NOT SUSTAINED: ${unacked} batches were still unacknowledged ${DRAIN_MS / 1000} s after the last minute; offer less (--minute-ms higher)`,
        )
    } finally {
      clearInterval(resender)
    }
  } finally {
    await Promise.all(gateways.map((gw) => gw.client?.endAsync(true)))
    await Promise.all(hubs.map((h) => h.stop()))
    await mosquitto.destroy()
    await store?.close()
    await database.drop()
  }
}

await main()
