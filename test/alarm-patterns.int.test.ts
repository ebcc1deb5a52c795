import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AlarmEngine } from '../hub/alarms/alarm-engine.ts'
import { checkOffline, hourlyFlow, lastNight, NightFlowWatch } from '../hub/alarms/alarm-watch.ts'
import { Decimal } from '../hub/kernel/decimal.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { connectWireGateway, type WireGateway } from './support/wire-gateway.ts'

/**
 * The rule kinds beyond event/state/threshold, through the real ingest and the alarm engine
 * (or the watch that runs every minute, with its clock given): N denied attempts at one door
 * within M minutes, rate of change, reverse flow on a meter (a register wrap is not), a device
 * or gateway offline for N minutes, and continuous night flow on a vacant unit's water meter.
 */
const MIN = 60_000

for (const backend of storeBackends()) {
  describe(`alarm patterns (${backend.name})`, () => {
    let store: Store
    let site: Site
    let engine: AlarmEngine
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    let gateway: WireGateway
    const ruleIds = new Map<string, string>()

    const send = async (parts: Parameters<WireGateway['send']>[0]) => {
      await gateway.send(parts)
      await engine.idle()
    }
    const alarmsOf = (rule: string) =>
      store.db
        .selectFrom('alarms')
        .selectAll()
        .where('ruleId', '=', ruleIds.get(rule)!)
        .orderBy('raisedAt')
        .execute()
    const ordersOf = async (rule: string) => {
      const alarms = await alarmsOf(rule)
      if (alarms.length === 0) return []
      return store.db
        .selectFrom('workOrders')
        .selectAll()
        .where(
          'alarmId',
          'in',
          alarms.map((a) => a.id),
        )
        .execute()
    }

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, {
        code: 'PAT',
        points: [
          { device: 'door-ctl', point: 'status', kind: 'state' },
          { device: 'boiler', point: 'pressure', kind: 'gauge' },
          { device: 'wm-101', point: 'total', kind: 'counter' },
          { device: 'wm-102', point: 'total', kind: 'counter' },
          { device: 'wm-201', point: 'total', kind: 'counter' },
          { device: 'wm-202', point: 'total', kind: 'counter' },
          { device: 'chiller', point: 'temp', kind: 'gauge' },
        ],
      })
      // Units for the meters: 201 and 202 vacant (night flow is judged there), 101 occupied.
      const unit = async (code: string, status: 'vacant' | 'occupied') =>
        (
          await store.db
            .insertInto('units')
            .values({
              estateId: site.estateId,
              buildingId: site.buildingId,
              code,
              floor: 1,
              areaM2: '80',
              use: 'residence',
              status,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      const meter = async (code: string, device: string, unitId: string, capacity: string | null) =>
        store.db
          .insertInto('meters')
          .values({
            estateId: site.estateId,
            code,
            kind: 'water',
            unitId,
            buildingId: site.buildingId,
            pointId: site.pointIds.get(`${device}/total`)!,
            registerCapacity: capacity,
          })
          .execute()
      await meter('W-101', 'wm-101', await unit('101', 'occupied'), '10000')
      await meter('W-102', 'wm-102', await unit('102', 'occupied'), '10000')
      await meter('W-201', 'wm-201', await unit('201', 'vacant'), null)
      await meter('W-202', 'wm-202', await unit('202', 'vacant'), null)
      const rule = async (name: string, values: Record<string, unknown>) => {
        const row = await store.db
          .insertInto('alarmRules')
          .values({ estateId: site.estateId, name, severity: 'major', ...values } as never)
          .returning('id')
          .executeTakeFirstOrThrow()
        ruleIds.set(name, row.id)
      }
      await rule('连续刷卡失败', {
        kind: 'event',
        eventType: 'denied',
        eventCount: 5,
        windowSeconds: 120,
        workOrderCategory: 'security',
        workOrderPriority: 'high',
        department: '安保部',
      })
      await rule('压力突变', {
        kind: 'rate',
        pointId: site.pointIds.get('boiler/pressure'),
        ratePerMinute: '10',
      })
      await rule('水表倒转', {
        kind: 'reverse_flow',
        workOrderCategory: 'metering',
        workOrderPriority: 'normal',
        department: '工程部',
      })
      await rule('设备离线', {
        kind: 'offline',
        offlineTarget: 'device',
        offlineMinutes: 10,
        deviceId: site.deviceIds.get('chiller'),
      })
      await rule('网关离线', { kind: 'offline', offlineTarget: 'gateway', offlineMinutes: 15 })
      await rule('空置房夜间流水', {
        kind: 'night_flow',
        nightStart: 1,
        nightEnd: 5,
        minFlow: '0.05',
        workOrderCategory: 'plumbing',
        workOrderPriority: 'high',
        department: '工程部',
      })
      engine = new AlarmEngine(store.db, captureLog())
      ingest = await startTestIngest(store.db, captureLog(), { inCommit: engine.inCommit })
      gateway = await connectWireGateway(ingest.url, site)
    })
    afterAll(async () => {
      await gateway?.close()
      await ingest?.close()
      await engine?.idle()
      await store?.close()
    })

    it('raises on the fifth denied attempt at one door within two minutes, not on four, not when spread out', async () => {
      const t0 = Date.now() - 30 * MIN
      const denied = (door: string, t: number) => ({
        s: `door-ctl/${door}`,
        t,
        type: 'denied' as const,
        d: { door },
      })
      // Five attempts ten minutes apart at the west gate: never five within two minutes.
      for (let i = 0; i < 5; i++) await send({ events: [denied('west', t0 + i * 3 * MIN)] })
      await send({ events: [0, 1, 2, 3].map((i) => denied('east', t0 + 20 * MIN + i * 10_000)) })
      expect(await alarmsOf('连续刷卡失败')).toHaveLength(0)
      await send({ events: [denied('east', t0 + 20 * MIN + 50_000)] })
      const alarms = await alarmsOf('连续刷卡失败')
      expect(alarms.map((a) => a.source)).toEqual(['door-ctl/east'])
      expect(alarms[0]!.details).toMatchObject({ count: 5, windowSeconds: 120 })
      const orders = await ordersOf('连续刷卡失败')
      expect(orders.map((o) => [o.location, o.priority, o.department])).toEqual([
        ['door-ctl/east', 'high', '安保部'],
      ])
      // A sixth attempt counts on the open alarm; it does not raise another.
      await send({ events: [denied('east', t0 + 20 * MIN + 55_000)] })
      expect((await alarmsOf('连续刷卡失败')).map((a) => a.occurrences)).toEqual([2])
    })

    it('raises when a value changes faster than the rate per minute, and clears when it settles', async () => {
      const p = 'boiler/pressure'
      const t0 = Date.now() - 20 * MIN
      await send({ readings: [{ p, t: t0, v: 100, q: 'good' }] })
      await send({ readings: [{ p, t: t0 + MIN, v: 108, q: 'good' }] }) // 8 per minute
      expect(await alarmsOf('压力突变')).toHaveLength(0)
      await send({ readings: [{ p, t: t0 + 2 * MIN, v: 60, q: 'good' }] }) // 48 per minute down
      const raised = await alarmsOf('压力突变')
      expect(raised.map((a) => [a.status, a.details.perMinute])).toEqual([['active', '48']])
      await send({ readings: [{ p, t: t0 + 4 * MIN, v: 62, q: 'good' }] }) // 1 per minute
      expect((await alarmsOf('压力突变')).map((a) => a.status)).toEqual(['cleared'])
    })

    it('flags a meter that runs backwards, but not a register that wraps past its capacity', async () => {
      const t0 = Date.now() - 60 * MIN
      await send({
        readings: [
          { p: 'wm-101/total', t: t0, v: 1234.5, q: 'good' },
          { p: 'wm-102/total', t: t0, v: 9999.2, q: 'good' },
        ],
      })
      await send({
        readings: [
          { p: 'wm-101/total', t: t0 + 15 * MIN, v: 1233.9, q: 'good' },
          { p: 'wm-102/total', t: t0 + 15 * MIN, v: 0.4, q: 'good' },
        ],
      })
      const alarms = await alarmsOf('水表倒转')
      expect(alarms.map((a) => [a.source, a.details.previous])).toEqual([['wm-101/total', '1234.5']])
      expect((await ordersOf('水表倒转')).map((o) => o.category)).toEqual(['metering'])
      await send({ readings: [{ p: 'wm-101/total', t: t0 + 30 * MIN, v: 1234.8, q: 'good' }] })
      expect((await alarmsOf('水表倒转')).map((a) => a.status)).toEqual(['cleared'])
    })

    it('remembers the previous value across a restart (read back from the store)', async () => {
      const fresh = new AlarmEngine(store.db, captureLog())
      const t = Date.now() - 5 * MIN
      const wm = {
        id: site.pointIds.get('wm-101/total')!,
        deviceId: site.deviceIds.get('wm-101')!,
        kind: 'counter' as const,
        plausibleMin: null,
        plausibleMax: null,
      }
      await fresh.handle({
        gateway: {
          id: site.gatewayId,
          code: site.gatewayCode,
          estateId: site.estateId,
          enabled: true,
          secretHash: '',
          points: new Map(),
          devices: new Map(),
        },
        batch: {
          v: 1,
          gateway: site.gatewayCode,
          session: 's',
          seq: 1,
          oldest: 1,
          sentAt: t,
          historical: false,
          readings: [],
          events: [],
        },
        stored: [{ point: wm, name: 'wm-101/total', wire: { p: 'wm-101/total', t, v: 1200, q: 'good' } }],
      })
      const alarms = await alarmsOf('水表倒转')
      expect(alarms.map((a) => a.status)).toEqual(['active'])
      expect(alarms[0]!.occurrences).toBe(2)
    })

    it('raises a device offline after N minutes of silence and clears when it reports again', async () => {
      const p = 'chiller/temp'
      await send({ readings: [{ p, t: Date.now(), v: 7.5, q: 'good' }] })
      expect(await checkOffline(store.db, new Date(Date.now() + 9 * MIN))).toMatchObject({ raised: 0 })
      expect(await alarmsOf('设备离线')).toHaveLength(0)
      await checkOffline(store.db, new Date(Date.now() + 11 * MIN))
      expect((await alarmsOf('设备离线')).map((a) => [a.source, a.status])).toEqual([['chiller', 'active']])
      // The same silence checked again is the same alarm.
      await checkOffline(store.db, new Date(Date.now() + 12 * MIN))
      expect(await alarmsOf('设备离线')).toHaveLength(1)
      await send({ readings: [{ p, t: Date.now(), v: 7.6, q: 'good' }] })
      await checkOffline(store.db, new Date(Date.now() + MIN))
      expect((await alarmsOf('设备离线')).map((a) => a.status)).toEqual(['cleared'])
    })

    it('raises a gateway offline when its last batch is older than the limit', async () => {
      await send({})
      await checkOffline(store.db, new Date(Date.now() + 5 * MIN))
      expect(await alarmsOf('网关离线')).toHaveLength(0)
      await checkOffline(store.db, new Date(Date.now() + 16 * MIN))
      expect((await alarmsOf('网关离线')).map((a) => a.source)).toEqual([`gateway:${site.gatewayCode}`])
    })

    it('raises night flow on a vacant unit whose meter moved every hour of the night, not on one with a still hour', async () => {
      const now = Date.now()
      const night = lastNight(now, 'Asia/Shanghai', 1, 5)
      expect(night.hours).toBe(4)
      const readings = []
      let a = 50
      let b = 80
      for (let t = night.start - 60 * MIN; t <= night.end; t += 15 * MIN) {
        a += 0.02 // 0.08 an hour: a dripping tap
        // 202 stands still from 03:00 to 04:00.
        if (!(t > night.start + 2 * 60 * MIN && t <= night.start + 3 * 60 * MIN)) b += 0.03
        readings.push({ p: 'wm-201/total', t, v: Number(a.toFixed(2)), q: 'good' as const })
        readings.push({ p: 'wm-202/total', t, v: Number(b.toFixed(2)), q: 'good' as const })
      }
      await send({ readings, historical: true })
      const watch = new NightFlowWatch(store.db)
      expect(await watch.check(new Date(now))).toEqual({ raised: 1, cleared: 0 })
      const alarms = await alarmsOf('空置房夜间流水')
      expect(alarms.map((a) => [a.source, a.details.unit, a.details.hourly])).toEqual([
        ['wm-201/total', '201', ['0.08', '0.08', '0.08', '0.08']],
      ])
      expect((await ordersOf('空置房夜间流水')).map((o) => [o.priority, o.location])).toEqual([
        ['high', 'wm-201/total'],
      ])
      // The same night is judged once.
      expect(await watch.check(new Date(now + MIN))).toEqual({ raised: 0, cleared: 0 })
    })
  })
}

