import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateHub } from '../hub/app/hub-migrations.ts'
import { parseBackfillDays } from '../hub/cli/demo-command.ts'
import {
  type BackfillReport,
  backfillDemo,
  type DemoSeries,
  daysCoveringLastPeriod,
  demoHistory,
  historyWindow,
  loadDemoUnits,
  periodsCovered,
  readingTimes,
} from '../hub/demo/demo-backfill.ts'
import {
  ANOMALY_BACKWARDS,
  ANOMALY_LEAK,
  ANOMALY_STUCK,
  DEMO_GATEWAY_CODE,
  MASTER_CT_RATIO,
  seedDemo,
} from '../hub/demo/seed-demo.ts'
import { PointDirectory } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { periodBounds } from '../hub/metering/cutoff.ts'
import { openStore, type Store } from '../hub/store/open-store.ts'

// The demo's seed and history, in-process on PGlite: 33 days at 4-hour steps ending on
// 2 November 2026 (Shanghai), so October lies wholly inside and its cut-off on the grid.
const HOUR = 3_600_000
const now = Date.UTC(2026, 10, 2, 2, 30) // 10:30 in Shanghai
const days = 33
const stepMs = 4 * HOUR
const window = historyWindow(days, now)
const october = periodBounds('2026-10', 'Asia/Shanghai', null)

let store: Store
let estateId: string
let report: BackfillReport
let series: Map<string, DemoSeries>

const count = async (table: 'buildings' | 'units' | 'meters' | 'customers' | 'devices' | 'points') =>
  Number(
    (
      await store.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

/** A series' register at an instant of the grid, in its steps (0.01 kWh, litres). */
function stepsAt(s: DemoSeries, at: number): number {
  const value = s.hourly[(at - window.from) / HOUR]
  if (value === undefined) throw new Error(`${s.meter}: ${new Date(at).toISOString()} outside the window`)
  return value
}

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' })
  await migrateHub(store.db)
  const seed = await seedDemo(store.db)
  expect(seed.created).toBe(true)
  estateId = seed.estateId
  const gateway = await new PointDirectory(store.db).gateway(DEMO_GATEWAY_CODE)
  const partitions = new ReadingPartitions(store.db)
  await partitions.load()
  report = await backfillDemo(store.db, { estateId, gateway: gateway!, partitions, days, now, stepMs })
  series = new Map(demoHistory(await loadDemoUnits(store.db, estateId), window).map((s) => [s.meter, s]))
}, 120_000)

afterAll(() => store?.close())

