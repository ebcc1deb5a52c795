import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkBatch } from '../gateway/contract/index.ts'
import { AlarmEngine } from '../hub/alarms/alarm-engine.ts'
import { migrateHub } from '../hub/app/hub-migrations.ts'
import { commitBatch, settleDeadLetter } from '../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { openStore, type Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * Issue 14: alarm state with several hubs on one PostgreSQL. Two "hubs" here are two ingest
 * stacks of the hub's own code (a connection pool, a point directory, reading partitions, an
 * alarm engine each) on one database, committing batches of one gateway through commitBatch
 * with the engine's in-transaction hook, as the ingest service does. The batches of one
 * gateway are split between them and committed out of seq order on purpose (seq n+1 on hub B
 * before seq n on hub A), and also all at once; the alarms must equal those of a second site
 * whose identical batches one hub committed in order. The case (above 100 for 60 s,
 * readings 150/50/150 at 0/30/70 s) raised an alarm with two hubs and none with one.
 */
const postgres = storeBackends().find((b) => b.name === 'postgres')
const pgUrl = process.env.ESTATEHUB_TEST_PG_URL ?? ''
const S = 1000

interface Hub {
  readonly store: Store
  readonly engine: AlarmEngine
  readonly directory: PointDirectory
  readonly partitions: ReadingPartitions
}

async function openHub(url: string): Promise<Hub> {
  const store = await openStore({ url, poolMax: 3 })
  return {
    store,
    engine: new AlarmEngine(store.db, captureLog()),
    directory: new PointDirectory(store.db),
    partitions: new ReadingPartitions(store.db),
  }
}

type Parts = Pick<Partial<UplinkBatch>, 'readings' | 'events' | 'historical'>

