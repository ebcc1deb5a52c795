import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueReceivable } from '../hub/billing/receivable-issue.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * What the console's desk and approvals page ask of the hub over HTTP: a customer's payments
 * (what a refund may ask, whether voided), an estate's requests with the customer, units,
 * receipt or line and names, filtered by status and customer and paged, what the caller may
 * request and decide, and the decider's note (required to reject).
 */
for (const backend of storeBackends()) {
  describe(`approvals list and desk payments over the API (${backend.name})`, () => {
    let hub: TestHub
    let site: Site
    let cashier: string
    let finance: string
    let manager: string
    let viewer: string
    let customerId: string
    let otherCustomerId: string
    let chargeId: string
    let lateFeeId: string
    let paymentId: string
    let receiptNo: string
    const ids: Record<string, string> = {}

    const get = (token: string, url: string) => hub.call(token, { method: 'GET', url })
    const post = (token: string, url: string, payload?: Record<string, unknown>) =>
      hub.call(token, { method: 'POST', url, ...(payload ? { payload } : {}) })
    const approvals = (token: string, query = '') =>
      get(token, `/api/v1/approvals?estateId=${site.estateId}${query}`)

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const db = hub.store.db
      site = await seedSite(db, { code: 'APLS', points: [] })
      const estateId = site.estateId
      const unit = async (code: string) =>
        (
          await db
            .insertInto('units')
            .values({
              estateId,
              buildingId: site.buildingId,
              code,
              floor: 1,
              areaM2: '90.00',
              use: 'residence',
              status: 'occupied',
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      const occupant = async (code: string, name: string, unitId: string) => {
        const id = (
          await db
            .insertInto('customers')
            .values({ estateId, code, kind: 'person', name })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
        await db
          .insertInto('occupancies')
          .values({ estateId, unitId, customerId: id, role: 'owner', startDate: '2024-01-01' })
          .execute()
        return id
      }
      const unitId = await unit('5-0101')
      customerId = await occupant('C-5-0101', '林小雨', unitId)
      otherCustomerId = await occupant('C-5-0102', '周大', await unit('5-0102'))
      const feeItemId = (
        await db
          .insertInto('feeItems')
          .values({ estateId, code: 'PROP', name: '物业费', kind: 'area', lateFeeDailyRate: '0.0005' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      const line = (kind: 'charge' | 'late_fee', amount: string, lateFeeFor: string | null) =>
        db.transaction().execute((trx) =>
          issueReceivable(trx, {
            estateId,
            customerId,
            unitId,
            feeItemId,
            period: '2026-01',
            kind,
            amount,
            dueDate: '2026-01-15',
            lateFeeFor,
            explanation: {},
            createdBy: null,
          }),
        )
      chargeId = await line('charge', '200.00', null)
      lateFeeId = await line('late_fee', '3.50', chargeId)
      cashier = await hub.userWithGrants('apls-cashier', [{ role: 'service', nodeId: estateId }])
      finance = await hub.userWithGrants('apls-finance', [{ role: 'finance', nodeId: estateId }])
      manager = await hub.userWithGrants('apls-manager', [{ role: 'admin', nodeId: estateId }])
      viewer = await hub.userWithGrants('apls-viewer', [{ role: 'viewer', nodeId: estateId }])
    })
    afterAll(() => hub?.close())

    it("lists a customer's payments newest first, with what a refund may ask", async () => {
      const paid = await hub.call(cashier, {
        method: 'POST',
        url: '/api/v1/payments',
        headers: { 'idempotency-key': 'apls-payment-0001' },
        payload: {
          estateId: site.estateId,
          customerId,
          method: 'cash',
          amount: '230.00',
          allocations: [{ receivableId: chargeId, amount: '200.00' }],
        },
      })
      expect(paid.status, JSON.stringify(paid.body)).toBe(201)
      paymentId = paid.body.paymentId
      receiptNo = paid.body.receiptNo
      const list = await get(cashier, `/api/v1/customers/${customerId}/payments`)
      expect(list.status, JSON.stringify(list.body)).toBe(200)
      expect(list.body).toMatchObject({ total: 1, limit: 50, offset: 0 })
      expect(list.body.items).toEqual([
        {
          id: paymentId,
          receiptNo,
          paidAt: expect.any(String),
          purpose: 'bills',
          method: 'cash',
          reference: null,
          amount: '230.00',
          cashierName: 'apls-cashier',
          // 200.00 went to the bill: 30.00 sits in prepayment, the most a refund may ask.
          unallocated: '30.00',
          refundable: '30.00',
          voided: false,
        },
      ])
      expect((await get(cashier, `/api/v1/customers/${otherCustomerId}/payments`)).body).toMatchObject({
        items: [],
        total: 0,
      })
    })

    it('says what the caller may request and decide', async () => {
      expect((await approvals(cashier)).body).toMatchObject({
        items: [],
        total: 0,
        mayDecide: false,
        mayRequest: ['void', 'refund', 'deposit_refund'],
      })
      expect((await approvals(finance)).body).toMatchObject({
        mayDecide: true,
        mayRequest: ['void', 'refund', 'deposit_refund', 'adjustment', 'waiver'],
      })
      expect((await approvals(viewer)).body).toMatchObject({ mayDecide: false, mayRequest: [] })
    })

    it('lists the requests with the customer, units, receipt or line and who asked', async () => {
      const refund = await post(cashier, '/api/v1/approvals', {
        estateId: site.estateId,
        kind: 'refund',
        paymentId,
        amount: '20.00',
        reason: '客户多交，退回现金',
      })
      expect(refund.status, JSON.stringify(refund.body)).toBe(201)
      ids.refund = refund.body.id
      // A waiver changes what is owed: billing's to ask, not the cashier's.
      const refused = await post(cashier, '/api/v1/approvals', {
        estateId: site.estateId,
        kind: 'waiver',
        receivableId: lateFeeId,
        amount: '3.50',
        reason: '物业原因延误',
      })
      expect(refused.status).toBe(403)
      const waiver = await post(finance, '/api/v1/approvals', {
        estateId: site.estateId,
        kind: 'waiver',
        receivableId: lateFeeId,
        amount: '3.50',
        reason: '物业原因延误',
      })
      expect(waiver.status, JSON.stringify(waiver.body)).toBe(201)
      ids.waiver = waiver.body.id

      const pending = await approvals(finance, '&status=requested')
      expect(pending.status, JSON.stringify(pending.body)).toBe(200)
      expect(pending.body.total).toBe(2)
      // Newest first: the waiver, then the refund.
      expect(pending.body.items).toEqual([
        expect.objectContaining({
          id: ids.waiver,
          kind: 'waiver',
          status: 'requested',
          amount: '3.50',
          reason: '物业原因延误',
          receivableId: lateFeeId,
          feeItemName: '物业费',
          period: '2026-01',
          receiptNo: null,
          customerId,
          customerCode: 'C-5-0101',
          customerName: '林小雨',
          unitCodes: ['5-0101'],
          requestedByName: 'apls-finance',
          decidedBy: null,
          decisionNote: null,
        }),
        expect.objectContaining({
          id: ids.refund,
          kind: 'refund',
          amount: '20.00',
          reason: '客户多交，退回现金',
          paymentId,
          receiptNo,
          customerName: '林小雨',
          // The units of the lines the payment paid.
          unitCodes: ['5-0101'],
          requestedByName: 'apls-cashier',
        }),
      ])
      expect(Date.parse(pending.body.items[0].requestedAt)).not.toBeNaN()

      const paged = await approvals(finance, '&status=requested&limit=1&offset=1')
      expect(paged.body).toMatchObject({ total: 2, limit: 1, offset: 1 })
      expect(paged.body.items.map((i: { id: string }) => i.id)).toEqual([ids.refund])
      expect((await approvals(finance, `&customerId=${otherCustomerId}`)).body).toMatchObject({
        items: [],
        total: 0,
      })
      expect((await approvals(finance, `&customerId=${customerId}`)).body.total).toBe(2)
      const bad = await approvals(finance, '&status=waiting')
      expect(bad.status).toBe(400)
      expect(bad.body.details[0].field).toMatch(/status/)
    })

    it('rejects only with a note, which the list then shows with who decided', async () => {
      const bare = await post(finance, `/api/v1/approvals/${ids.refund}/reject`)
      expect(bare.status).toBe(400)
      expect(bare.body.details).toEqual([
        {
          field: 'body.note',
          rule: 'approval.noteRequired',
          params: {},
          message: 'is required to reject a request',
        },
      ])
      const blank = await post(finance, `/api/v1/approvals/${ids.refund}/reject`, { note: '   ' })
      expect(blank.status).toBe(400)
      expect((await post(cashier, `/api/v1/approvals/${ids.refund}/reject`, { note: '不批' })).status).toBe(
        403,
      )
      const rejected = await post(finance, `/api/v1/approvals/${ids.refund}/reject`, {
        note: '预存款留作下月物业费',
      })
      expect(rejected.status, JSON.stringify(rejected.body)).toBe(204)
      const list = await approvals(cashier, '&status=rejected')
      expect(list.body.items).toEqual([
        expect.objectContaining({
          id: ids.refund,
          status: 'rejected',
          decidedByName: 'apls-finance',
          decisionNote: '预存款留作下月物业费',
        }),
      ])
      expect(Date.parse(list.body.items[0].decidedAt)).not.toBeNaN()
    })

    it('refuses the requester their own approval, and takes another person’s with or without a note', async () => {
      const own = await post(finance, `/api/v1/approvals/${ids.waiver}/approve`, { note: '同意' })
      expect(own.status).toBe(403)
      expect(own.body.message).toBe('a request must be approved by someone other than who made it')
      const approved = await post(manager, `/api/v1/approvals/${ids.waiver}/approve`, { note: '同意减免' })
      expect(approved.status, JSON.stringify(approved.body)).toBe(204)
      const account = await get(cashier, `/api/v1/customers/${customerId}/account`)
      expect(account.body.open).toEqual([])
      expect((await approvals(finance, '&status=approved')).body.items).toEqual([
        expect.objectContaining({ id: ids.waiver, decidedByName: 'apls-manager', decisionNote: '同意减免' }),
      ])

      // A void approved with no body at all (as before notes): the desk shows the payment voided.
      const request = await post(cashier, '/api/v1/approvals', {
        estateId: site.estateId,
        kind: 'void',
        paymentId,
        reason: '收错客户',
      })
      expect(request.status, JSON.stringify(request.body)).toBe(201)
      expect((await post(finance, `/api/v1/approvals/${request.body.id}/approve`)).status).toBe(204)
      const payments = await get(cashier, `/api/v1/customers/${customerId}/payments`)
      expect(payments.body.items).toEqual([expect.objectContaining({ id: paymentId, voided: true })])
      expect((await approvals(cashier, '&status=approved')).body.items[0]).toMatchObject({
        kind: 'void',
        amount: '230.00',
        receiptNo,
        decisionNote: null,
      })
      const reopened = await get(cashier, `/api/v1/customers/${customerId}/account`)
      expect(reopened.body.open).toEqual([expect.objectContaining({ id: chargeId, open: '200.00' })])
    })
  })
}
