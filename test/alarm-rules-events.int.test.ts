import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonb } from '../hub/store/jsonb.ts'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

describe.each(storeBackends())('alarm rules and device events on $name', (backend) => {
  let hub: TestHub
  let org: TwoEstates
  let viewerA: string
  let serviceA: string

  const post = (token: string, payload: Record<string, unknown>) =>
    hub.call(token, { method: 'POST', url: '/api/v1/alarm-rules', payload })
  const events = (token: string, query: string) =>
    hub.call(token, { method: 'GET', url: `/api/v1/device-events?${query}` })

  beforeAll(async () => {
    hub = await openTestHub(backend)
    org = await twoEstates(hub)
    viewerA = await hub.userWithGrants('viewer-a', [{ role: 'viewer', nodeId: org.a.estateId }])
    serviceA = await hub.userWithGrants('service-a', [{ role: 'service', nodeId: org.a.estateId }])
  })
  afterAll(() => hub?.close())

  it('creates rules of each kind and changes what may change', async () => {
    const { estateId, deviceId, pointId } = org.a
    const event = await post(serviceA, {
      estateId,
      name: '门禁拒绝',
      kind: 'event',
      eventType: 'denied',
      deviceClass: 'access',
      severity: 'minor',
    })
    expect(event.status, JSON.stringify(event.body)).toBe(201)
    expect(event.body).toMatchObject({
      kind: 'event',
      eventType: 'denied',
      deviceClass: 'access',
      enabled: true,
    })

    const state = await post(serviceA, {
      estateId,
      name: '水泵故障',
      kind: 'state',
      matchValue: '1',
      deviceId,
      workOrderCategory: 'plumbing',
      workOrderPriority: 'urgent',
      department: '工程部',
    })
    expect(state.status, JSON.stringify(state.body)).toBe(201)
    expect(state.body).toMatchObject({ matchValue: '1', deviceId, workOrderPriority: 'urgent' })

    const threshold = await post(serviceA, {
      estateId,
      name: '温度过高',
      kind: 'threshold',
      pointId,
      above: -5.5,
      hysteresis: '0.5',
      holdSeconds: 60,
    })
    expect(threshold.status, JSON.stringify(threshold.body)).toBe(201)
    expect(threshold.body).toMatchObject({
      above: '-5.5',
      hysteresis: '0.5',
      holdSeconds: 60,
      severity: 'major',
    })

    const changed = await hub.call(serviceA, {
      method: 'PATCH',
      url: `/api/v1/alarm-rules/${threshold.body.id}`,
      payload: { above: '30', holdSeconds: 120, enabled: false, severity: 'critical' },
    })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body).toMatchObject({
      above: '30',
      holdSeconds: 120,
      enabled: false,
      severity: 'critical',
    })

    const cleared = await hub.call(serviceA, {
      method: 'PATCH',
      url: `/api/v1/alarm-rules/${threshold.body.id}`,
      payload: { above: null },
    })
    expect(cleared.status).toBe(400)
    expect(cleared.body.details[0].field).toBe('body.above')

    const kindChange = await hub.call(serviceA, {
      method: 'PATCH',
      url: `/api/v1/alarm-rules/${event.body.id}`,
      payload: { kind: 'state' },
    })
    expect(kindChange.status).toBe(400)

    const list = await hub.call(viewerA, {
      method: 'GET',
      url: `/api/v1/alarm-rules?estateId=${estateId}&kind=state`,
    })
    expect(list.status).toBe(200)
    expect(list.body.items.map((r: { name: string }) => r.name)).toEqual(['水泵故障'])
  })

  it('creates the pattern kinds: N events in a window, rate, offline, reverse and night flow', async () => {
    const { estateId, pointId } = org.a
    const cases = [
      [
        { kind: 'event', eventType: 'denied', eventCount: 5, windowSeconds: 120 },
        { eventCount: 5, windowSeconds: 120 },
      ],
      [
        { kind: 'rate', pointId, ratePerMinute: '2.5' },
        { ratePerMinute: '2.5', eventCount: 1 },
      ],
      [
        { kind: 'offline', offlineTarget: 'gateway', offlineMinutes: 15 },
        { offlineTarget: 'gateway', offlineMinutes: 15 },
      ],
      [{ kind: 'reverse_flow', deviceClass: 'water-meter' }, { deviceClass: 'water-meter' }],
      [
        { kind: 'night_flow', nightStart: 1, nightEnd: 5, minFlow: '0.05' },
        { nightStart: 1, nightEnd: 5, minFlow: '0.05' },
      ],
    ] as const
    for (const [fields, expected] of cases) {
      const created = await post(serviceA, { estateId, name: `pattern ${fields.kind}`, ...fields })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      expect(created.body).toMatchObject(expected)
    }
  })

  it.each([
    [{ kind: 'event' }, 'body.eventType'],
    [{ kind: 'state' }, 'body.matchValue'],
    [{ kind: 'threshold' }, 'body.above'],
    [{ kind: 'event', eventType: 'forced', matchValue: '1' }, 'body.matchValue'],
    [{ kind: 'state', matchValue: '1', above: 3 }, 'body.above'],
    [{ kind: 'state', matchValue: '1', holdSeconds: 10 }, 'body.holdSeconds'],
    [{ kind: 'threshold', above: 3, hysteresis: -1 }, 'body.hysteresis'],
    [{ kind: 'threshold', above: 3, holdSeconds: -1 }, 'body.holdSeconds'],
    [{ kind: 'threshold', above: 3, deviceClass: 'hvac', pointId: 'POINT' }, 'body.pointId'],
    [{ kind: 'event', eventType: 'forced', pointId: 'POINT' }, 'body.pointId'],
    [{ kind: 'event', eventType: 'forced', workOrderCategory: 'security' }, 'body.workOrderPriority'],
    [{ kind: 'event', eventType: 'forced', workOrderPriority: 'high' }, 'body.workOrderCategory'],
    [{ kind: 'event', eventType: 'fire' }, 'body.eventType'],
    [{ kind: 'event', eventType: 'denied', eventCount: 5 }, 'body.windowSeconds'],
    [{ kind: 'state', matchValue: '1', eventCount: 3, windowSeconds: 60 }, 'body.eventCount'],
    [{ kind: 'rate' }, 'body.ratePerMinute'],
    [{ kind: 'rate', ratePerMinute: 0 }, 'body.ratePerMinute'],
    [{ kind: 'offline', offlineMinutes: 10 }, 'body.offlineTarget'],
    [
      { kind: 'offline', offlineTarget: 'gateway', offlineMinutes: 10, deviceClass: 'meter' },
      'body.offlineTarget',
    ],
    [{ kind: 'offline', offlineTarget: 'device', offlineMinutes: 0 }, 'body.offlineMinutes'],
    [{ kind: 'night_flow', nightStart: 1, nightEnd: 5 }, 'body.minFlow'],
    [{ kind: 'night_flow', nightStart: 2, nightEnd: 2, minFlow: '0.05' }, 'body.nightEnd'],
    [{ kind: 'night_flow', nightStart: 1, nightEnd: 24, minFlow: '0.05' }, 'body.nightEnd'],
    [{ kind: 'reverse_flow', above: 3 }, 'body.above'],
  ])('refuses %j naming %s', async (fields, field) => {
    const payload: Record<string, unknown> = { estateId: org.a.estateId, name: 'bad', ...fields }
    if (payload.pointId === 'POINT') payload.pointId = org.a.pointId
    const response = await post(serviceA, payload)
    expect(response.status, JSON.stringify(response.body)).toBe(400)
    expect(response.body.error).toBe('EH_ERR_VALIDATION')
    expect(JSON.stringify(response.body.details)).toContain(field.replace('body.', ''))
  })

  it('acknowledges an alarm once, keeping who and when, and closes an acknowledged event alarm', async () => {
    const act = (token: string, action: string) =>
      hub.call(token, { method: 'POST', url: `/api/v1/alarms/${org.a.alarmId}/${action}` })
    expect((await act(viewerA, 'acknowledge')).status).toBe(403)
    const listed = await hub.call(viewerA, {
      method: 'GET',
      url: `/api/v1/alarms?estateId=${org.a.estateId}`,
    })
    expect(listed.body.items.find((a: { id: string }) => a.id === org.a.alarmId)).toMatchObject({
      ruleName: '门被强行打开',
      ruleKind: 'event',
      workOrderId: null,
      status: 'active',
    })
    // An event alarm (a forced door) has no end signal: it cannot wait for "cleared".
    const early = await act(serviceA, 'close')
    expect(early.status).toBe(409)
    expect(early.body.message).toContain('active')
    expect((await act(serviceA, 'acknowledge')).status).toBe(204)
    const again = await act(serviceA, 'acknowledge')
    expect(again.status).toBe(409)
    expect(again.body.message).toContain('acknowledged, not active')
    const alarm = await hub.store.db
      .selectFrom('alarms')
      .select(['status', 'acknowledgedBy', 'acknowledgedAt'])
      .where('id', '=', org.a.alarmId)
      .executeTakeFirstOrThrow()
    const service = await hub.store.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'service-a')
      .executeTakeFirstOrThrow()
    expect(alarm).toMatchObject({ status: 'acknowledged', acknowledgedBy: service.id })
    expect(Date.now() - new Date(alarm.acknowledgedAt!).getTime()).toBeLessThan(60_000)
    expect((await act(serviceA, 'close')).status).toBe(204)
    expect((await act(serviceA, 'close')).status).toBe(409)
  })

  it('refuses a viewer (403) and references or rules of another estate (404 / 400)', async () => {
    const base = { estateId: org.a.estateId, name: '强行开门', kind: 'event', eventType: 'forced' }
    const viewer = await post(viewerA, base)
    expect(viewer.status).toBe(403)
    const viewerPatch = await hub.call(viewerA, {
      method: 'PATCH',
      url: `/api/v1/alarm-rules/${org.a.alarmRuleId}`,
      payload: { enabled: false },
    })
    expect(viewerPatch.status).toBe(403)

    const otherDevice = await post(org.rootToken, { ...base, deviceId: org.b.deviceId })
    expect(otherDevice.status).toBe(400)
    expect(otherDevice.body.details[0].field).toBe('body.deviceId')
    const hiddenDevice = await post(serviceA, { ...base, deviceId: org.b.deviceId })
    expect(hiddenDevice.status).toBe(404)
    const otherEstate = await post(serviceA, { ...base, estateId: org.b.estateId })
    expect(otherEstate.status).toBe(404)
    for (const method of ['GET', 'PATCH'] as const) {
      const response = await hub.call(serviceA, {
        method,
        url: `/api/v1/alarm-rules/${org.b.alarmRuleId}`,
        ...(method === 'PATCH' ? { payload: { enabled: false } } : {}),
      })
      expect(response.status, method).toBe(404)
    }
  })

  describe('device events', () => {
    beforeAll(async () => {
      const at = (minute: number) => new Date(Date.UTC(2025, 5, 1, 0, minute))
      const rows = [
        {
          source: 'ctl-1/east',
          type: 'granted',
          minute: 1,
          data: { credential: { kind: 'card', ref: '0001' } },
        },
        {
          source: 'ctl-1/east',
          type: 'denied',
          minute: 2,
          data: { credential: { kind: 'card', ref: '9999' } },
        },
        { source: 'ctl-1/eastern', type: 'forced', minute: 3, data: {} },
        { source: 'ctl-1/west', type: 'forced', minute: 4, data: {} },
        { source: 'ctl-10/east', type: 'forced', minute: 5, data: {} },
      ]
      let seq = 0
      for (const side of [org.a, org.b]) {
        for (const row of rows) {
          await hub.store.db
            .insertInto('deviceEvents')
            .values({
              estateId: side.estateId,
              gatewayId: side.gatewayId,
              deviceId: side.deviceId,
              source: row.source,
              ts: at(row.minute),
              type: row.type,
              data: jsonb(row.data),
              historical: row.minute === 5,
              gatewaySeq: ++seq,
            })
            .execute()
        }
      }
    })

    it('lists newest first with the device code, only of estates the caller sees', async () => {
      const response = await events(viewerA, '')
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      expect(response.body.total).toBe(5)
      const first = response.body.items[0]
      expect(first).toMatchObject({
        ts: '2025-06-01T00:05:00.000Z',
        source: 'ctl-10/east',
        type: 'forced',
        deviceId: org.a.deviceId,
        deviceCode: 'A-M1',
        historical: true,
        customerId: null,
        customerName: null,
      })
      expect(response.body.items.map((e: { ts: string }) => e.ts.slice(14, 16))).toEqual([
        '05',
        '04',
        '03',
        '02',
        '01',
      ])
      expect(response.body.items[3].data).toEqual({ credential: { kind: 'card', ref: '9999' } })
      const paged = await events(viewerA, 'limit=2&offset=1')
      expect(paged.body.items.map((e: { source: string }) => e.source)).toEqual([
        'ctl-1/west',
        'ctl-1/eastern',
      ])
      expect(paged.body.total).toBe(5)
    })

    it('searches by time range, type, door and device', async () => {
      const range = await events(viewerA, 'from=2025-06-01T00:02:00Z&to=2025-06-01T08:04:00%2B08:00')
      expect(range.status, JSON.stringify(range.body)).toBe(200)
      expect(range.body.items.map((e: { type: string }) => e.type)).toEqual(['forced', 'denied'])

      const forced = await events(viewerA, `estateId=${org.a.estateId}&type=forced`)
      expect(forced.body.total).toBe(3)

      const door = await events(viewerA, 'source=ctl-1/east')
      expect(door.body.items.map((e: { type: string }) => e.type)).toEqual(['denied', 'granted'])
      const controller = await events(viewerA, 'source=ctl-1')
      expect(controller.body.total).toBe(4)

      const device = await events(viewerA, `deviceId=${org.a.deviceId}&type=granted`)
      expect(device.body.total).toBe(1)
    })

    it('refuses a reversed range naming the field, and estates or devices out of sight', async () => {
      const reversed = await events(viewerA, 'from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z')
      expect(reversed.status).toBe(400)
      expect(reversed.body.details[0].field).toBe('query.to')
      expect((await events(viewerA, `estateId=${org.b.estateId}`)).status).toBe(404)
      expect((await events(viewerA, `deviceId=${org.b.deviceId}`)).status).toBe(404)
      expect((await events(viewerA, 'from=yesterday')).status).toBe(400)
      const root = await events(org.rootToken, 'type=denied')
      expect(root.body.total).toBe(2)
    })
  })
})
