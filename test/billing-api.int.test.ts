import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addDays, dueDateOf } from '../hub/billing/due-dates.ts'
import { localDate } from '../hub/metering/cutoff.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * The billing flow as a clerk and a cashier drive it over HTTP: preview a month, see the held
 * list, approve, find the customer at the desk, take a payment (retried with the same
 * Idempotency-Key), print the receipt, and have a void approved by someone else.
 */
for (const backend of storeBackends()) {
  describe(`billing over the API (${backend.name})`, () => {
    let hub: TestHub
    let site: Site
    let finance: string
    let approver: string
    let cashier: string
    let viewer: string
    let customerId: string
    let runId: string
    let paymentId: string

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const db = hub.store.db
      site = await seedSite(db, { code: 'BAPI', points: [] })
      const estateId = site.estateId
      const unit = await db
        .insertInto('units')
        .values({
          estateId,
          buildingId: site.buildingId,
          code: '3-1201',
          floor: 12,
          areaM2: '100.00',
          use: 'residence',
          status: 'occupied',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      customerId = (
        await db
          .insertInto('customers')
          .values({ estateId, code: 'C-3-1201', kind: 'person', name: '陈<小>明', phone: '13912345678' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      await db
        .insertInto('occupancies')
        .values({ estateId, unitId: unit.id, customerId, role: 'owner', startDate: '2024-01-01' })
        .execute()
      // 3-1202 has no owner yet: its line is held.
      await db
        .insertInto('units')
        .values({
          estateId,
          buildingId: site.buildingId,
          code: '3-1202',
          floor: 12,
          areaM2: '80.00',
          use: 'residence',
          status: 'vacant',
        })
        .execute()
      const prop = await db
        .insertInto('feeItems')
        .values({ estateId, code: 'PROP', name: '物业费', kind: 'area', dueDays: 10 })
        .returning('id')
        .executeTakeFirstOrThrow()
      const standard = await db
        .insertInto('feeStandards')
        .values({ estateId, feeItemId: prop.id, name: '住宅物业费', price: '2.80', validFrom: '2024-01-01' })
        .returning('id')
        .executeTakeFirstOrThrow()
      await db
        .insertInto('feeAssignments')
        .values({
          estateId,
          feeStandardId: standard.id,
          target: 'use',
          unitUse: 'residence',
          validFrom: '2024-01-01',
        })
        .execute()
      finance = await hub.userWithGrants('bapi-finance', [{ role: 'finance', nodeId: estateId }])
      approver = await hub.userWithGrants('bapi-approver', [{ role: 'finance', nodeId: estateId }])
      cashier = await hub.userWithGrants('bapi-cashier', [{ role: 'service', nodeId: estateId }])
      viewer = await hub.userWithGrants('bapi-viewer', [{ role: 'viewer', nodeId: estateId }])
    })
    afterAll(() => hub?.close())

    it('previews a month with its held list, and approves it', async () => {
      const refused = await hub.call(viewer, {
        method: 'POST',
        url: '/api/v1/bill-runs',
        payload: { estateId: site.estateId, period: '2026-10', scope: 'estate' },
      })
      expect(refused.status).toBe(403)
      const preview = await hub.call(finance, {
        method: 'POST',
        url: '/api/v1/bill-runs',
        payload: { estateId: site.estateId, period: '2026-10', scope: 'estate' },
      })
      expect(preview.status, JSON.stringify(preview.body)).toBe(201)
      // 100.00 m² × 2.80 = 280.00
      expect(preview.body).toMatchObject({ lines: 2, total: '280.00', toIssue: '280.00', held: 1 })
      runId = preview.body.id
      const detail = await hub.call(finance, { method: 'GET', url: `/api/v1/bill-runs/${runId}` })
      expect(detail.body.lines).toEqual([
        expect.objectContaining({
          unitCode: '3-1201',
          feeItemName: '物业费',
          amount: '280.00',
          difference: '280.00',
        }),
      ])
      expect(detail.body.held).toEqual([
        expect.objectContaining({
          unitCode: '3-1202',
          heldReason: expect.stringMatching(/no owner or tenant/),
        }),
      ])
      expect(detail.body.lines[0].explanation.formula).toMatch(/100/)
      // Four eyes: who previewed the run may not approve it.
      const own = await hub.call(finance, { method: 'POST', url: `/api/v1/bill-runs/${runId}/approve` })
      expect(own.status).toBe(403)
      expect(own.body.rule).toBe('billRun.selfApproval')
      const approved = await hub.call(approver, { method: 'POST', url: `/api/v1/bill-runs/${runId}/approve` })
      expect(approved.body).toEqual({ issued: 1, corrections: 0, amount: '280.00' })
      expect(
        (await hub.call(approver, { method: 'POST', url: `/api/v1/bill-runs/${runId}/approve` })).status,
      ).toBe(409)
      // The list: newest first, who prepared and who approved, filtered by status.
      const listed = await hub.call(viewer, {
        method: 'GET',
        url: `/api/v1/bill-runs?estateId=${site.estateId}&status=approved`,
      })
      expect(listed.status, JSON.stringify(listed.body)).toBe(200)
      expect(listed.body).toMatchObject({ total: 1, limit: 50, offset: 0 })
      expect(listed.body.items[0]).toMatchObject({
        id: runId,
        period: '2026-10',
        scope: 'estate',
        status: 'approved',
        lines: 2,
        held: 1,
        total: '280.00',
        toIssue: '280.00',
        scopeName: null,
      })
      expect(listed.body.items[0].approvedAt).toEqual(expect.any(String))
      const waiting = await hub.call(viewer, {
        method: 'GET',
        url: `/api/v1/bill-runs?estateId=${site.estateId}&status=preview`,
      })
      expect(waiting.body).toMatchObject({ items: [], total: 0 })
    })

    it('finds the customer at the desk, takes the payment once however often it is sent, and prints the receipt', async () => {
      const found = await hub.call(cashier, {
        method: 'GET',
        url: `/api/v1/desk/search?estateId=${site.estateId}&q=1201`,
      })
      expect(found.body.items).toEqual([expect.objectContaining({ customerId, units: ['3-1201'] })])
      const account = await hub.call(cashier, {
        method: 'GET',
        url: `/api/v1/customers/${customerId}/account`,
      })
      expect(account.body.open).toEqual([
        expect.objectContaining({
          open: '280.00',
          feeItemName: '物业费',
          unitCode: '3-1201',
          // Due 10 days after October, or 10 days after its issue when approved after that.
          dueDate: dueDateOf('2026-11-11', localDate(Date.now(), 'Asia/Shanghai'), 10),
        }),
      ])
      const payload = {
        estateId: site.estateId,
        customerId,
        method: 'wechat',
        reference: '4200002026112700001',
        amount: '300.00',
      }
      const noKey = await hub.call(cashier, { method: 'POST', url: '/api/v1/payments', payload })
      expect(noKey.status).toBe(400)
      const headers = { 'idempotency-key': 'desk-7f3a-0001' }
      const first = await hub.call(cashier, { method: 'POST', url: '/api/v1/payments', payload, headers })
      expect(first.status, JSON.stringify(first.body)).toBe(201)
      expect(first.body).toMatchObject({ amount: '300.00', toPrepayment: '20.00', replayed: false })
      const again = await hub.call(cashier, { method: 'POST', url: '/api/v1/payments', payload, headers })
      expect(again.status).toBe(200)
      expect(again.body).toEqual({ ...first.body, replayed: true })
      const different = await hub.call(cashier, {
        method: 'POST',
        url: '/api/v1/payments',
        payload: { ...payload, amount: '1.00' },
        headers,
      })
      expect(different.status).toBe(409)
      paymentId = first.body.paymentId

      const receipt = await hub.app.inject({
        method: 'GET',
        url: `/api/v1/payments/${paymentId}/receipt?size=roll80`,
        headers: { authorization: `Bearer ${cashier}` },
      })
      expect(receipt.statusCode).toBe(200)
      expect(receipt.headers['content-type']).toMatch(/text\/html/)
      expect(receipt.body).toContain('叁佰元整')
      expect(receipt.body).toContain(first.body.receiptNo)
      expect(receipt.body).toContain('陈&lt;小&gt;明')
      expect(receipt.body).toContain('280.00')
      expect(receipt.body).toMatch(/size:\s*80mm/)
    })

    it('voids the payment only when someone else approves it, and the receipt then says so', async () => {
      const request = await hub.call(cashier, {
        method: 'POST',
        url: '/api/v1/approvals',
        payload: { estateId: site.estateId, kind: 'void', paymentId, reason: '收款方式录错' },
      })
      expect(request.status, JSON.stringify(request.body)).toBe(201)
      expect(
        (await hub.call(cashier, { method: 'POST', url: `/api/v1/approvals/${request.body.id}/approve` }))
          .status,
      ).toBe(403)
      const pending = await hub.call(finance, {
        method: 'GET',
        url: `/api/v1/approvals?estateId=${site.estateId}&status=requested`,
      })
      expect(pending.body.items).toEqual([expect.objectContaining({ kind: 'void', amount: '300.00' })])
      expect(
        (await hub.call(finance, { method: 'POST', url: `/api/v1/approvals/${request.body.id}/approve` }))
          .status,
      ).toBe(204)
      const account = await hub.call(cashier, {
        method: 'GET',
        url: `/api/v1/customers/${customerId}/account`,
      })
      expect(account.body).toMatchObject({ prepayment: '0.00', receivable: '280.00' })
      const receipt = await hub.app.inject({
        method: 'GET',
        url: `/api/v1/payments/${paymentId}/receipt`,
        headers: { authorization: `Bearer ${cashier}` },
      })
      expect(receipt.body).toContain('作废')
    })

    it('issues a one-off charge at its standard amount, or the amount typed', async () => {
      const db = hub.store.db
      const repair = await db
        .insertInto('feeItems')
        .values({
          estateId: site.estateId,
          code: 'REPAIR',
          name: '有偿维修',
          kind: 'one_off',
          cycle: 'one_off',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await db
        .insertInto('feeStandards')
        .values({
          estateId: site.estateId,
          feeItemId: repair.id,
          name: '换水龙头',
          amount: '80.00',
          validFrom: '2024-01-01',
        })
        .execute()
      const charge = (payload: Record<string, unknown>) =>
        hub.call(finance, {
          method: 'POST',
          url: '/api/v1/receivables/one-off',
          payload: {
            estateId: site.estateId,
            customerId,
            feeItemId: repair.id,
            dueDate: '2026-12-01',
            note: '厨房水龙头更换',
            ...payload,
          },
        })
      const standard = await charge({})
      expect(standard.status, JSON.stringify(standard.body)).toBe(201)
      expect(standard.body.amount).toBe('80.00')
      expect((await charge({ amount: '125.50' })).body.amount).toBe('125.50')
      const notOneOff = await hub.call(finance, {
        method: 'POST',
        url: '/api/v1/receivables/one-off',
        payload: {
          estateId: site.estateId,
          customerId,
          feeItemId: (
            await db
              .selectFrom('feeItems')
              .select('id')
              .where('code', '=', 'PROP')
              .where('estateId', '=', site.estateId)
              .executeTakeFirstOrThrow()
          ).id,
          dueDate: '2026-12-01',
          note: 'x',
        },
      })
      expect(notOneOff.body.details[0].field).toBe('body.feeItemId')
      const account = await hub.call(cashier, {
        method: 'GET',
        url: `/api/v1/customers/${customerId}/account`,
      })
      expect(
        account.body.open
          .filter((o: { feeItemName: string }) => o.feeItemName === '有偿维修')
          .map((o: { open: string }) => o.open),
      ).toEqual(['80.00', '125.50'])
    })

    it('accrues late fees on request', async () => {
      await hub.store.db
        .updateTable('feeItems')
        .set({ lateFeeDailyRate: '0.0003' })
        .where('estateId', '=', site.estateId)
        .where('code', '=', 'PROP')
        .execute()
      const today = localDate(Date.now(), 'Asia/Shanghai')
      const future = await hub.call(finance, {
        method: 'POST',
        url: `/api/v1/estates/${site.estateId}/late-fees/accrue`,
        payload: { asOf: addDays(today, 1) },
      })
      expect(future.status).toBe(400)
      expect(future.body.details).toEqual([
        expect.objectContaining({ field: 'body.asOf', rule: 'date.inFuture' }),
      ])
      const accrued = await hub.call(finance, {
        method: 'POST',
        url: `/api/v1/estates/${site.estateId}/late-fees/accrue`,
        payload: { asOf: today },
      })
      // The run was approved today, after October's due date (2026-11-11): its line is due 10
      // days after issue, so nothing is late yet (test/money-races.int.test.ts has the amounts).
      expect(accrued.body).toEqual({
        asOf: today,
        lines: 0,
        amount: '0.00',
        alreadyAccrued: { lines: 0, amount: '0.00' },
      })
      const again = await hub.call(finance, {
        method: 'POST',
        url: `/api/v1/estates/${site.estateId}/late-fees/accrue`,
        payload: { asOf: today },
      })
      expect(again.body).toEqual({
        asOf: today,
        lines: 0,
        amount: '0.00',
        alreadyAccrued: { lines: 0, amount: '0.00' },
      })
    })
  })
}
