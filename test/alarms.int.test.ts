import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ackTopic, batchTopic, parseAck, type UplinkBatch } from '../gateway/contract/index.ts'
import { AlarmEngine } from '../hub/alarms/alarm-engine.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * Device signals to alarms to work orders through the real ingest (MQTT, commit, then the
 * alarm engine): a forced door becomes one urgent order; a leak input that flaps 50 times is
 * one alarm and one order; an over-temperature shorter than its hold time raises nothing, a
 * longer one raises one; a replayed (historical) forced door raises nothing. How fast an order
 * follows is printed here and measured by test/bench/alarm-bench.ts (p99 target 500 ms).
 */
// Waits bound only a hang: a busy machine is slow, never wrong.
const waitUntil = async (what: string, ok: () => Promise<boolean>, timeoutMs = 20_000) => {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

for (const backend of storeBackends()) {
  describe(`alarms and work orders from device signals (${backend.name})`, () => {
    let store: Store
    let site: Site
    let engine: AlarmEngine
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    let gateway: MqttClient
    const acks: number[] = []
    let seq = Date.now()

    const send = async (parts: Partial<UplinkBatch>) => {
      const s = ++seq
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: s,
        oldest: s,
        sentAt: Date.now(),
        historical: false,
        readings: [],
        events: [],
        ...parts,
      }
      await gateway.publishAsync(batchTopic(site.gatewayCode), JSON.stringify(batch), { qos: 1 })
      await waitUntil('ack', async () => acks.includes(s))
      await engine.idle()
    }
    const orders = () =>
      store.db.selectFrom('workOrders').selectAll().where('estateId', '=', site.estateId).execute()
    const alarmsOf = (ruleName: string) =>
      store.db
        .selectFrom('alarms')
        .innerJoin('alarmRules', 'alarmRules.id', 'alarms.ruleId')
        .selectAll('alarms')
        .where('alarmRules.name', '=', ruleName)
        .execute()

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, {
        code: 'ALM',
        points: [
          { device: 'door-ctl', point: 'status', kind: 'state' },
          { device: 'leak-1', point: 'wet', kind: 'state' },
          { device: 'pump-1', point: 'temperature', kind: 'gauge' },
        ],
      })
      const rule = (values: Record<string, unknown>) =>
        store.db
          .insertInto('alarmRules')
          .values({ estateId: site.estateId, ...values } as never)
          .execute()
      await rule({
        name: '门被强行打开',
        kind: 'event',
        eventType: 'forced',
        severity: 'critical',
        workOrderCategory: 'security',
        workOrderPriority: 'urgent',
        department: '安保部',
      })
      await rule({
        name: '漏水',
        kind: 'state',
        pointId: site.pointIds.get('leak-1/wet'),
        matchValue: '1',
        workOrderCategory: 'plumbing',
        workOrderPriority: 'high',
        department: '工程部',
      })
      await rule({
        name: '水泵过热',
        kind: 'threshold',
        pointId: site.pointIds.get('pump-1/temperature'),
        above: '80',
        hysteresis: '5',
        holdSeconds: 120,
        workOrderCategory: 'equipment',
        workOrderPriority: 'normal',
        department: '工程部',
      })
      engine = new AlarmEngine(store.db, captureLog())
      ingest = await startTestIngest(store.db, captureLog(), { inCommit: engine.inCommit })
      gateway = await mqtt.connectAsync(ingest.url, {
        clientId: site.gatewayCode,
        username: site.gatewayCode,
        password: site.secret,
        reconnectPeriod: 0,
      })
      gateway.on('message', (_t, payload) => {
        const parsed = parseAck(payload)
        if (parsed.ok) acks.push(parsed.ack.seq)
      })
      await gateway.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
    })
    afterAll(async () => {
      await gateway?.endAsync()
      await ingest?.close()
      await engine?.idle()
      await store?.close()
    })

    it('turns a forced door into one urgent work order for that estate and door', async () => {
      const started = performance.now()
      const s = ++seq
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: s,
        oldest: s,
        sentAt: Date.now(),
        historical: false,
        readings: [],
        events: [{ s: 'door-ctl/east-gate', t: Date.now(), type: 'forced', d: { door: 'east-gate' } }],
      }
      await gateway.publishAsync(batchTopic(site.gatewayCode), JSON.stringify(batch), { qos: 1 })
      await waitUntil('a work order', async () => (await orders()).length > 0)
      const elapsed = performance.now() - started
      const [order] = await orders()
      expect(order).toMatchObject({
        source: 'alarm',
        priority: 'urgent',
        category: 'security',
        department: '安保部',
        status: 'registered',
        deviceId: site.deviceIds.get('door-ctl'),
      })
      expect(order!.title).toContain('east-gate')
      console.log(`[timing] alarms (${backend.name}): forced door → work order ${elapsed.toFixed(0)} ms`)
      // Again at the same door: the open alarm counts it, no second order.
      await send({ events: [{ s: 'door-ctl/east-gate', t: Date.now(), type: 'forced', d: {} }] })
      expect(await orders()).toHaveLength(1)
      expect((await alarmsOf('门被强行打开'))[0]!.occurrences).toBe(2)
    })

    it('gives a leak input that flaps 50 times one alarm and one order', async () => {
      const before = (await orders()).length
      const t = Date.now() - 60_000
      await send({
        readings: Array.from({ length: 50 }, (_, i) => ({
          p: 'leak-1/wet',
          t: t + i * 100,
          v: i % 2 === 0,
          q: 'good' as const,
        })),
      })
      for (let i = 0; i < 4; i++)
        await send({ readings: [{ p: 'leak-1/wet', t: t + 10_000 + i, v: i % 2 === 0, q: 'good' }] })
      const alarms = await alarmsOf('漏水')
      expect(alarms).toHaveLength(1)
      expect(alarms[0]!.occurrences).toBe(27)
      expect((await orders()).length).toBe(before + 1)
    })

    it('raises nothing for an over-temperature shorter than its hold time, and one alarm for a longer one', async () => {
      const before = (await orders()).length
      const t = Date.now() - 30 * 60_000
      const temp = (offsetS: number, v: number) => ({
        p: 'pump-1/temperature',
        t: t + offsetS * 1000,
        v,
        q: 'good' as const,
      })
      // Over 80 °C for 90 s (hold 120 s), then back to 70: nothing.
      await send({ readings: [temp(0, 79), temp(30, 85), temp(60, 86), temp(120, 84), temp(150, 70)] })
      expect(await alarmsOf('水泵过热')).toEqual([])
      // 82 °C for 3 minutes: one alarm; 78 is inside the 5 °C hysteresis, so it stays active.
      await send({ readings: [temp(300, 82), temp(360, 83), temp(420, 82), temp(480, 82), temp(540, 78)] })
      const alarms = await alarmsOf('水泵过热')
      expect(alarms).toHaveLength(1)
      expect(alarms[0]!.status).toBe('active')
      expect((await orders()).length).toBe(before + 1)
      // Down to 74: cleared (the order stays: an alarm clearing does not close the repair).
      await send({ readings: [temp(600, 74)] })
      expect((await alarmsOf('水泵过热'))[0]!.status).toBe('cleared')
      expect((await orders()).length).toBe(before + 1)
    })

    it('moves an alarm’s order from registered to closed, keeping a timeline, while the alarm lives on', async () => {
      const [order] = (await orders()).filter((o) => o.category === 'security')
      const user = (
        await store.db
          .insertInto('users')
          .values({ username: 'alm-tech', displayName: '李师傅', passwordHash: 'x' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      // An engineer of this estate: only someone who may work its orders can be assigned.
      await store.db
        .insertInto('roleGrants')
        .values({ userId: user, role: 'engineering', nodeId: site.estateId })
        .execute()
      const clerk = (
        await store.db
          .insertInto('users')
          .values({ username: 'alm-clerk', displayName: '财务', passwordHash: 'x' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      await store.db
        .insertInto('roleGrants')
        .values({ userId: clerk, role: 'finance', nodeId: site.estateId })
        .execute()
      const { moveWorkOrder } = await import('../hub/alarms/work-order-flow.ts')
      await expect(moveWorkOrder(store.db, order!.id, 'start', {}, user)).rejects.toMatchObject({
        statusCode: 409,
      })
      await expect(moveWorkOrder(store.db, order!.id, 'dispatch', {}, user)).rejects.toMatchObject({
        details: [{ field: 'body.department' }],
      })
      await moveWorkOrder(store.db, order!.id, 'dispatch', { department: '安保部' }, user)
      await expect(
        moveWorkOrder(store.db, order!.id, 'assign', { assigneeId: clerk }, user),
      ).rejects.toMatchObject({ statusCode: 400, details: [{ field: 'body.assigneeId' }] })
      await moveWorkOrder(store.db, order!.id, 'assign', { assigneeId: user }, user)
      await moveWorkOrder(store.db, order!.id, 'start', {}, user)
      await moveWorkOrder(
        store.db,
        order!.id,
        'complete',
        { note: '门禁锁具更换', parts: [{ name: '电磁锁', quantity: 1 }], labourMinutes: 45 },
        user,
      )
      await expect(
        moveWorkOrder(store.db, order!.id, 'visit', { satisfaction: 6 }, user),
      ).rejects.toMatchObject({ details: [{ field: 'body.satisfaction' }] })
      await moveWorkOrder(store.db, order!.id, 'visit', { satisfaction: 5, comment: '满意' }, user)
      await moveWorkOrder(store.db, order!.id, 'close', {}, user)
      const done = await store.db
        .selectFrom('workOrders')
        .selectAll()
        .where('id', '=', order!.id)
        .executeTakeFirstOrThrow()
      expect(done).toMatchObject({
        status: 'closed',
        satisfaction: 5,
        completionNote: '门禁锁具更换',
        assigneeId: user,
        department: '安保部',
      })
      expect(done.respondedAt).not.toBeNull()
      const timeline = await store.db
        .selectFrom('workOrderEvents')
        .select(['action', 'fromStatus', 'toStatus'])
        .where('workOrderId', '=', order!.id)
        .orderBy('id')
        .execute()
      expect(timeline.map((e) => e.action)).toEqual([
        'created',
        'dispatch',
        'assign',
        'start',
        'complete',
        'visit',
        'close',
      ])
      // Closing the order does not close the alarm, nor the other way round.
      expect((await alarmsOf('门被强行打开'))[0]!.status).toBe('active')
    })

    it('loses none of a burst of 1,000 events (counted end to end)', async () => {
      const before = Number(
        (
          await store.db
            .selectFrom('deviceEvents')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
      const t = Date.now() - 120_000
      const sends = []
      for (let b = 0; b < 10; b++) {
        const s = ++seq
        const events = Array.from({ length: 100 }, (_, i) => ({
          s: `door-ctl/door-${i % 20}`,
          t: t + b * 100 + i,
          type: 'granted' as const,
          d: { card: `C${b * 100 + i}` },
        }))
        const batch: UplinkBatch = {
          v: 1,
          gateway: site.gatewayCode,
          session: 's',
          seq: s,
          oldest: s,
          sentAt: Date.now(),
          historical: false,
          readings: [],
          events,
        }
        sends.push(gateway.publishAsync(batchTopic(site.gatewayCode), JSON.stringify(batch), { qos: 1 }))
      }
      await Promise.all(sends)
      await waitUntil('all acked', async () => acks.includes(seq))
      await engine.idle()
      const after = Number(
        (
          await store.db
            .selectFrom('deviceEvents')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
      expect(after - before).toBe(1_000)
      const cards = await store.db
        .selectFrom('deviceEvents')
        .select('data')
        .where('type', '=', 'granted')
        .execute()
      expect(new Set(cards.map((c) => (c.data as { card: string }).card)).size).toBe(1_000)
    })

    it('raises no new alarm from a replayed (historical) batch', async () => {
      const before = (await orders()).length
      await send({
        historical: true,
        events: [{ s: 'door-ctl/west-gate', t: Date.now() - 3_600_000, type: 'forced', d: {} }],
      })
      expect((await orders()).length).toBe(before)
      expect((await alarmsOf('门被强行打开')).map((a) => a.source)).toEqual(['door-ctl/east-gate'])
    })
  })
}

describe('SLA of work orders, with a controlled clock', () => {
  it('flags an order not responded to within its limit and escalates it once', async () => {
    const { escalateBreaches } = await import('../hub/alarms/sla-watch.ts')
    const { moveWorkOrder, slaState } = await import('../hub/alarms/work-order-flow.ts')
    const store = await storeBackends()[0]!.open()
    try {
      const site = await seedSite(store.db, { code: 'SLA', points: [] })
      const created = new Date('2026-11-27T08:00:00Z')
      const order = (title: string) =>
        store.db
          .insertInto('workOrders')
          .values({
            estateId: site.estateId,
            source: 'resident',
            alarmId: null,
            category: 'plumbing',
            priority: 'high',
            department: '工程部',
            title,
            description: null,
            buildingId: null,
            unitId: null,
            deviceId: null,
            assigneeId: null,
            respondBy: new Date(created.getTime() + 2 * 3_600_000),
            completeBy: new Date(created.getTime() + 24 * 3_600_000),
            respondedAt: null,
            completedAt: null,
            closedAt: null,
            createdBy: null,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
      const late = await order('无人响应')
      const onTime = await order('及时响应')
      const user = (
        await store.db
          .insertInto('users')
          .values({ username: 'sla-eng', displayName: '工程', passwordHash: 'x' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      await moveWorkOrder(
        store.db,
        onTime.id,
        'dispatch',
        { department: '工程部' },
        user,
        new Date(created.getTime() + 30 * 60_000),
      )
      // 1 h 59 min: nothing is late yet.
      expect(await escalateBreaches(store.db, new Date(created.getTime() + 119 * 60_000))).toEqual([])
      // 2 h 01 min: the one nobody answered is escalated, once.
      const at = new Date(created.getTime() + 121 * 60_000)
      expect(await escalateBreaches(store.db, at)).toEqual([
        { workOrderId: late.id, department: '工程部', breach: 'response' },
      ])
      expect(await escalateBreaches(store.db, new Date(at.getTime() + 3_600_000))).toEqual([])
      expect(slaState(late, at.getTime())).toEqual({ responseBreached: true, completionBreached: false })
      const timeline = await store.db
        .selectFrom('workOrderEvents')
        .select('action')
        .where('workOrderId', '=', late.id)
        .execute()
      expect(timeline.map((e) => e.action)).toEqual(['escalated'])
    } finally {
      await store.close()
    }
  })
})