describe('hourly flow through the night', () => {
  const H = 3_600_000
  const d = (v: string) => Decimal.of(v)
  it('takes the register at each hour boundary and refuses to judge a gap or a register that went back', () => {
    const series = [0, 1, 2, 3].map((h) => ({ t: h * H, value: d((h / 10).toFixed(1)) }))
    expect(hourlyFlow(series, 0, 3)?.map(String)).toEqual(['0.1', '0.1', '0.1'])
    expect(hourlyFlow(series.slice(0, 2), 0, 3)).toBeUndefined()
    expect(hourlyFlow([...series.slice(0, 2), { t: 2 * H, value: d('0') }], 0, 2)).toBeUndefined()
  })
  it('finds the latest finished night in the estate time zone, across midnight too', () => {
    // 2025-03-10 06:00 in Shanghai = 2025-03-09 22:00 UTC.
    const now = Date.UTC(2025, 2, 9, 22)
    const early = lastNight(now, 'Asia/Shanghai', 1, 5)
    expect(new Date(early.start).toISOString()).toBe('2025-03-09T17:00:00.000Z')
    expect(new Date(early.end).toISOString()).toBe('2025-03-09T21:00:00.000Z')
    const late = lastNight(now, 'Asia/Shanghai', 23, 5)
    expect(late.hours).toBe(6)
    expect(new Date(late.start).toISOString()).toBe('2025-03-09T15:00:00.000Z')
  })
})