describe.runIf(postgres)('alarm state across hubs on one PostgreSQL', () => {
  const dbName = `eh_test_${randomBytes(6).toString('hex')}`
  let dbUrl: string
  let hubA: Hub
  let hubB: Hub
  /** The site whose batches the two hubs split, and the one a single hub takes in order. */
  let split: Site
  let single: Site
  const nextSeq = new Map<string, number>()
  // Every reading of the file lies between t0 and now (one ahead of the hub clock is set aside).
  const t0 = Date.now() - 6 * 3_600_000

  const batchOf = (site: Site, seq: number, oldest: number, parts: Parts): UplinkBatch => ({
    v: 1,
    gateway: site.gatewayCode,
    session: 's',
    seq,
    oldest,
    sentAt: Date.now(),
    historical: false,
    readings: [],
    events: [],
    ...parts,
  })
  const commitOn = async (hub: Hub, site: Site, batch: UplinkBatch) => {
    const gateway = await hub.directory.gateway(site.gatewayCode)
    return commitBatch(hub.store.db, hub.partitions, gateway!, batch, { inCommit: hub.engine.inCommit })
  }
  /** The next `count` seqs of a site's gateway (all held by the gateway until acked: oldest is the first). */
  const seqs = (site: Site, count: number) => {
    const first = nextSeq.get(site.gatewayCode)!
    nextSeq.set(site.gatewayCode, first + count)
    return Array.from({ length: count }, (_, i) => first + i)
  }

  /**
   * The batches on the single site, in order, on hub A; and on the split site in `order`
   * (indexes into `batches`), each on the hub `hubs` names for it ('A' or 'B'), one after the
   * other, or all at once when `together`.
   */
  const play = async (
    batches: readonly Parts[],
    order: readonly number[],
    hubs: string,
    options: { together?: boolean } = {},
  ) => {
    const one = seqs(single, batches.length)
    for (const [i, parts] of batches.entries())
      await commitOn(hubA, single, batchOf(single, one[i]!, one[0]!, parts))
    const two = seqs(split, batches.length)
    const sends = order.map((i) => () => {
      const hub = hubs[i] === 'B' ? hubB : hubA
      return commitOn(hub, split, batchOf(split, two[i]!, two[0]!, batches[i]!))
    })
    if (options.together) await Promise.all(sends.map((send) => send()))
    else for (const send of sends) await send()
  }

  /** A site's alarms of one rule, as comparable rows (no ids). */
  const alarmsOf = async (site: Site, rule: string) => {
    const rows = await hubA.store.db
      .selectFrom('alarms')
      .innerJoin('alarmRules', 'alarmRules.id', 'alarms.ruleId')
      .select([
        'alarms.source',
        'alarms.status',
        'alarms.occurrences',
        'alarms.raisedAt',
        'alarms.lastSeenAt',
        'alarms.clearedAt',
        'alarms.details',
      ])
      .where('alarms.estateId', '=', site.estateId)
      .where('alarmRules.name', '=', rule)
      .orderBy('alarms.source')
      .orderBy('alarms.raisedAt')
      .execute()
    return rows.map((r) => ({
      ...r,
      raisedAt: r.raisedAt.toISOString(),
      lastSeenAt: r.lastSeenAt.toISOString(),
      clearedAt: r.clearedAt?.toISOString() ?? null,
    }))
  }
  const sameOnBoth = async (rule: string) => {
    const expected = await alarmsOf(single, rule)
    expect(await alarmsOf(split, rule)).toEqual(expected)
    return expected
  }
  const temp = (device: string, atS: number, v: number) => ({
    readings: [{ p: `${device}/temp`, t: t0 + atS * S, v, q: 'good' as const }],
  })

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: pgUrl })
    await admin.connect()
    await admin.query(`create database ${dbName}`)
    await admin.end()
    const url = new URL(pgUrl)
    url.pathname = `/${dbName}`
    dbUrl = url.toString()
    hubA = await openHub(dbUrl)
    await migrateHub(hubA.store.db)
    hubB = await openHub(dbUrl)
    const points = [
      ...['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5', 'pump-6', 'pump-7', 'pump-8'].map((device) => ({
        device,
        point: 'temp',
        kind: 'gauge' as const,
      })),
      { device: 'boiler', point: 'pressure', kind: 'gauge' as const },
      { device: 'wm-101', point: 'total', kind: 'counter' as const },
      { device: 'door-ctl', point: 'status', kind: 'state' as const },
    ]
    for (const code of ['SPLIT', 'SINGLE']) {
      const site = await seedSite(hubA.store.db, { code, points })
      await hubA.store.db
        .updateTable('devices')
        .set({ deviceClass: 'pump' })
        .where('estateId', '=', site.estateId)
        .where('code', 'like', 'pump-%')
        .execute()
      const rule = (values: Record<string, unknown>) =>
        hubA.store.db
          .insertInto('alarmRules')
          .values({ estateId: site.estateId, severity: 'major', ...values } as never)
          .execute()
      await rule({
        name: '水泵过热',
        kind: 'threshold',
        deviceClass: 'pump',
        above: '100',
        holdSeconds: 60,
        workOrderCategory: 'equipment',
        workOrderPriority: 'normal',
      })
      await rule({
        name: '压力突变',
        kind: 'rate',
        pointId: site.pointIds.get('boiler/pressure'),
        ratePerMinute: '10',
      })
      await rule({ name: '水表倒转', kind: 'reverse_flow', pointId: site.pointIds.get('wm-101/total') })
      await rule({
        name: '连续刷卡失败',
        kind: 'event',
        eventType: 'denied',
        eventCount: 5,
        windowSeconds: 120,
      })
      await rule({
        name: '门被强行打开',
        kind: 'event',
        eventType: 'forced',
        severity: 'critical',
        workOrderCategory: 'security',
        workOrderPriority: 'urgent',
        department: '安保部',
      })
      nextSeq.set(site.gatewayCode, Date.now())
      if (code === 'SPLIT') split = site
      else single = site
    }
  })

  afterAll(async () => {
    await hubA?.store.close()
    await hubB?.store.close()
    const dropper = new pg.Client({ connectionString: pgUrl })
    await dropper.connect()
    await dropper.query(`drop database if exists ${dbName} with (force)`)
    await dropper.end()
  })

  it("gives the issue's case (150/50/150 at 0/30/70 s, above 100 for 60 s) the one-hub answer: no alarm", async () => {
    const batches = [temp('pump-1', 0, 150), temp('pump-1', 30, 50), temp('pump-1', 70, 150)]
    // Hub B commits seq n+1 before hub A commits n; then n+2 on A.
    await play(batches, [1, 0, 2], 'ABA')
    expect(await sameOnBoth('水泵过热')).toEqual([])
    // The last batch ahead of both others, each on another hub than its neighbour.
    await play([temp('pump-2', 0, 150), temp('pump-2', 30, 50), temp('pump-2', 70, 150)], [2, 1, 0], 'ABA')
    expect(await sameOnBoth('水泵过热')).toEqual([])
  })

  it('raises a hold that lasted, with its start, whichever order the hubs commit in (every order of three)', async () => {
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]
    for (const [i, order] of orders.entries()) {
      const device = `pump-${3 + (i % 2)}`
      // A fresh excursion per order, each after the previous one cleared (below 95 clears nothing: hysteresis 0).
      const base = 1000 * (i + 1)
      await play(
        [
          temp(device, base, 150),
          temp(device, base + 30, 160),
          temp(device, base + 70, 155),
          temp(device, base + 80, 90),
        ],
        [...order, 3],
        i % 2 === 0 ? 'BAAB' : 'ABBA',
      )
    }
    const alarms = await sameOnBoth('水泵过热')
    expect(alarms.map((a) => [a.source, a.status, a.occurrences])).toEqual([
      ['pump-3/temp', 'cleared', 3],
      ['pump-4/temp', 'cleared', 3],
    ])
    expect(alarms[0]!.details).toMatchObject({ value: 155, since: new Date(t0 + 1000 * S).toISOString() })
  })

  it("gives the one-hub answer when one gateway's batches reach both hubs at once", async () => {
    const batches = [0, 20, 40, 60, 80, 100, 120, 140].map((s, i) =>
      temp('pump-5', 5000 + s, i === 3 ? 90 : 120),
    )
    await play(batches, [7, 6, 5, 4, 3, 2, 1, 0], 'ABABABAB', { together: true })
    // 120 from 0 to 40, 90 at 60 (the hold restarts), 120 from 80: held 60 s at 140.
    const alarms = await sameOnBoth('水泵过热')
    expect(alarms.filter((a) => a.source === 'pump-5/temp').map((a) => a.details.since)).toEqual([
      new Date(t0 + 5080 * S).toISOString(),
    ])
  })

  it('compares rate and reverse flow with the previous value whichever hub stored it', async () => {
    const pressure = (atS: number, v: number) => ({
      readings: [{ p: 'boiler/pressure', t: t0 + atS * S, v, q: 'good' as const }],
    })
    const meter = (atS: number, v: number) => ({
      readings: [{ p: 'wm-101/total', t: t0 + atS * S, v, q: 'good' as const }],
    })
    // 100, 108 (8 a minute), 60 (48 a minute down: raised), 62 (1 a minute: cleared).
    await play(
      [pressure(0, 100), pressure(60, 108), pressure(120, 60), pressure(240, 62)],
      [1, 3, 0, 2],
      'BABA',
    )
    const rate = await sameOnBoth('压力突变')
    expect(rate.map((a) => [a.status, a.details.perMinute, a.details.previous])).toEqual([
      ['cleared', '48', '108'],
    ])
    // 1234.5, then 1233.9 on the other hub first (ran backwards: raised), then 1234.8 (cleared).
    await play([meter(0, 1234.5), meter(900, 1233.9), meter(1800, 1234.8)], [1, 0, 2], 'ABA')
    const reverse = await sameOnBoth('水表倒转')
    expect(reverse.map((a) => [a.status, a.details.previous])).toEqual([['cleared', '1234.5']])
  })

  it('keeps a hold through a restart of the hub that started it', async () => {
    await play([temp('pump-6', 0, 150)], [0], 'A')
    // Hub A restarts (a new process: new pool, new engine, nothing in memory) mid-hold.
    await hubA.store.close()
    hubA = await openHub(dbUrl)
    await play([temp('pump-6', 30, 150), temp('pump-6', 70, 150)], [1, 0], 'AB')
    const alarms = await sameOnBoth('水泵过热')
    expect(alarms.filter((a) => a.source === 'pump-6/temp').map((a) => [a.status, a.details.since])).toEqual([
      ['active', new Date(t0).toISOString()],
    ])
  })

  it('raises the N-in-M event pattern once at the Nth event, and counts no later batch a hub committed ahead', async () => {
    const denied = (door: string, atS: number) => ({
      s: `door-ctl/${door}`,
      t: t0 + atS * S,
      type: 'denied' as const,
      d: { door },
    })
    // Five attempts 10 s apart in five batches, committed out of order on two hubs: one alarm, at the fifth.
    await play(
      [0, 10, 20, 30, 40].map((s) => ({ events: [denied('east', s)] })),
      [4, 2, 0, 3, 1],
      'BABAB',
    )
    const east = await sameOnBoth('连续刷卡失败')
    expect(east.map((a) => [a.source, a.occurrences, a.details.count, a.raisedAt])).toEqual([
      ['door-ctl/east', 1, 5, new Date(t0 + 40 * S).toISOString()],
    ])
    // Four attempts, then a batch with a fifth the controller had buffered (stamped earlier).
    // In seq order no attempt has four others before it within two minutes, so nothing is
    // raised; counting the later batch hub B committed first would raise at the fourth.
    await play(
      [
        { events: [1010, 1020, 1030, 1040].map((s) => denied('west', s)) },
        { events: [denied('west', 1005)] },
      ],
      [1, 0],
      'AB',
    )
    expect((await sameOnBoth('连续刷卡失败')).map((a) => a.source)).toEqual(['door-ctl/east'])
  })

  it('raises many events of one batch together as one by one would: counts, first and last seen, orders', async () => {
    const forced = (door: string, atS: number) => ({
      s: `door-ctl/${door}`,
      t: t0 + atS * S,
      type: 'forced' as const,
      d: { door },
    })
    await play(
      [
        { events: [forced('a', 2000)] },
        { events: [forced('a', 2001), forced('b', 2002), forced('b', 2003), forced('c', 2004)] },
      ],
      [1, 0],
      'BA',
    )
    const alarms = await sameOnBoth('门被强行打开')
    const at = (s: number) => new Date(t0 + s * S).toISOString()
    expect(
      alarms.map((a) => [
        a.source,
        a.status,
        a.occurrences,
        a.raisedAt,
        a.lastSeenAt,
        (a.details.event as { at: string }).at,
      ]),
    ).toEqual([
      ['door-ctl/a', 'active', 2, at(2000), at(2001), at(2000)],
      ['door-ctl/b', 'active', 2, at(2002), at(2003), at(2002)],
      ['door-ctl/c', 'active', 1, at(2004), at(2004), at(2004)],
    ])
    const orders = await hubA.store.db
      .selectFrom('workOrders')
      .innerJoin('workOrderEvents', 'workOrderEvents.workOrderId', 'workOrders.id')
      .select([
        'workOrders.location',
        'workOrders.priority',
        'workOrders.department',
        'workOrders.buildingId',
        'workOrderEvents.action',
        'workOrders.title',
      ])
      .where('workOrders.estateId', '=', split.estateId)
      .where('workOrders.category', '=', 'security')
      .orderBy('workOrders.location')
      .execute()
    expect(orders).toEqual(
      ['a', 'b', 'c'].map((door) => ({
        location: `door-ctl/${door}`,
        priority: 'urgent',
        department: '安保部',
        buildingId: split.buildingId,
        action: 'created',
        title: `门被强行打开: door-ctl/${door}`,
      })),
    )
  })

  it('judges the parked batches when a dead letter closes the gap, and leaves nothing parked', async () => {
    const [n, next] = seqs(split, 2)
    // n+1 reaches hub B and is committed (parked: n is missing); n was refused and is settled by hub A.
    await commitOn(hubB, split, batchOf(split, next!, n!, temp('pump-8', 9000, 150)))
    await commitOn(hubB, split, batchOf(split, next! + 1, n!, temp('pump-8', 9070, 150)))
    nextSeq.set(split.gatewayCode, next! + 2)
    expect(
      await alarmsOf(split, '水泵过热').then((a) => a.filter((x) => x.source === 'pump-8/temp')),
    ).toEqual([])
    const parked = await hubA.store.db.selectFrom('alarmParkedBatches').select('seq').orderBy('seq').execute()
    expect(parked.map((p) => p.seq)).toEqual([next, next! + 1])
    const gateway = await hubA.directory.gateway(split.gatewayCode)
    expect(await settleDeadLetter(hubA.store.db, gateway!, n!, n!, { inCommit: hubA.engine.inCommit })).toBe(
      next! + 1,
    )
    const alarms = (await alarmsOf(split, '水泵过热')).filter((a) => a.source === 'pump-8/temp')
    expect(alarms.map((a) => [a.status, a.details.since])).toEqual([
      ['active', new Date(t0 + 9000 * S).toISOString()],
    ])
    expect(await hubA.store.db.selectFrom('alarmParkedBatches').selectAll().execute()).toEqual([])
  })
})
