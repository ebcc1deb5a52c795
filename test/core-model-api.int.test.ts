import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../hub/auth/password.ts'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

describe.each(storeBackends())('core model API on $name', (backend) => {
  let hub: TestHub
  let org: TwoEstates
  let token: string
  const post = (url: string, payload: unknown) =>
    hub.call(token, { method: 'POST', url, payload: payload as object })
  const patch = (url: string, payload: unknown) =>
    hub.call(token, { method: 'PATCH', url, payload: payload as object })
  const get = (url: string) => hub.call(token, { method: 'GET', url })

  beforeAll(async () => {
    hub = await openTestHub(backend)
    org = await twoEstates(hub)
    token = org.rootToken
  })
  afterAll(() => hub?.close())

  describe('units', () => {
    const unit = (overrides: Record<string, unknown>) => ({
      buildingId: org.a.buildingId,
      code: 'A-2-201',
      floor: 2,
      areaM2: '100.25',
      use: 'residence',
      status: 'vacant',
      ...overrides,
    })

    it('keeps areas exact, whether given as a string or a number', async () => {
      const asString = await post('/api/v1/units', unit({ code: 'A-EXACT-1', areaM2: '1234567.89' }))
      expect(asString.status).toBe(201)
      expect(asString.body.areaM2).toBe('1234567.89')
      const asNumber = await post('/api/v1/units', unit({ code: 'A-EXACT-2', areaM2: 120.36 }))
      expect(asNumber.body.areaM2).toBe('120.36')
      expect((await get(`/api/v1/units/${asNumber.body.id}`)).body.areaM2).toBe('120.36')
    })

    it('refuses bad input naming each offending field', async () => {
      const tooPrecise = await post('/api/v1/units', unit({ code: 'A-BAD-1', areaM2: 12.345 }))
      expect(tooPrecise.status).toBe(400)
      expect(tooPrecise.body).toMatchObject({
        error: 'EH_ERR_VALIDATION',
        details: [{ field: 'body.areaM2' }],
      })

      const several = await post('/api/v1/units', {
        buildingId: org.a.buildingId,
        floor: 'two',
        areaM2: '10',
        use: 'castle',
        status: 'vacant',
        colour: 'red',
      })
      expect(several.status).toBe(400)
      const fields = several.body.details.map((d: { field: string }) => d.field)
      expect(fields).toEqual(expect.arrayContaining(['body.code', 'body.floor', 'body.use', 'body.colour']))
      expect(several.body.details.find((d: any) => d.field === 'body.colour').message).toBe('unknown field')
      expect(several.body.details.find((d: any) => d.field === 'body.code').message).toBe('is required')
    })

    it('refuses an area of 0 naming the field, on create and on change', async () => {
      const zero = await post('/api/v1/units', unit({ code: 'A-ZERO', areaM2: '0' }))
      expect(zero.status).toBe(400)
      expect(zero.body.details).toEqual([
        {
          field: 'body.areaM2',
          rule: 'number.exclusiveMinimum',
          params: { limit: 0 },
          message: 'must be greater than 0',
        },
      ])
      const made = await post('/api/v1/units', unit({ code: 'A-ZERO', areaM2: '0.01' }))
      expect(made.status).toBe(201)
      const changed = await patch(`/api/v1/units/${made.body.id}`, { areaM2: 0 })
      expect(changed.status).toBe(400)
      expect(changed.body.details).toEqual([
        {
          field: 'body.areaM2',
          rule: 'number.exclusiveMinimum',
          params: { limit: 0 },
          message: 'must be greater than 0',
        },
      ])
    })

    it('refuses a duplicate code in the same estate with 409 naming the field, but allows it in another', async () => {
      expect((await post('/api/v1/units', unit({ code: 'A-DUP' }))).status).toBe(201)
      const dup = await post('/api/v1/units', unit({ code: 'A-DUP' }))
      expect(dup.status).toBe(409)
      expect(dup.body.details[0].field).toBe('body.code')
      expect(
        (await post('/api/v1/units', unit({ code: 'A-DUP', buildingId: org.b.buildingId }))).status,
      ).toBe(201)
    })

    it('lists with pagination, filters and search', async () => {
      for (const code of ['A-LIST-01', 'A-LIST-02', 'A-LIST-03'])
        await post('/api/v1/units', unit({ code, use: 'shop' }))
      const page = await get(`/api/v1/units?estateId=${org.a.estateId}&use=shop&q=list&limit=2&offset=1`)
      expect(page.status).toBe(200)
      expect(page.body.total).toBe(3)
      expect(page.body.items.map((u: any) => u.code)).toEqual(['A-LIST-02', 'A-LIST-03'])
      const wildcard = await get(`/api/v1/units?q=${encodeURIComponent('%')}`)
      expect(wildcard.body.total).toBe(0)
      const badLimit = await get('/api/v1/units?limit=100000')
      expect(badLimit.status).toBe(400)
      expect(badLimit.body.details[0].field).toBe('query.limit')
    })

    it('updates only what is sent and refuses an empty change', async () => {
      const created = await post('/api/v1/units', unit({ code: 'A-UPD' }))
      const changed = await patch(`/api/v1/units/${created.body.id}`, { status: 'rented' })
      expect(changed.status).toBe(200)
      expect(changed.body).toMatchObject({ status: 'rented', areaM2: '100.25', code: 'A-UPD' })
      expect((await patch(`/api/v1/units/${created.body.id}`, {})).status).toBe(400)
    })
  })

  describe('references stay inside one estate', () => {
    it("refuses a meter in estate A on estate B's unit, even for an admin of both", async () => {
      const meter = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-X',
        kind: 'water',
        unitId: org.b.unitId,
      })
      expect(meter.status).toBe(400)
      expect(meter.body.details[0].field).toBe('body.unitId')
    })

    it('refuses an occupancy whose customer is in another estate', async () => {
      const occ = await post('/api/v1/occupancies', {
        unitId: org.a.unitId,
        customerId: org.b.customerId,
        role: 'tenant',
        startDate: '2025-01-01',
      })
      expect(occ.status).toBe(400)
      expect(occ.body.details[0].field).toBe('body.customerId')
    })
  })

  describe('occupancies', () => {
    it('keeps history and refuses overlapping ranges of the same role', async () => {
      const customer = await post('/api/v1/customers', {
        estateId: org.a.estateId,
        code: 'A-T1',
        kind: 'company',
        name: '某某科技有限公司',
      })
      const first = await post('/api/v1/occupancies', {
        unitId: org.a.unitId,
        customerId: customer.body.id,
        role: 'tenant',
        startDate: '2024-01-01',
        endDate: '2024-12-31',
      })
      expect(first.status).toBe(201)
      const overlap = await post('/api/v1/occupancies', {
        unitId: org.a.unitId,
        customerId: customer.body.id,
        role: 'tenant',
        startDate: '2024-06-01',
      })
      expect(overlap.status).toBe(409)
      expect(overlap.body.details[0].field).toBe('body.startDate')
      const next = await post('/api/v1/occupancies', {
        unitId: org.a.unitId,
        customerId: customer.body.id,
        role: 'tenant',
        startDate: '2025-01-01',
      })
      expect(next.status).toBe(201)
      const backwards = await patch(`/api/v1/occupancies/${next.body.id}`, { endDate: '2024-06-30' })
      expect(backwards.status).toBe(400)
      expect(backwards.body.details[0].field).toBe('body.endDate')
      const history = await get(`/api/v1/occupancies?unitId=${org.a.unitId}&customerId=${customer.body.id}`)
      expect(history.body.items.map((o: any) => [o.startDate, o.endDate])).toEqual([
        ['2024-01-01', '2024-12-31'],
        ['2025-01-01', null],
      ])
    })
  })

  describe('devices and points', () => {
    it('checks a device connection against its protocol', async () => {
      const bad = await post('/api/v1/devices', {
        gatewayId: org.a.gatewayId,
        code: 'D-BAD',
        name: 'x',
        protocol: 'modbus-tcp',
        connection: { hostname: 'x', unitId: 1 },
      })
      expect(bad.status).toBe(400)
      const fields = bad.body.details.map((d: any) => d.field)
      expect(fields).toEqual(expect.arrayContaining(['body.connection.host', 'body.connection.hostname']))
      const bacnet = await post('/api/v1/devices', {
        gatewayId: org.a.gatewayId,
        code: 'AHU-1',
        name: '空调机组',
        protocol: 'bacnet-ip',
        connection: { host: '127.0.0.1', port: 47809, deviceInstance: 1001 },
      })
      expect(bacnet.status).toBe(201)
    })

    it('checks a point address and data type', async () => {
      const base = { deviceId: org.a.deviceId, name: 'p', kind: 'gauge' }
      const typo = await post('/api/v1/points', {
        ...base,
        code: 'P1',
        address: { table: 'holding-register', registr: 3 },
        dataType: 'int16',
      })
      expect(typo.status).toBe(400)
      expect(typo.body.details.map((d: any) => d.field)).toEqual(
        expect.arrayContaining(['body.address.register', 'body.address.registr']),
      )
      const noOrder = await post('/api/v1/points', {
        ...base,
        code: 'P2',
        address: { table: 'holding-register', register: 10 },
        dataType: 'float32',
      })
      expect(noOrder.status).toBe(400)
      expect(noOrder.body.details[0].field).toBe('body.byteOrder')
      const pastEnd = await post('/api/v1/points', {
        ...base,
        code: 'P3',
        address: { table: 'input-register', register: 65534 },
        dataType: 'float64',
        byteOrder: 'ABCD',
      })
      expect(pastEnd.body.details[0].field).toBe('body.address.register')
      const ok = await post('/api/v1/points', {
        ...base,
        code: 'P4',
        address: { table: 'input-register', register: 100 },
        dataType: 'float32',
        byteOrder: 'CDAB',
        scale: '0.1',
        unit: '°C',
      })
      expect(ok.status).toBe(201)
      expect(ok.body).toMatchObject({ scale: '0.1', offset: '0', byteOrder: 'CDAB' })
    })
  })

  describe('gateways', () => {
    it('shows the secret once, stores only its hash, and rotates it', async () => {
      const created = await post('/api/v1/gateways', {
        estateId: org.a.estateId,
        code: 'gw-a-2',
        name: '2号网关',
      })
      expect(created.status).toBe(201)
      const { secret, gateway } = created.body
      expect(secret.length).toBeGreaterThanOrEqual(16)
      const read = await get(`/api/v1/gateways/${gateway.id}`)
      expect(JSON.stringify(read.body)).not.toContain(secret)
      expect(read.body.secretHash).toBeUndefined()
      const stored = await hub.store.db
        .selectFrom('gateways')
        .select('secretHash')
        .where('id', '=', gateway.id)
        .executeTakeFirstOrThrow()
      expect(await verifyPassword(secret, stored.secretHash)).toBe(true)
      const rotated = await post(`/api/v1/gateways/${gateway.id}/rotate-secret`, undefined)
      expect(rotated.status).toBe(200)
      const after = await hub.store.db
        .selectFrom('gateways')
        .select('secretHash')
        .where('id', '=', gateway.id)
        .executeTakeFirstOrThrow()
      expect(await verifyPassword(secret, after.secretHash)).toBe(false)
      expect(await verifyPassword(rotated.body.secret, after.secretHash)).toBe(true)
      const badCode = await post('/api/v1/gateways', { estateId: org.a.estateId, code: 'gw a/3', name: 'x' })
      expect(badCode.body.details[0].field).toBe('body.code')
    })
  })

  describe('meters', () => {
    it('builds master/sub-meter trees and refuses loops and mixed kinds', async () => {
      const loop = await patch(`/api/v1/meters/${org.a.meterId}`, { parentMeterId: org.a.subMeterId })
      expect(loop.status).toBe(400)
      expect(loop.body.details[0].field).toBe('body.parentMeterId')
      const self = await patch(`/api/v1/meters/${org.a.meterId}`, { parentMeterId: org.a.meterId })
      expect(self.status).toBe(400)
      const water = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-W-1',
        kind: 'water',
        parentMeterId: org.a.meterId,
      })
      expect(water.status).toBe(400)
      expect(water.body.message).toContain('water meter needs a water parent')
      const subs = await get(`/api/v1/meters?parentMeterId=${org.a.meterId}`)
      expect(subs.body.items.map((m: any) => m.id)).toEqual([org.a.subMeterId])
      expect(subs.body.items[0].commonArea).toBe(false)
      expect((await get(`/api/v1/meters/${org.a.meterId}`)).body.commonArea).toBe(true)
    })

    it('binds only a counter point, and a point to one meter', async () => {
      const again = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-E-2',
        kind: 'electricity',
        pointId: org.a.pointId,
      })
      expect(again.status).toBe(409)
      expect(again.body.details[0].field).toBe('body.pointId')
      const gauge = await post('/api/v1/points', {
        deviceId: org.a.deviceId,
        code: 'temp',
        name: 't',
        address: { table: 'input-register', register: 50 },
        dataType: 'int16',
        kind: 'gauge',
      })
      const onGauge = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-E-3',
        kind: 'electricity',
        pointId: gauge.body.id,
      })
      expect(onGauge.status).toBe(400)
      expect(onGauge.body.details[0].field).toBe('body.pointId')
    })

    it('refuses an install reading at or above the register capacity', async () => {
      const bad = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-W-CAP',
        kind: 'water',
        registerCapacity: '99999.9',
        installReading: '99999.9',
      })
      expect(bad.status).toBe(400)
      expect(bad.body.details[0].field).toBe('body.installReading')
    })

    it('records replacements in order and carries the new serial and multiplier onto the meter', async () => {
      const meter = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-E-CT',
        kind: 'electricity',
        multiplier: '40',
        serialNumber: 'OLD-1',
        registerCapacity: '100000',
      })
      const swap = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2026-03-01T02:00:00Z',
        oldFinalReading: '99999.9',
        newStartReading: '0.5',
        newSerialNumber: 'NEW-1',
        newMultiplier: '80',
        reason: '表坏',
      })
      expect(swap.status).toBe(201)
      expect(swap.body).toMatchObject({
        oldSerialNumber: 'OLD-1',
        oldMultiplier: '40',
        newMultiplier: '80',
        oldFinalReading: '99999.900',
        newStartReading: '0.500',
      })
      expect((await get(`/api/v1/meters/${meter.body.id}`)).body).toMatchObject({
        serialNumber: 'NEW-1',
        multiplier: '80',
      })
      const earlier = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2026-02-01T00:00:00Z',
        oldFinalReading: '1',
        newStartReading: '0',
      })
      expect(earlier.status).toBe(400)
      expect(earlier.body.details[0].field).toBe('body.replacedAt')
      const overCapacity = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2026-04-01T00:00:00Z',
        oldFinalReading: '100000',
        newStartReading: '0',
      })
      expect(overCapacity.body.details[0].field).toBe('body.oldFinalReading')
      const future = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2999-01-01T00:00:00Z',
        oldFinalReading: '1',
        newStartReading: '0',
      })
      expect(future.body.details[0].field).toBe('body.replacedAt')
      const history = await get(`/api/v1/meter-replacements?meterId=${meter.body.id}`)
      expect(history.body.total).toBe(1)
    })
  })

  describe('history-bearing fields', () => {
    it('changes a multiplier only through a replacement record', async () => {
      const direct = await patch(`/api/v1/meters/${org.a.meterId}`, { multiplier: '80' })
      expect(direct.status).toBe(400)
      expect(direct.body.details[0]).toMatchObject({ field: 'body.multiplier', message: 'unknown field' })
    })

    it('checks a replacement against installation date and the new register capacity', async () => {
      const meter = await post('/api/v1/meters', {
        estateId: org.a.estateId,
        code: 'A-W-INST',
        kind: 'water',
        installedOn: '2026-01-10',
        registerCapacity: '9999.9',
      })
      const beforeInstall = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2026-01-01T00:00:00Z',
        oldFinalReading: '1',
        newStartReading: '0',
      })
      expect(beforeInstall.body.details[0].field).toBe('body.replacedAt')
      const overNew = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2026-02-01T00:00:00Z',
        oldFinalReading: '12.5',
        newStartReading: '100000',
        newRegisterCapacity: '99999.9',
      })
      expect(overNew.body.details[0].field).toBe('body.newStartReading')
      const bigger = await post('/api/v1/meter-replacements', {
        meterId: meter.body.id,
        replacedAt: '2026-02-01T00:00:00Z',
        oldFinalReading: '12.5',
        newStartReading: '3',
        newRegisterCapacity: '99999.9',
      })
      expect(bigger.status).toBe(201)
      expect(bigger.body).toMatchObject({ oldRegisterCapacity: '9999.900', newRegisterCapacity: '99999.900' })
      expect((await get(`/api/v1/meters/${meter.body.id}`)).body).toMatchObject({
        registerCapacity: '99999.900',
        serialNumber: null,
      })
    })
  })

  describe('input limits', () => {
    it('refuses negative quantities in the schema, naming the field', async () => {
      const negative = await post('/api/v1/units', {
        buildingId: org.a.buildingId,
        code: 'A-NEG',
        floor: 1,
        areaM2: '-5',
        use: 'shop',
        status: 'vacant',
      })
      expect(negative.status).toBe(400)
      expect(negative.body.details.map((d: any) => d.field)).toContain('body.areaM2')
      const offset = await post('/api/v1/points', {
        deviceId: org.a.deviceId,
        code: 'neg-offset',
        name: 'x',
        address: { table: 'input-register', register: 7 },
        dataType: 'int16',
        offset: '-40',
        kind: 'gauge',
      })
      expect(offset.status).toBe(201)
      expect(offset.body.offset).toBe('-40')
    })

    it('answers 413 for a body over the limit and 400 for a search where there is nothing to search', async () => {
      const huge = await post('/api/v1/customers', {
        estateId: org.a.estateId,
        code: 'X',
        kind: 'person',
        name: 'x'.repeat(21 * 1024 * 1024),
      })
      expect(huge.status).toBe(413)
      expect(huge.body.error).toBe('EH_ERR_PAYLOAD_TOO_LARGE')
      const q = await get('/api/v1/occupancies?q=abc')
      expect(q.status).toBe(400)
      expect(q.body.details[0]).toMatchObject({ field: 'query.q', message: 'unknown field' })
    })
  })

  describe('operations endpoints', () => {
    it('answers /healthz with the store backend and /metrics in Prometheus format', async () => {
      const health = await hub.call(undefined, { method: 'GET', url: '/healthz' })
      expect(health.body).toEqual({ status: 'ok', store: backend.name })
      const metrics = await hub.call(undefined, { method: 'GET', url: '/metrics' })
      expect(metrics.status).toBe(200)
      expect(metrics.body).toMatch(
        /estatehub_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/,
      )
    })

    it('answers an unknown route with the JSON error shape', async () => {
      const missing = await get('/api/v1/nothing-here')
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ error: 'EH_ERR_NOT_FOUND', details: [] })
    })
  })
})
