import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkBatch } from '../gateway/contract/index.ts'
import { commitBatch } from '../hub/ingest/batch-writer.ts'
import type { GatewayEntry } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Access events name the person: a credential registered to a customer (card, face, QR, PIN)
 * links every event that carries it, as the ingest stores it; the event search filters by that
 * customer and shows who it was. An unknown card, or a card of another estate, names no one.
 */
describe.each(storeBackends())('access events and the person on $name', (backend) => {
  let hub: TestHub
  let org: TwoEstates
  let serviceA: string
  let viewerA: string
  let gatewayA: GatewayEntry
  let seq = 0

  const credentials = (token: string, payload: Record<string, unknown>) =>
    hub.call(token, { method: 'POST', url: '/api/v1/customer-credentials', payload })
  const events = (token: string, query: string) =>
    hub.call(token, { method: 'GET', url: `/api/v1/device-events?${query}` })
  /** Commits events as the ingest does for a batch of gateway A (same function, same transaction). */
  const commit = async (events: UplinkBatch['events']) => {
    const s = ++seq
    await commitBatch(hub.store.db, new ReadingPartitions(hub.store.db), gatewayA, {
      v: 1,
      gateway: 'gw-A',
      session: 's',
      seq: s,
      oldest: s,
      sentAt: Date.now(),
      historical: false,
      readings: [],
      events,
    })
  }
  const t0 = Date.parse('2026-03-01T02:00:00Z')
  const door = (door: string, minute: number, type: UplinkBatch['events'][number]['type'], d = {}) => ({
    s: `A-M1/${door}`,
    t: t0 + minute * 60_000,
    type,
    d: { controllerId: 'ctl-a', eventId: `e-${door}-${minute}`, ...d },
  })

  beforeAll(async () => {
    hub = await openTestHub(backend)
    org = await twoEstates(hub)
    serviceA = await hub.userWithGrants('service-a', [{ role: 'service', nodeId: org.a.estateId }])
    viewerA = await hub.userWithGrants('viewer-a', [{ role: 'viewer', nodeId: org.a.estateId }])
    // The controller's device stands in building 1 (the fixture's device has no building).
    await hub.store.db
      .updateTable('devices')
      .set({ buildingId: org.a.buildingId })
      .where('id', '=', org.a.deviceId)
      .execute()
    gatewayA = {
      id: org.a.gatewayId,
      code: 'gw-A',
      estateId: org.a.estateId,
      enabled: true,
      secretHash: '',
      points: new Map(),
      devices: new Map([['A-M1', org.a.deviceId]]),
    }
  })
  afterAll(() => hub?.close())

  it('registers credentials to customers of the estate; a second registration is a 409 naming body.ref', async () => {
    const { customerId } = org.a
    const card = await credentials(org.rootToken, { customerId, kind: 'card', ref: '0009 5521' })
    expect(card.status, JSON.stringify(card.body)).toBe(201)
    expect(card.body).toMatchObject({ estateId: org.a.estateId, customerId, kind: 'card', ref: '0009 5521' })

    const again = await credentials(org.rootToken, { customerId, kind: 'card', ref: '0009 5521' })
    expect(again.status).toBe(409)
    expect(again.body.error).toBe('EH_ERR_CONFLICT')
    expect(again.body.details[0].field).toBe('body.ref')
    // Same ref as another kind, or in another estate: different credentials.
    expect((await credentials(org.rootToken, { customerId, kind: 'pin', ref: '0009 5521' })).status).toBe(201)
    expect(
      (await credentials(org.rootToken, { customerId: org.b.customerId, kind: 'card', ref: '0009 5521' }))
        .status,
    ).toBe(201)
    const face = await credentials(org.rootToken, { customerId, kind: 'face', ref: 'face-7f3a' })
    expect(face.status).toBe(201)

    const list = await hub.call(viewerA, {
      method: 'GET',
      url: `/api/v1/customer-credentials?customerId=${customerId}&kind=card`,
    })
    expect(list.status).toBe(200)
    expect(list.body.items.map((c: { ref: string }) => c.ref)).toEqual(['0009 5521', 'A-0001'])
    const byRef = await hub.call(viewerA, { method: 'GET', url: '/api/v1/customer-credentials?q=5521' })
    expect(byRef.body.total).toBe(2)
  })

  it('refuses bad fields, viewers, customers out of sight, and changes to the card or its holder', async () => {
    const { customerId } = org.a
    for (const [payload, field] of [
      [{ customerId, kind: 'card', ref: ' 123' }, 'ref'],
      [{ customerId, kind: 'iris', ref: '123' }, 'kind'],
      [{ customerId, kind: 'card', ref: '' }, 'ref'],
      [{ kind: 'card', ref: '123' }, 'customerId'],
    ] as const) {
      const response = await credentials(serviceA, payload)
      expect(response.status, JSON.stringify(payload)).toBe(400)
      expect(JSON.stringify(response.body.details)).toContain(field)
    }
    expect((await credentials(viewerA, { customerId, kind: 'card', ref: 'V-1' })).status).toBe(403)
    const hidden = await credentials(serviceA, { customerId: org.b.customerId, kind: 'card', ref: 'V-2' })
    expect(hidden.status).toBe(404)
    expect(hidden.body.details[0].field).toBe('body.customerId')
    // Which card and whose it is do not change; only whether it is active.
    const patch = await hub.call(serviceA, {
      method: 'PATCH',
      url: `/api/v1/customer-credentials/${org.a.customerCredentialId}`,
      payload: { ref: 'X' },
    })
    expect(patch.status).toBe(400)
    expect(
      (
        await hub.call(serviceA, {
          method: 'GET',
          url: `/api/v1/customer-credentials/${org.b.customerCredentialId}`,
        })
      ).status,
    ).toBe(404)
  })

  it('stores a granted event with the registered card’s customer, an unknown card with none', async () => {
    await commit([
      door('east', 1, 'granted', { credential: { kind: 'card', ref: '0009 5521' } }),
      door('east', 2, 'denied', { credential: { kind: 'card', ref: '7777' } }),
      door('west', 3, 'granted', { credential: { kind: 'face', ref: 'face-7f3a' }, person: '张三' }),
      // Same ref, other kind: the PIN is registered too, so it names the same customer.
      door('west', 4, 'granted', { credential: { kind: 'pin', ref: '0009 5521' } }),
      door('west', 5, 'forced'),
      // A malformed credential is stored as sent, naming no one.
      door('east', 6, 'granted', { credential: 'A-0001' }),
    ])
    const rows = await hub.store.db
      .selectFrom('deviceEvents')
      .select(['id', 'source', 'type', 'customerId', 'deviceId', 'estateId', 'ts'])
      .where('gatewayId', '=', org.a.gatewayId)
      .orderBy('id')
      .execute()
    expect(rows.map((r) => [r.source, r.type, r.customerId])).toEqual([
      ['A-M1/east', 'granted', org.a.customerId],
      ['A-M1/east', 'denied', null],
      ['A-M1/west', 'granted', org.a.customerId],
      ['A-M1/west', 'granted', org.a.customerId],
      ['A-M1/west', 'forced', null],
      ['A-M1/east', 'granted', null],
    ])
    expect(rows.every((r) => r.deviceId === org.a.deviceId && r.estateId === org.a.estateId)).toBe(true)
    expect(rows[0]!.ts.toISOString()).toBe('2026-03-01T02:01:00.000Z')
  })

  it('finds events by person, and still by door and type, naming the customer and building', async () => {
    const person = await events(viewerA, `customerId=${org.a.customerId}`)
    expect(person.status, JSON.stringify(person.body)).toBe(200)
    expect(person.body.total).toBe(3)
    expect(person.body.items[0]).toMatchObject({
      source: 'A-M1/west',
      type: 'granted',
      ts: '2026-03-01T02:04:00.000Z',
      customerId: org.a.customerId,
      customerCode: 'A-C1',
      customerName: '张三',
      deviceCode: 'A-M1',
      buildingId: org.a.buildingId,
      buildingCode: 'A-B1',
    })
    const granted = await events(viewerA, `customerId=${org.a.customerId}&type=granted&source=A-M1/east`)
    expect(granted.body.items.map((e: { data: unknown }) => e.data)).toEqual([
      { controllerId: 'ctl-a', eventId: 'e-east-1', credential: { kind: 'card', ref: '0009 5521' } },
    ])

    const eastDoor = await events(viewerA, 'source=A-M1/east')
    expect(
      eastDoor.body.items.map((e: { type: string; customerName: string | null }) => [e.type, e.customerName]),
    ).toEqual([
      ['granted', null],
      ['denied', null],
      ['granted', '张三'],
    ])
    const forced = await events(viewerA, 'type=forced')
    expect(forced.body.total).toBe(1)
    expect(forced.body.items[0]).toMatchObject({ source: 'A-M1/west', customerId: null, customerCode: null })

    // The customer of another estate is out of sight; the root admin finds no events of B's customer.
    const hidden = await events(viewerA, `customerId=${org.b.customerId}`)
    expect(hidden.status).toBe(404)
    expect(hidden.body.details[0].field).toBe('query.customerId')
    expect((await events(org.rootToken, `customerId=${org.b.customerId}`)).body.total).toBe(0)
  })

  it('keeps 1,000 events of one batch in order, each with its customer, in one commit', async () => {
    const before = await hub.store.db
      .selectFrom('deviceEvents')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    const burst = Array.from({ length: 1_000 }, (_, i) =>
      door(`gate-${i % 10}`, 100 + i, 'granted', {
        eventId: `burst-${i}`,
        credential: { kind: 'card', ref: i % 2 === 0 ? '0009 5521' : `unknown-${i}` },
      }),
    )
    const started = performance.now()
    await commit(burst)
    const elapsed = performance.now() - started
    console.log(
      `[measure] ${backend.name}: commit of 1,000 access events with the customer join ${elapsed.toFixed(0)} ms`,
    )
    const rows = await hub.store.db
      .selectFrom('deviceEvents')
      .select(['data', 'customerId'])
      .where('gatewayId', '=', org.a.gatewayId)
      .where('gatewaySeq', '=', seq)
      .orderBy('id')
      .execute()
    expect(rows).toHaveLength(1_000)
    expect(rows.map((r) => (r.data as { eventId: string }).eventId)).toEqual(burst.map((e) => e.d.eventId))
    expect(rows.filter((r) => r.customerId === org.a.customerId)).toHaveLength(500)
    const after = await hub.store.db
      .selectFrom('deviceEvents')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(after.n) - Number(before.n)).toBe(1_000)
  })

  it('deactivates a lost card: later events name no one, earlier ones keep their customer, the card can be issued again', async () => {
    const list = await hub.call(serviceA, {
      method: 'GET',
      url: `/api/v1/customer-credentials?kind=card&ref=${encodeURIComponent('0009 5521')}`,
    })
    const card = list.body.items[0] as { id: string }
    const lost = await hub.call(serviceA, {
      method: 'PATCH',
      url: `/api/v1/customer-credentials/${card.id}`,
      payload: { active: false },
    })
    expect(lost.status, JSON.stringify(lost.body)).toBe(200)
    expect(lost.body.active).toBe(false)
    await commit([door('north', 90, 'granted', { credential: { kind: 'card', ref: '0009 5521' } })])
    const rows = await hub.store.db
      .selectFrom('deviceEvents')
      .select(['source', 'customerId'])
      .where('gatewayId', '=', org.a.gatewayId)
      .where('source', 'in', ['A-M1/north', 'A-M1/east'])
      .where('type', '=', 'granted')
      .orderBy('id')
      .execute()
    expect(rows[0]).toEqual({ source: 'A-M1/east', customerId: org.a.customerId })
    expect(rows.at(-1)).toEqual({ source: 'A-M1/north', customerId: null })
    // The same card handed out again; the lost registration cannot come back beside it.
    const reissued = await credentials(serviceA, {
      customerId: org.a.customerId,
      kind: 'card',
      ref: '0009 5521',
    })
    expect(reissued.status).toBe(201)
    const back = await hub.call(serviceA, {
      method: 'PATCH',
      url: `/api/v1/customer-credentials/${card.id}`,
      payload: { active: true },
    })
    expect(back.status).toBe(409)
    expect(back.body.details[0].field).toBe('body.active')
  })
})