describe('demo seed', () => {
  it('creates two buildings of 150 units with a meter pair each and a master per building', async () => {
    expect(await count('buildings')).toBe(2)
    expect(await count('units')).toBe(300)
    expect(await count('meters')).toBe(602)
    const masters = await store.db
      .selectFrom('meters')
      .select(['id', 'code', 'billing', 'multiplier', 'buildingId'])
      .where('parentMeterId', 'is', null)
      .where('kind', '=', 'electricity')
      .orderBy('code')
      .execute()
    expect(masters.map((m) => [m.code, m.billing, Number(m.multiplier)])).toEqual([
      ['E-1-MAIN', false, MASTER_CT_RATIO],
      ['E-2-MAIN', false, MASTER_CT_RATIO],
    ])
    const subs = await store.db
      .selectFrom('meters')
      .select(['kind', 'parentMeterId', 'buildingId', 'pointId'])
      .where('unitId', 'is not', null)
      .execute()
    expect(subs.filter((m) => m.kind === 'electricity')).toHaveLength(300)
    expect(subs.filter((m) => m.kind === 'water')).toHaveLength(300)
    expect(subs.every((m) => m.pointId !== null)).toBe(true)
    for (const m of subs.filter((s) => s.kind === 'electricity'))
      expect(m.parentMeterId).toBe(masters.find((x) => x.buildingId === m.buildingId)!.id)
    const statuses = await store.db
      .selectFrom('units')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute()
    expect(statuses.map((s) => s.status).sort()).toEqual(['decorating', 'occupied', 'rented', 'vacant'])
    const protocols = await store.db
      .selectFrom('devices')
      .select(['protocol', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('protocol')
      .orderBy('protocol')
      .execute()
    expect(protocols.map((p) => [p.protocol, Number(p.n)])).toEqual([
      ['access-webhook', 1],
      ['bacnet-ip', 1],
      ['modbus-tcp', 302],
    ])
  })

  it('is idempotent, with a fresh password and gateway secret on every start', async () => {
    const before = await Promise.all([count('units'), count('customers'), count('points')])
    const hash = async () =>
      (
        await store.db
          .selectFrom('gateways')
          .select('secretHash')
          .where('code', '=', DEMO_GATEWAY_CODE)
          .executeTakeFirstOrThrow()
      ).secretHash
    const oldHash = await hash()
    const again = await seedDemo(store.db)
    expect(again.created).toBe(false)
    expect(again.estateId).toBe(estateId)
    expect(await Promise.all([count('units'), count('customers'), count('points')])).toEqual(before)
    expect(await hash()).not.toBe(oldHash)
  })
})

describe('demo backfill', () => {
  it('commits every meter’s history through the ingest as historical batches', async () => {
    const times = readingTimes(window, stepMs)
    expect(report.skipped).toBeUndefined()
    expect(report.readings).toBe(602 * times.length)
    const stored = await store.db
      .selectFrom('readings')
      .select([(eb) => eb.fn.countAll<string>().as('n'), (eb) => eb.fn.min('ts').as('first')])
      .where('historical', '=', true)
      .executeTakeFirstOrThrow()
    expect(Number(stored.n)).toBe(report.readings)
    expect(new Date(stored.first as Date).getTime()).toBe(times[0])
    const link = await store.db.selectFrom('gatewayLinks').select('committedSeq').executeTakeFirstOrThrow()
    expect(Number(link.committedSeq)).toBe(report.batches)
  })

  it('ends each register where its simulated meter starts, the latest value of its point', async () => {
    const latest = await store.db
      .selectFrom('latestValues')
      .innerJoin('points', 'points.id', 'latestValues.pointId')
      .innerJoin('meters', 'meters.pointId', 'points.id')
      .select(['meters.code', 'latestValues.value', 'latestValues.ts'])
      .execute()
    expect(latest).toHaveLength(602)
    for (const row of latest) {
      const s = series.get(row.code)!
      expect(new Date(row.ts).getTime()).toBe(now)
      expect(Number(row.value), row.code).toBe(s.final / (s.step === 0.01 ? 100 : 1000))
    }
  })

  it('plants a leak in a vacant flat (every hour, at least 60 litres) and the rules that catch it', async () => {
    const unit = await store.db
      .selectFrom('units')
      .select('status')
      .where('code', '=', ANOMALY_LEAK)
      .executeTakeFirstOrThrow()
    expect(unit.status).toBe('vacant')
    const water = series.get(`W-${ANOMALY_LEAK}`)!
    for (let i = 1; i < water.hourly.length; i++)
      expect(water.hourly[i]! - water.hourly[i - 1]!).toBeGreaterThanOrEqual(60)
    const rules = await store.db
      .selectFrom('alarmRules')
      .select('kind')
      .where('estateId', '=', estateId)
      .execute()
    expect(new Set(rules.map((r) => r.kind))).toEqual(
      new Set(['event', 'offline', 'threshold', 'reverse_flow', 'night_flow']),
    )
  })

  it('computes October’s reads: auto, except the planted anomalies', async () => {
    expect(report.periods.map((p) => p.period)).toEqual(['2026-10'])
    const reads = await store.db
      .selectFrom('meterReads')
      .innerJoin('meters', 'meters.id', 'meterReads.meterId')
      .select(['meters.code', 'meterReads.status', 'meterReads.flags', 'meterReads.method'])
      .where('meterReads.period', '=', '2026-10')
      .execute()
    expect(reads).toHaveLength(602)
    const flagged = reads
      .filter((r) => r.status !== 'auto')
      .map((r) => [r.code, r.status, r.flags.map((f) => f.code)])
      .sort()
    expect(flagged).toEqual([
      [`E-${ANOMALY_STUCK}`, 'flagged', ['zero_occupied']],
      [`W-${ANOMALY_BACKWARDS}`, 'flagged', ['reverse']],
    ])
    expect(report.periods[0]).toEqual({ period: '2026-10', auto: 600, flagged: 2, other: 0 })
    expect(reads.every((r) => r.method === 'exact')).toBe(true)
  })

  it('bills each unit what its register advanced between the cut-offs, and masters a plausible loss', async () => {
    const reads = await store.db
      .selectFrom('meterReads')
      .innerJoin('meters', 'meters.id', 'meterReads.meterId')
      .select([
        'meters.code',
        'meters.kind',
        'meters.buildingId',
        'meters.parentMeterId',
        'meterReads.consumption',
      ])
      .where('meterReads.period', '=', '2026-10')
      .where('meters.kind', '=', 'electricity')
      .execute()
    const consumption = new Map<string, number>()
    for (const read of reads) {
      const s = series.get(read.code)!
      const advance = stepsAt(s, october.cutoff) - stepsAt(s, october.start)
      const multiplier = read.parentMeterId === null ? MASTER_CT_RATIO : 1
      // Exact decimals: compare in 0.01 kWh.
      expect(Math.round(Number(read.consumption) * 100), read.code).toBe(advance * multiplier)
      consumption.set(read.code, Number(read.consumption))
    }
    for (const building of [1, 2]) {
      const master = consumption.get(`E-${building}-MAIN`)!
      const subs = [...consumption]
        .filter(([code]) => code.startsWith(`E-${building}-`) && !code.endsWith('MAIN'))
        .reduce((sum, [, kwh]) => sum + kwh, 0)
      const loss = (master - subs) / master
      expect(loss, `building ${building}`).toBeGreaterThanOrEqual(0)
      expect(loss, `building ${building}`).toBeLessThan(0.1)
    }
  })

  it('generates nothing twice: the demo gateway has reported', async () => {
    const gateway = await new PointDirectory(store.db).gateway(DEMO_GATEWAY_CODE)
    const again = await backfillDemo(store.db, {
      estateId,
      gateway: gateway!,
      partitions: new ReadingPartitions(store.db),
      days: 2,
      now,
    })
    expect(again.skipped).toMatch(/has reported before/)
    expect(again.readings).toBe(0)
  })
})

describe('demo backfill options', () => {
  it('parses --backfill as days', () => {
    expect(parseBackfillDays('40d')).toBe(40)
    expect(parseBackfillDays('7')).toBe(7)
    expect(parseBackfillDays('0')).toBe(0)
    expect(() => parseBackfillDays('two weeks')).toThrow(/number of days/)
  })

  it('defaults to enough days to cover last month', () => {
    for (const at of [now, Date.UTC(2026, 10, 27, 3), Date.UTC(2026, 11, 31, 15)]) {
      const covered = periodsCovered(
        historyWindow(daysCoveringLastPeriod(at, 'Asia/Shanghai', null), at),
        'Asia/Shanghai',
        null,
      )
      expect(covered.length, new Date(at).toISOString()).toBeGreaterThanOrEqual(1)
    }
    expect(daysCoveringLastPeriod(now, 'Asia/Shanghai', null)).toBe(40)
  })
})
