import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixedCharge } from '../hub/billing/fee-calc.ts'
import { charged, type FeeKindDefinition } from '../hub/billing/fee-kinds/fee-kind.ts'
import { feeKindNames, registerFeeKind } from '../hub/billing/fee-kinds/fee-kind-registry.ts'
import { Decimal } from '../hub/kernel/decimal.ts'
import type { TestHub } from './support/test-hub.ts'

/**
 * Adding a fee kind is one definition plus one registration: a test-only kind, 电梯费 priced per
 * floor (amount × the unit's floor per period, prorated by days like a fixed fee), registered
 * here and nowhere else, is accepted by the fee item and standard API with its own fields, by
 * the database's CHECK, and billed by a bill-run preview with its explanation.
 */
const elevatorByFloor: FeeKindDefinition = {
  name: 'elevator_by_floor',
  fields: ['amount'],
  meter: 'none',
  oneOff: false,
  billItem:
    ({ period, rounding }) =>
    ({ unit, spans }) => {
      const ruleSpans = spans.map((s) => ({
        from: s.from,
        to: s.to,
        rule: {
          kind: 'fixed' as const,
          amount: Decimal.of(s.standard.amount ?? '0')
            .times(BigInt(unit.floor))
            .toFixed(2),
        },
      }))
      return charged(fixedCharge({ spans: ruleSpans, period, rounding }), spans, { floor: unit.floor })
    },
}

// Before the store is migrated and the app built: the CHECK and the route schemas list the kinds.
registerFeeKind(elevatorByFloor)
const { storeBackends } = await import('./support/store-backends.ts')
const { openTestHub } = await import('./support/test-hub.ts')

for (const backend of storeBackends()) {
  describe(`a test-only fee kind (${backend.name})`, () => {
    let hub: TestHub
    let finance: string
    let estateId: string
    let itemId: string

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const db = hub.store.db
      const { seedSite } = await import('./support/ingest-fixture.ts')
      const site = await seedSite(db, { code: 'LIFT', points: [] })
      estateId = site.estateId
      for (const [code, floor] of [
        ['1-0301', 3],
        ['1-1201', 12],
      ] as const) {
        const unit = await db
          .insertInto('units')
          .values({
            estateId,
            buildingId: site.buildingId,
            code,
            floor,
            areaM2: '90.00',
            use: 'residence',
            status: 'occupied',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const customer = await db
          .insertInto('customers')
          .values({ estateId, code: `C-${code}`, kind: 'person', name: `业主 ${code}` })
          .returning('id')
          .executeTakeFirstOrThrow()
        await db
          .insertInto('occupancies')
          .values({
            estateId,
            unitId: unit.id,
            customerId: customer.id,
            role: 'owner',
            startDate: '2024-01-01',
          })
          .execute()
      }
      finance = await hub.userWithGrants('lift-finance', [{ role: 'finance', nodeId: estateId }])
    })
    afterAll(() => hub?.close())

    const post = (url: string, payload: object) => hub.call(finance, { method: 'POST', url, payload })

    it('is listed after the built-in kinds', () => {
      expect(feeKindNames()).toEqual([
        'area',
        'consumption',
        'tiered',
        'fixed',
        'shared',
        'one_off',
        'elevator_by_floor',
      ])
    })

    it('is configured over the API with the fields it declares', async () => {
      const item = await post('/api/v1/fee-items', {
        estateId,
        code: 'LIFT',
        name: '电梯费',
        kind: 'elevator_by_floor',
      })
      expect(item.status, JSON.stringify(item.body)).toBe(201)
      expect(item.body).toMatchObject({ kind: 'elevator_by_floor', meterKind: null, cycle: 'monthly' })
      itemId = item.body.id
      const metered = await post('/api/v1/fee-items', {
        estateId,
        code: 'LIFT2',
        name: '电梯费',
        kind: 'elevator_by_floor',
        meterKind: 'electricity',
      })
      expect(metered.status).toBe(400)
      expect(metered.body.details[0].field).toBe('body.meterKind')

      const priced = await post('/api/v1/fee-standards', {
        feeItemId: itemId,
        name: '每层',
        price: '2.50',
        validFrom: '2026-01-01',
      })
      expect(priced.status).toBe(400)
      expect(priced.body.details[0].field).toBe('body.price')
      const standard = await post('/api/v1/fee-standards', {
        feeItemId: itemId,
        name: '每层 2.50',
        amount: '2.50',
        validFrom: '2026-01-01',
      })
      expect(standard.status, JSON.stringify(standard.body)).toBe(201)
      const assignment = await post('/api/v1/fee-assignments', {
        feeStandardId: standard.body.id,
        target: 'estate',
        validFrom: '2026-01-01',
      })
      expect(assignment.status, JSON.stringify(assignment.body)).toBe(201)
    })

    it('is billed by a bill-run preview, exactly, with its explanation', async () => {
      const preview = await post('/api/v1/bill-runs', { estateId, period: '2026-10', scope: 'estate' })
      expect(preview.status, JSON.stringify(preview.body)).toBe(201)
      // 3 × 2.50 = 7.50 and 12 × 2.50 = 30.00
      expect(preview.body).toMatchObject({ lines: 2, total: '37.50', toIssue: '37.50', held: 0 })
      const detail = await hub.call(finance, { method: 'GET', url: `/api/v1/bill-runs/${preview.body.id}` })
      expect(detail.body.lines).toEqual([
        expect.objectContaining({
          unitCode: '1-0301',
          feeItemCode: 'LIFT',
          amount: '7.50',
          explanation: expect.objectContaining({ floor: 3, standards: ['每层 2.50'] }),
        }),
        expect.objectContaining({
          unitCode: '1-1201',
          amount: '30.00',
          explanation: expect.objectContaining({ formula: '30.00 /期 × 31/31 天 = 30.00', floor: 12 }),
        }),
      ])
    })
  })
}
