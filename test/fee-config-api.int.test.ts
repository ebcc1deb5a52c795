import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadStandards, monthSpan } from '../hub/billing/bill-inputs.ts'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

describe.each(storeBackends())('fee configuration API on $name', (backend) => {
  let hub: TestHub
  let org: TwoEstates
  let token: string
  let financeA: string
  let viewerA: string
  let engineerA: string
  /** Items of estate A by code, made in beforeAll: one of every kind. */
  const items: Record<string, any> = {}
  let waterMeterId: string

  const post = (url: string, payload: unknown, as = token) =>
    hub.call(as, { method: 'POST', url, payload: payload as object })
  const patch = (url: string, payload: unknown, as = token) =>
    hub.call(as, { method: 'PATCH', url, payload: payload as object })
  const get = (url: string, as = token) => hub.call(as, { method: 'GET', url })
  const created = async (url: string, payload: unknown) => {
    const response = await post(url, payload)
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    return response.body
  }
  /** A 400 (or the given status) whose first detail names `field`. */
  const refused = async (
    response: Promise<{ status: number; body: any }>,
    field: string,
    status = 400,
  ): Promise<string> => {
    const { status: got, body } = await response
    expect(got, JSON.stringify(body)).toBe(status)
    expect(body.details[0].field, JSON.stringify(body)).toBe(field)
    return body.details[0].message as string
  }

  const item = (overrides: Record<string, unknown>) => ({
    estateId: org.a.estateId,
    name: 'fee',
    ...overrides,
  })
  const standard = (code: string, overrides: Record<string, unknown>) => ({
    feeItemId: items[code].id,
    name: `${code} standard`,
    validFrom: '2025-01-01',
    ...overrides,
  })

  beforeAll(async () => {
    hub = await openTestHub(backend)
    org = await twoEstates(hub)
    token = org.rootToken
    financeA = await hub.userWithGrants('fee-finance-a', [{ role: 'finance', nodeId: org.a.estateId }])
    viewerA = await hub.userWithGrants('fee-viewer-a', [{ role: 'viewer', nodeId: org.a.estateId }])
    engineerA = await hub.userWithGrants('fee-engineer-a', [{ role: 'engineering', nodeId: org.a.estateId }])
    for (const [code, values] of Object.entries({
      PROP: { kind: 'area', name: '物业服务费' },
      WATER: {
        kind: 'consumption',
        meterKind: 'water',
        name: '水费',
        roundingUnit: 'jiao',
        roundingMode: 'down',
      },
      ELEC: { kind: 'tiered', meterKind: 'electricity', name: '电费' },
      GARB: { kind: 'fixed', name: '垃圾清运费', cycle: 'quarterly', dueDays: 30 },
      PUBLIC: { kind: 'shared', name: '公摊水费' },
      DECO: { kind: 'one_off', name: '装修管理费', cycle: 'one_off' },
    })) {
      items[code] = await created('/api/v1/fee-items', item({ code, ...values }))
    }
    waterMeterId = (
      await created('/api/v1/meters', { estateId: org.a.estateId, code: 'A-W-MAIN', kind: 'water' })
    ).id
  })
  afterAll(() => hub?.close())

  describe('fee items', () => {
    it('creates items of every kind with the defaults filled in', async () => {
      expect(items.PROP).toMatchObject({
        estateId: org.a.estateId,
        kind: 'area',
        meterKind: null,
        roundingUnit: 'fen',
        roundingMode: 'half-up',
        cycle: 'monthly',
        dueDays: 15,
        lateFeeGraceDays: 0,
        lateFeeCapRatio: null,
        active: true,
      })
      expect(Number(items.PROP.lateFeeDailyRate)).toBe(0)
      expect(items.WATER).toMatchObject({ meterKind: 'water', roundingUnit: 'jiao', roundingMode: 'down' })
      expect(items.GARB).toMatchObject({ cycle: 'quarterly', dueDays: 30 })
      expect(items.DECO).toMatchObject({ kind: 'one_off', cycle: 'one_off' })
      const late = await created(
        '/api/v1/fee-items',
        item({
          code: 'LATE',
          kind: 'area',
          lateFeeDailyRate: 0.0005,
          lateFeeGraceDays: 10,
          lateFeeCapRatio: '1',
        }),
      )
      expect(late).toMatchObject({
        lateFeeDailyRate: '0.000500',
        lateFeeGraceDays: 10,
        lateFeeCapRatio: '1.0000',
      })
      const read = await get(`/api/v1/fee-items/${late.id}`)
      expect(read.body).toEqual(late)
    })

    it('refuses bad items naming the field', async () => {
      expect(
        await refused(post('/api/v1/fee-items', item({ code: 'X1', kind: 'consumption' })), 'body.meterKind'),
      ).toMatch(/required/)
      await refused(post('/api/v1/fee-items', item({ code: 'X1', kind: 'tiered' })), 'body.meterKind')
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', meterKind: 'water' })),
        'body.meterKind',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', roundingUnit: 'yuan' })),
        'body.roundingUnit',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', roundingMode: 'up' })),
        'body.roundingMode',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', cycle: 'weekly' })),
        'body.cycle',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', cycle: 'one_off' })),
        'body.cycle',
      )
      await refused(post('/api/v1/fee-items', item({ code: 'X1', kind: 'one_off' })), 'body.cycle')
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', dueDays: 366 })),
        'body.dueDays',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', dueDays: -1 })),
        'body.dueDays',
      )
      expect(
        await refused(
          post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', lateFeeDailyRate: '0.0101' })),
          'body.lateFeeDailyRate',
        ),
      ).toMatch(/at most 0.01/)
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', lateFeeDailyRate: 0.0000005 })),
        'body.lateFeeDailyRate',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', lateFeeDailyRate: '-0.001' })),
        'body.lateFeeDailyRate',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', lateFeeGraceDays: -1 })),
        'body.lateFeeGraceDays',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', lateFeeCapRatio: -1 })),
        'body.lateFeeCapRatio',
      )
      await refused(
        post('/api/v1/fee-items', item({ code: 'X1', kind: 'area', lateFeeCapRatio: '100' })),
        'body.lateFeeCapRatio',
      )
      await refused(post('/api/v1/fee-items', item({ code: 'X1', kind: 'rent' })), 'body.kind')
      // A rate of exactly 1% a day is the limit, and allowed.
      expect(
        (await post('/api/v1/fee-items', item({ code: 'X-MAX', kind: 'area', lateFeeDailyRate: '0.01' })))
          .status,
      ).toBe(201)
    })

    it('refuses a duplicate code in the same estate with 409, but allows it in another', async () => {
      await refused(post('/api/v1/fee-items', item({ code: 'PROP', kind: 'area' })), 'body.code', 409)
      expect(
        (await post('/api/v1/fee-items', item({ code: 'PROP', kind: 'area', estateId: org.b.estateId })))
          .status,
      ).toBe(201)
      const other = await created('/api/v1/fee-items', item({ code: 'RENAME-ME', kind: 'fixed' }))
      await refused(patch(`/api/v1/fee-items/${other.id}`, { code: 'PROP' }), 'body.code', 409)
    })

    it('changes the kind only while the item has no standards', async () => {
      const loose = await created('/api/v1/fee-items', item({ code: 'KIND', kind: 'area' }))
      const changed = await patch(`/api/v1/fee-items/${loose.id}`, { kind: 'consumption', meterKind: 'heat' })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      expect(changed.body).toMatchObject({ kind: 'consumption', meterKind: 'heat', code: 'KIND' })
      // Back to area: the meter kind must go too.
      await refused(patch(`/api/v1/fee-items/${loose.id}`, { kind: 'area' }), 'body.meterKind')

      await created('/api/v1/fee-standards', standard('GARB', { amount: '10' }))
      expect(
        await refused(patch(`/api/v1/fee-items/${items.GARB.id}`, { kind: 'area' }), 'body.kind'),
      ).toMatch(/has standards/)
      await created('/api/v1/fee-standards', standard('WATER', { price: '3.2' }))
      await refused(patch(`/api/v1/fee-items/${items.WATER.id}`, { meterKind: 'heat' }), 'body.meterKind')
      // Everything else may change.
      const renamed = await patch(`/api/v1/fee-items/${items.GARB.id}`, {
        name: '生活垃圾清运费',
        dueDays: 20,
        lateFeeDailyRate: '0.0003',
        active: false,
      })
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200)
      expect(renamed.body).toMatchObject({
        kind: 'fixed',
        dueDays: 20,
        lateFeeDailyRate: '0.000300',
        active: false,
      })
      await refused(
        patch(`/api/v1/fee-items/${items.GARB.id}`, { lateFeeDailyRate: 0.02 }),
        'body.lateFeeDailyRate',
      )
      await refused(
        patch(`/api/v1/fee-items/${items.GARB.id}`, { estateId: org.b.estateId }),
        'body.estateId',
      )
    })

    it('lists with filters and search', async () => {
      const metered = await get(`/api/v1/fee-items?estateId=${org.a.estateId}&kind=tiered`)
      expect(metered.body.items.map((i: any) => i.code)).toEqual(['ELEC'])
      const search = await get(`/api/v1/fee-items?estateId=${org.a.estateId}&q=${encodeURIComponent('水费')}`)
      expect(search.body.items.map((i: any) => i.code)).toEqual(['PUBLIC', 'WATER'])
    })
  })

  describe('fee standards', () => {
    it('creates a standard for every kind, keeping decimals exact', async () => {
      const area = await created(
        '/api/v1/fee-standards',
        standard('PROP', { price: 2.8, validTo: '2026-01-01' }),
      )
      expect(area).toMatchObject({
        estateId: org.a.estateId,
        price: '2.8000',
        amount: null,
        bands: null,
        validFrom: '2025-01-01',
        validTo: '2026-01-01',
      })
      expect(
        await created(
          '/api/v1/fee-standards',
          standard('WATER', { price: '3.4567', validFrom: '2026-01-01' }),
        ),
      ).toMatchObject({
        price: '3.4567',
      })
      const tiered = await created(
        '/api/v1/fee-standards',
        standard('ELEC', {
          bands: [
            { upTo: 180, price: 0.5283 },
            { upTo: '280', price: '0.5783' },
            { upTo: null, price: '0.8283' },
          ],
          tierBasis: 'annual',
        }),
      )
      expect(tiered.bands).toEqual([
        { upTo: '180', price: '0.5283' },
        { upTo: '280', price: '0.5783' },
        { upTo: null, price: '0.8283' },
      ])
      expect(tiered.tierBasis).toBe('annual')
      expect((await get(`/api/v1/fee-standards/${tiered.id}`)).body).toEqual(tiered)
      // What a bill run loads: the bands as the engine takes them.
      const loaded = await loadStandards(hub.store.db, org.a.estateId, monthSpan('2025-06'))
      expect(loaded.standards.get(tiered.id)?.bands).toEqual(tiered.bands)

      const oneBand = await created(
        '/api/v1/fee-standards',
        standard('ELEC', {
          bands: [{ upTo: null, price: '0.6' }],
          tierBasis: 'period',
          validFrom: '2030-01-01',
        }),
      )
      expect(oneBand.bands).toEqual([{ upTo: null, price: '0.6' }])
      expect(
        await created('/api/v1/fee-standards', standard('GARB', { amount: 15.5, validFrom: '2026-01-01' })),
      ).toMatchObject({
        amount: '15.50',
      })
      expect(await created('/api/v1/fee-standards', standard('DECO', { amount: '800' }))).toMatchObject({
        amount: '800.00',
      })
      const shared = await created(
        '/api/v1/fee-standards',
        standard('PUBLIC', {
          price: '4.1',
          shareBasis: 'consumption',
          shareSource: 'meter',
          shareMeterId: waterMeterId,
        }),
      )
      expect(shared).toMatchObject({
        shareBasis: 'consumption',
        shareSource: 'meter',
        shareMeterId: waterMeterId,
      })
    })

    it("requires the fields of the item's kind and refuses the others", async () => {
      expect(await refused(post('/api/v1/fee-standards', standard('PROP', {})), 'body.price')).toMatch(
        /required/,
      )
      expect(
        await refused(
          post(
            '/api/v1/fee-standards',
            standard('PROP', { price: '1', bands: [{ upTo: null, price: '1' }] }),
          ),
          'body.bands',
        ),
      ).toMatch(/not used by an area item/)
      await refused(
        post('/api/v1/fee-standards', standard('PROP', { price: '1', amount: '1' })),
        'body.amount',
      )
      await refused(post('/api/v1/fee-standards', standard('GARB', { price: '1' })), 'body.price')
      await refused(post('/api/v1/fee-standards', standard('DECO', {})), 'body.amount')
      await refused(post('/api/v1/fee-standards', standard('ELEC', { tierBasis: 'period' })), 'body.bands')
      await refused(
        post('/api/v1/fee-standards', standard('ELEC', { bands: [{ upTo: null, price: '1' }] })),
        'body.tierBasis',
      )
      await refused(
        post(
          '/api/v1/fee-standards',
          standard('ELEC', { bands: [{ upTo: null, price: '1' }], tierBasis: 'period', price: '1' }),
        ),
        'body.price',
      )
      await refused(
        post('/api/v1/fee-standards', standard('WATER', { price: '1', tierBasis: 'period' })),
        'body.tierBasis',
      )
      const shared = { price: '1', shareBasis: 'area', shareSource: 'meter', shareMeterId: waterMeterId }
      await refused(
        post('/api/v1/fee-standards', standard('PUBLIC', { ...shared, shareMeterId: undefined })),
        'body.shareMeterId',
      )
      await refused(
        post('/api/v1/fee-standards', standard('PUBLIC', { ...shared, shareBasis: null })),
        'body.shareBasis',
      )
      await refused(
        post('/api/v1/fee-standards', standard('PUBLIC', { ...shared, shareSource: 'pool' })),
        'body.shareSource',
      )
      await refused(
        post('/api/v1/fee-standards', standard('PROP', { price: '1', shareMeterId: waterMeterId })),
        'body.shareMeterId',
      )
      await refused(post('/api/v1/fee-standards', standard('PROP', { price: '1.23456' })), 'body.price')
      await refused(post('/api/v1/fee-standards', standard('GARB', { amount: '1.234' })), 'body.amount')
      await refused(post('/api/v1/fee-standards', standard('PROP', { price: -1 })), 'body.price')
    })

    it('checks the bands', async () => {
      const tiered = (bands: unknown) =>
        post('/api/v1/fee-standards', standard('ELEC', { bands, tierBasis: 'period' }))
      await refused(tiered([]), 'body.bands')
      expect(
        await refused(
          tiered([
            { upTo: '280', price: '0.5' },
            { upTo: '180', price: '0.6' },
            { upTo: null, price: '0.8' },
          ]),
          'body.bands',
        ),
      ).toMatch(/ascending/)
      await refused(
        tiered([
          { upTo: '180', price: '0.5' },
          { upTo: '180', price: '0.6' },
          { upTo: null, price: '0.8' },
        ]),
        'body.bands',
      )
      expect(
        await refused(
          tiered([
            { upTo: null, price: '0.5' },
            { upTo: '180', price: '0.6' },
          ]),
          'body.bands',
        ),
      ).toMatch(/open-ended/)
      expect(await refused(tiered([{ upTo: '180', price: '0.5' }]), 'body.bands')).toMatch(/last band/)
      await refused(
        tiered([
          { upTo: '0', price: '0.5' },
          { upTo: null, price: '0.6' },
        ]),
        'body.bands',
      )
      await refused(tiered([{ upTo: null, price: 0.12345 }]), 'body.bands.0.price')
      await refused(tiered([{ upTo: null, price: '0.12345' }]), 'body.bands.0.price')
      await refused(
        tiered([
          { upTo: 1.2345, price: '1' },
          { upTo: null, price: '2' },
        ]),
        'body.bands.0.upTo',
      )
      await refused(
        tiered([
          { upTo: '100', price: '1' },
          { upTo: null, price: -2 },
        ]),
        'body.bands.1.price',
      )
      await refused(tiered([{ upTo: null, price: '1', colour: 'red' }]), 'body.bands.0.colour')
      await refused(tiered([{ price: '1' }]), 'body.bands.0.upTo')
    })

    it('shares only a meter of the estate, of the item’s kind, and a loss only of a master meter', async () => {
      const fixtureItem = org.a.feeItemId // shared electricity, the fixture's
      const shared = (overrides: Record<string, unknown>) =>
        post('/api/v1/fee-standards', {
          feeItemId: fixtureItem,
          name: 'share',
          price: '1',
          shareBasis: 'area',
          shareSource: 'meter',
          shareMeterId: org.a.meterId,
          validFrom: '2025-01-01',
          ...overrides,
        })
      expect(await refused(shared({ shareMeterId: org.b.meterId }), 'body.shareMeterId')).toMatch(
        /same estate/,
      )
      expect(await refused(shared({ shareMeterId: waterMeterId }), 'body.shareMeterId')).toMatch(
        /water meter/,
      )
      expect(
        await refused(shared({ shareMeterId: org.a.subMeterId, shareSource: 'loss' }), 'body.shareMeterId'),
      ).toMatch(/no sub-meters/)
      expect((await shared({ shareMeterId: org.a.subMeterId })).status).toBe(201)
      // An unknown meter is a 404 like any id one may not see.
      await refused(
        shared({ shareMeterId: '00000000-0000-4000-8000-000000000000' }),
        'body.shareMeterId',
        404,
      )
    })

    it('needs validTo after validFrom', async () => {
      await refused(
        post('/api/v1/fee-standards', standard('PROP', { price: '1', validTo: '2025-01-01' })),
        'body.validTo',
      )
      await refused(
        post('/api/v1/fee-standards', standard('PROP', { price: '1', validTo: '2024-12-31' })),
        'body.validTo',
      )
      await refused(
        post('/api/v1/fee-standards', standard('PROP', { price: '1', validFrom: '2025-02-30' })),
        'body.validFrom',
      )
    })

    it('lists by item, and changes only the name and the end (a new price is a new standard)', async () => {
      const list = await get(`/api/v1/fee-standards?feeItemId=${items.ELEC.id}`)
      expect(list.status).toBe(200)
      expect(list.body.items.map((s: any) => s.validFrom)).toEqual(['2025-01-01', '2030-01-01'])
      const id = list.body.items[0].id
      const renamed = await patch(`/api/v1/fee-standards/${id}`, { name: '居民阶梯电价' })
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200)
      expect(renamed.body.name).toBe('居民阶梯电价')
      expect((await patch(`/api/v1/fee-standards/${id}`, { price: '1.00' })).status).toBe(400)
      expect((await patch(`/api/v1/fee-standards/${id}`, { validTo: '2024-01-01' })).status).toBe(400)
    })
  })

  describe('fee assignments', () => {
    let propStandard: string
    beforeAll(async () => {
      propStandard = (
        await created('/api/v1/fee-standards', {
          feeItemId: items.PROP.id,
          name: '物业费 住宅',
          price: '2.5',
          validFrom: '2024-01-01',
        })
      ).id
    })
    const assignment = (overrides: Record<string, unknown>) => ({
      feeStandardId: propStandard,
      validFrom: '2024-01-01',
      ...overrides,
    })

    it('assigns a standard to every kind of target', async () => {
      const estate = await created('/api/v1/fee-assignments', assignment({ target: 'estate' }))
      expect(estate).toMatchObject({
        estateId: org.a.estateId,
        target: 'estate',
        buildingId: null,
        unitUse: null,
        unitId: null,
        customerId: null,
        validFrom: '2024-01-01',
        validTo: null,
      })
      expect(
        await created(
          '/api/v1/fee-assignments',
          assignment({ target: 'building', buildingId: org.a.buildingId }),
        ),
      ).toMatchObject({ target: 'building', buildingId: org.a.buildingId })
      expect(
        await created('/api/v1/fee-assignments', assignment({ target: 'use', unitUse: 'shop' })),
      ).toMatchObject({
        target: 'use',
        unitUse: 'shop',
      })
      expect(
        await created(
          '/api/v1/fee-assignments',
          assignment({ target: 'unit', unitId: org.a.unitId, validTo: '2025-01-01' }),
        ),
      ).toMatchObject({ target: 'unit', unitId: org.a.unitId, validTo: '2025-01-01' })
      expect(
        await created(
          '/api/v1/fee-assignments',
          assignment({ target: 'customer', customerId: org.a.customerId }),
        ),
      ).toMatchObject({ target: 'customer', customerId: org.a.customerId })
      const byTarget = await get(`/api/v1/fee-assignments?feeStandardId=${propStandard}&target=use`)
      expect(byTarget.body.items.map((a: any) => a.unitUse)).toEqual(['shop'])
      const byUnit = await get(`/api/v1/fee-assignments?unitId=${org.a.unitId}`)
      expect(byUnit.body.total).toBe(1)
    })

    it('needs exactly the field of the target', async () => {
      expect(
        await refused(post('/api/v1/fee-assignments', assignment({ target: 'building' })), 'body.buildingId'),
      ).toMatch(/required/)
      await refused(post('/api/v1/fee-assignments', assignment({ target: 'use' })), 'body.unitUse')
      await refused(post('/api/v1/fee-assignments', assignment({ target: 'unit' })), 'body.unitId')
      await refused(post('/api/v1/fee-assignments', assignment({ target: 'customer' })), 'body.customerId')
      expect(
        await refused(
          post('/api/v1/fee-assignments', assignment({ target: 'estate', unitId: org.a.unitId })),
          'body.unitId',
        ),
      ).toMatch(/not used by target estate/)
      await refused(
        post(
          '/api/v1/fee-assignments',
          assignment({ target: 'unit', unitId: org.a.unitId, buildingId: org.a.buildingId }),
        ),
        'body.buildingId',
      )
      await refused(
        post(
          '/api/v1/fee-assignments',
          assignment({ target: 'customer', customerId: org.a.customerId, unitUse: 'shop' }),
        ),
        'body.unitUse',
      )
      await refused(
        post('/api/v1/fee-assignments', assignment({ target: 'use', unitUse: 'castle' })),
        'body.unitUse',
      )
      await refused(post('/api/v1/fee-assignments', assignment({ target: 'street' })), 'body.target')
    })

    it('keeps references inside the estate', async () => {
      for (const [target, field, id] of [
        ['building', 'buildingId', org.b.buildingId],
        ['unit', 'unitId', org.b.unitId],
        ['customer', 'customerId', org.b.customerId],
      ] as const) {
        expect(
          await refused(
            post('/api/v1/fee-assignments', assignment({ target, [field]: id, validFrom: '2031-01-01' })),
            `body.${field}`,
          ),
        ).toMatch(/same estate/)
      }
    })

    it('needs validTo after validFrom, and days on which the standard is valid', async () => {
      await refused(
        post(
          '/api/v1/fee-assignments',
          assignment({ target: 'estate', validFrom: '2026-01-01', validTo: '2025-06-01' }),
        ),
        'body.validTo',
      )
      const old = await created('/api/v1/fee-standards', {
        feeItemId: items.PROP.id,
        name: '物业费 2020',
        price: '2',
        validFrom: '2020-01-01',
        validTo: '2021-01-01',
      })
      expect(
        await refused(
          post('/api/v1/fee-assignments', {
            feeStandardId: old.id,
            target: 'estate',
            validFrom: '2021-01-01',
          }),
          'body.validFrom',
        ),
      ).toMatch(/never applies/)
    })

    it('refuses two standards of one item for the same target on the same day (409)', async () => {
      const next = await created('/api/v1/fee-standards', {
        feeItemId: items.PROP.id,
        name: '物业费 2026',
        price: '3',
        validFrom: '2026-01-01',
      })
      // The estate already has propStandard from 2024, open-ended.
      expect(
        await refused(
          post('/api/v1/fee-assignments', {
            feeStandardId: next.id,
            target: 'estate',
            validFrom: '2026-01-01',
          }),
          'body.validFrom',
          409,
        ),
      ).toMatch(/overlaps/)
      // The unit's own assignment ended on 2025-01-01: the unit may take the new one from then on.
      await created('/api/v1/fee-assignments', {
        feeStandardId: next.id,
        target: 'unit',
        unitId: org.a.unitId,
        validFrom: '2025-01-01',
      })
      await refused(
        post('/api/v1/fee-assignments', {
          feeStandardId: next.id,
          target: 'unit',
          unitId: org.a.unitId,
          validFrom: '2020-01-01',
        }),
        'body.validFrom',
        409,
      )
      // Another use is another target.
      await created('/api/v1/fee-assignments', {
        feeStandardId: next.id,
        target: 'use',
        unitUse: 'office',
        validFrom: '2026-01-01',
      })
      await refused(
        post('/api/v1/fee-assignments', {
          feeStandardId: next.id,
          target: 'use',
          unitUse: 'shop',
          validFrom: '2026-01-01',
        }),
        'body.validFrom',
        409,
      )
      // Standards that end and begin on one day do not overlap, even with open-ended assignments.
      const until = await created('/api/v1/fee-standards', {
        feeItemId: items.GARB.id,
        name: 'until 2027',
        amount: '5',
        validFrom: '2025-01-01',
        validTo: '2027-01-01',
      })
      const from = await created('/api/v1/fee-standards', {
        feeItemId: items.GARB.id,
        name: 'from 2027',
        amount: '6',
        validFrom: '2027-01-01',
      })
      await created('/api/v1/fee-assignments', {
        feeStandardId: until.id,
        target: 'estate',
        validFrom: '2025-01-01',
      })
      await created('/api/v1/fee-assignments', {
        feeStandardId: from.id,
        target: 'estate',
        validFrom: '2025-01-01',
      })
    })

    it('ends an assignment by setting validTo, and changes nothing else', async () => {
      // An assignment of its own (storage units), so no other test's assignments are in the way.
      const made = await created('/api/v1/fee-assignments', assignment({ target: 'use', unitUse: 'storage' }))
      const ended = await patch(`/api/v1/fee-assignments/${made.id}`, { validTo: '2027-01-01' })
      expect(ended.status, JSON.stringify(ended.body)).toBe(200)
      expect(ended.body.validTo).toBe('2027-01-01')
      expect((await patch(`/api/v1/fee-assignments/${made.id}`, { target: 'estate' })).status).toBe(400)
    })
  })

  describe('access', () => {
    it('lets billing.configure write and anyone who sees the estate read', async () => {
      const made = await post(
        '/api/v1/fee-items',
        { estateId: org.a.estateId, code: 'PARK', name: '停车费', kind: 'fixed' },
        financeA,
      )
      expect(made.status).toBe(201)
      const std = await post(
        '/api/v1/fee-standards',
        { feeItemId: made.body.id, name: '月租', amount: '300', validFrom: '2025-01-01' },
        financeA,
      )
      expect(std.status).toBe(201)
      expect(
        (
          await post(
            '/api/v1/fee-assignments',
            { feeStandardId: std.body.id, target: 'use', unitUse: 'parking', validFrom: '2025-01-01' },
            financeA,
          )
        ).status,
      ).toBe(201)
      for (const as of [viewerA, engineerA]) {
        expect((await get(`/api/v1/fee-items/${made.body.id}`, as)).status).toBe(200)
        expect((await get(`/api/v1/fee-standards?feeItemId=${made.body.id}`, as)).body.total).toBe(1)
        expect((await get(`/api/v1/fee-assignments?feeStandardId=${std.body.id}`, as)).body.total).toBe(1)
      }
    })

    it('refuses a viewer and an engineer every write with 403 naming billing.configure', async () => {
      for (const as of [viewerA, engineerA]) {
        const writes = [
          post('/api/v1/fee-items', { estateId: org.a.estateId, code: 'NOPE', name: 'x', kind: 'area' }, as),
          patch(`/api/v1/fee-items/${items.PROP.id}`, { name: 'x' }, as),
          post('/api/v1/fee-standards', standard('PROP', { price: '1' }), as),
          post(
            '/api/v1/fee-assignments',
            { feeStandardId: org.a.feeStandardId, target: 'estate', validFrom: '2040-01-01' },
            as,
          ),
        ]
        for (const response of await Promise.all(writes)) {
          expect(response.status, JSON.stringify(response.body)).toBe(403)
          expect(response.body.error).toBe('EH_ERR_FORBIDDEN')
          expect(response.body.message).toMatch(/billing\.configure/)
        }
      }
    })

    it("answers 404 for another estate's records, in the path and in the body", async () => {
      for (const path of [
        `/api/v1/fee-items/${org.b.feeItemId}`,
        `/api/v1/fee-standards/${org.b.feeStandardId}`,
        `/api/v1/fee-assignments/${org.b.feeAssignmentId}`,
      ]) {
        expect((await get(path, financeA)).status, path).toBe(404)
      }
      await refused(patch(`/api/v1/fee-items/${org.b.feeItemId}`, { name: 'x' }, financeA), 'params.id', 404)
      await refused(
        post(
          '/api/v1/fee-standards',
          { feeItemId: org.b.feeItemId, name: 'x', amount: '1', validFrom: '2025-01-01' },
          financeA,
        ),
        'body.feeItemId',
        404,
      )
      await refused(
        post(
          '/api/v1/fee-assignments',
          { feeStandardId: org.b.feeStandardId, target: 'estate', validFrom: '2025-01-01' },
          financeA,
        ),
        'body.feeStandardId',
        404,
      )
      await refused(
        get(`/api/v1/fee-standards?feeItemId=${org.b.feeItemId}`, financeA),
        'query.feeItemId',
        404,
      )
      const mine = await get('/api/v1/fee-items?limit=500', financeA)
      expect(mine.body.items.every((i: any) => i.estateId === org.a.estateId)).toBe(true)
    })
  })
})
