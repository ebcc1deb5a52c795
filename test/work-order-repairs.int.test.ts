import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SLA } from '../hub/alarms/sla-policy.ts'
import { MAX_ATTACHMENT_BYTES } from '../hub/alarms/work-order-attachments.ts'
import { moveWorkOrder } from '../hub/alarms/work-order-flow.ts'
import { addDays } from '../hub/billing/bill-run.ts'
import { checkLedger } from '../hub/billing/ledger-check.ts'
import { localDate } from '../hub/metering/cutoff.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Work orders as repairs (issue 6 item 4) over the API: SLA policies as data (a category's
 * policy beats the priority's, which beats DEFAULT_SLA), completion with parts and labour, a
 * paid repair issuing one receivable to the unit's payer in the completing transaction (on
 * the desk's open lines, the ledger still consistent, never twice), and photo attachments
 * stored byte for byte with their type checked by content.
 */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0])
const png = (size: number) => Buffer.concat([PNG, randomBytes(size - PNG.length)])

for (const backend of storeBackends()) {
  describe(`work orders as repairs (${backend.name})`, () => {
    let hub: TestHub
    let site: Site
    let admin: string
    let adminId: string
    let engineer: string
    let finance: string
    let viewer: string
    const unit: Record<'let' | 'owned' | 'vacant', string> = {} as never
    const customer: Record<'owner' | 'tenant' | 'other', string> = {} as never
    let repairItem: string
    let propertyItem: string

    const call = (token: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
      hub.call(token, { method, url, ...(payload ? { payload: payload as Record<string, unknown> } : {}) })

    const register = async (fields: Record<string, unknown> = {}) => {
      const created = await call(admin, 'POST', '/api/v1/work-orders', {
        estateId: site.estateId,
        source: 'resident',
        category: 'plumbing',
        priority: 'normal',
        title: '卫生间漏水',
        ...fields,
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      return created.body as { id: string; respondBy: string; completeBy: string }
    }
    const move = (id: string, action: string, body: Record<string, unknown> = {}) =>
      call(admin, 'POST', `/api/v1/work-orders/${id}/${action}`, body)
    /** Registered and moved to in progress. */
    const inProgress = async (fields: Record<string, unknown> = {}) => {
      const order = await register(fields)
      for (const [action, body] of [
        ['dispatch', { department: '工程部' }],
        ['assign', { assigneeId: adminId }],
        ['start', {}],
      ] as const) {
        const moved = await move(order.id, action, body)
        expect(moved.status, JSON.stringify(moved.body)).toBe(200)
      }
      return order.id
    }
    const upload = (token: string, id: string, name: string, type: string, body: Buffer | string) =>
      hub.app.inject({
        method: 'POST',
        url: `/api/v1/work-orders/${id}/attachments?name=${encodeURIComponent(name)}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        payload: body,
      })

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const db = hub.store.db
      site = await seedSite(db, { code: 'WOR', points: [] })
      const estateId = site.estateId
      admin = await hub.userWithGrants('wor-admin', [{ role: 'admin', nodeId: estateId }])
      adminId = (
        await db
          .selectFrom('users')
          .select('id')
          .where('username', '=', 'wor-admin')
          .executeTakeFirstOrThrow()
      ).id
      engineer = await hub.userWithGrants('wor-eng', [{ role: 'engineering', nodeId: estateId }])
      finance = await hub.userWithGrants('wor-fin', [{ role: 'finance', nodeId: estateId }])
      viewer = await hub.userWithGrants('wor-view', [{ role: 'viewer', nodeId: estateId }])
      for (const [key, code, status] of [
        ['let', '2-301', 'occupied'],
        ['owned', '2-302', 'occupied'],
        ['vacant', '2-303', 'vacant'],
      ] as const) {
        unit[key] = (
          await db
            .insertInto('units')
            .values({
              estateId,
              buildingId: site.buildingId,
              code,
              floor: 3,
              areaM2: '90.00',
              use: 'residence',
              status,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      for (const [key, code, name] of [
        ['owner', 'C-OWN', '业主王'],
        ['tenant', 'C-TEN', '租户李'],
        ['other', 'C-OTH', '其他赵'],
      ] as const) {
        customer[key] = (
          await db
            .insertInto('customers')
            .values({ estateId, code, kind: 'person', name })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      // 2-301: owned by 王, let to 李 (the tenant pays); 2-302: 王's own home; 2-303: nobody.
      await db
        .insertInto('occupancies')
        .values([
          { estateId, unitId: unit.let, customerId: customer.owner, role: 'owner', startDate: '2020-01-01' },
          {
            estateId,
            unitId: unit.let,
            customerId: customer.tenant,
            role: 'tenant',
            startDate: '2024-01-01',
          },
          {
            estateId,
            unitId: unit.owned,
            customerId: customer.owner,
            role: 'owner',
            startDate: '2020-01-01',
          },
        ])
        .execute()
      repairItem = (
        await db
          .insertInto('feeItems')
          .values({
            estateId,
            code: 'REPAIR',
            name: '有偿维修',
            kind: 'one_off',
            cycle: 'one_off',
            dueDays: 7,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      propertyItem = (
        await db
          .insertInto('feeItems')
          .values({ estateId, code: 'PROP', name: '物业费', kind: 'area' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
    })
    afterAll(() => hub?.close())

    describe('SLA policies', () => {
      const policies = '/api/v1/sla-policies'

      it('are data: validated, one per category and priority (409 naming the field), kept by workOrders.manage', async () => {
        const wide = await call(engineer, 'POST', policies, {
          estateId: site.estateId,
          priority: 'high',
          respondMinutes: 20,
          completeMinutes: 300,
        })
        expect(wide.status, JSON.stringify(wide.body)).toBe(201)
        expect(wide.body).toMatchObject({ category: null, priority: 'high', respondMinutes: 20 })
        const plumbing = await call(engineer, 'POST', policies, {
          estateId: site.estateId,
          category: 'plumbing',
          priority: 'high',
          respondMinutes: 5,
          completeMinutes: 60,
        })
        expect(plumbing.status, JSON.stringify(plumbing.body)).toBe(201)

        const again = await call(admin, 'POST', policies, {
          estateId: site.estateId,
          category: 'plumbing',
          priority: 'high',
          respondMinutes: 1,
          completeMinutes: 2,
        })
        expect(again.status).toBe(409)
        expect(again.body.details[0].field).toBe('body.category')
        const wideAgain = await call(admin, 'POST', policies, {
          estateId: site.estateId,
          category: null,
          priority: 'high',
          respondMinutes: 1,
          completeMinutes: 2,
        })
        expect(wideAgain.status).toBe(409)
        expect(wideAgain.body.details[0].field).toBe('body.priority')

        const backwards = await call(admin, 'POST', policies, {
          estateId: site.estateId,
          category: 'lift',
          priority: 'urgent',
          respondMinutes: 30,
          completeMinutes: 10,
        })
        expect(backwards.status).toBe(400)
        expect(backwards.body.details[0].field).toBe('body.completeMinutes')
        const changedBackwards = await call(admin, 'PATCH', `${policies}/${wide.body.id}`, {
          completeMinutes: 10,
        })
        expect(changedBackwards.status).toBe(400)
        expect(changedBackwards.body.details[0].field).toBe('body.completeMinutes')
        const changed = await call(admin, 'PATCH', `${policies}/${wide.body.id}`, {
          respondMinutes: 10,
          completeMinutes: 120,
        })
        expect(changed.status, JSON.stringify(changed.body)).toBe(200)
        expect(changed.body).toMatchObject({ respondMinutes: 10, completeMinutes: 120 })

        expect(
          (
            await call(finance, 'POST', policies, {
              estateId: site.estateId,
              priority: 'low',
              respondMinutes: 1,
              completeMinutes: 2,
            })
          ).status,
        ).toBe(403)
        const listed = await call(viewer, 'GET', `${policies}?estateId=${site.estateId}&priority=high`)
        expect(listed.status).toBe(200)
        expect(listed.body.items.map((p: { category: string | null }) => p.category).sort()).toEqual([
          null,
          'plumbing',
        ])
      })

      it("gives an order its category's policy, else its priority's, else DEFAULT_SLA", async () => {
        const due = async (category: string, priority: string) => {
          const before = Date.now()
          const order = await register({ category, priority })
          const after = Date.now()
          return {
            respond: [before, after].map((t) => (Date.parse(order.respondBy) - t) / 60_000),
            complete: [before, after].map((t) => (Date.parse(order.completeBy) - t) / 60_000),
          }
        }
        // Registered between `before` and `after`: the minutes lie between the two readings.
        const expectMinutes = (
          got: { respond: number[]; complete: number[] },
          respond: number,
          complete: number,
        ) => {
          expect(got.respond[0]).toBeLessThanOrEqual(respond + 0.02)
          expect(got.respond[1]).toBeGreaterThanOrEqual(respond - 0.02)
          expect(got.complete[0]).toBeLessThanOrEqual(complete + 0.02)
          expect(got.complete[1]).toBeGreaterThanOrEqual(complete - 0.02)
        }
        expectMinutes(await due('plumbing', 'high'), 5, 60)
        expectMinutes(await due('electrical', 'high'), 10, 120)
        expectMinutes(await due('plumbing', 'low'), DEFAULT_SLA.low.respond, DEFAULT_SLA.low.complete)
      })
    })

    describe('completion and paid repairs', () => {
      let paidOrder: string
      let receivableId: string

      it('keeps the parts and labour on the order and returns them', async () => {
        const id = await inProgress({ unitId: unit.owned })
        const parts = [
          { name: '角阀', quantity: 2 },
          { name: '生料带', quantity: 1 },
        ]
        const done = await move(id, 'complete', { note: '更换角阀', parts, labourMinutes: 40 })
        expect(done.status, JSON.stringify(done.body)).toBe(200)
        expect(done.body).toMatchObject({
          status: 'done',
          parts,
          labourMinutes: 40,
          chargeAmount: null,
          receivableId: null,
        })
        const read = await call(viewer, 'GET', `/api/v1/work-orders/${id}`)
        expect(read.status).toBe(200)
        expect(read.body).toMatchObject({ parts, labourMinutes: 40, completionNote: '更换角阀' })
        expect(read.body.timeline.at(-1)).toMatchObject({
          action: 'complete',
          data: { parts, labourMinutes: 40 },
        })
      })

      it("issues one receivable to the tenant in place for a paid repair, due on the item's terms, on the desk", async () => {
        paidOrder = await inProgress({ unitId: unit.let, title: '热水器维修' })
        const done = await move(paidOrder, 'complete', {
          note: '更换温控器',
          parts: [{ name: '温控器', quantity: 1 }],
          labourMinutes: 90,
          chargeAmount: '120.5',
        })
        expect(done.status, JSON.stringify(done.body)).toBe(200)
        expect(done.body).toMatchObject({ status: 'done', chargeAmount: '120.50' })
        receivableId = done.body.receivableId
        const receivable = await hub.store.db
          .selectFrom('receivables')
          .selectAll()
          .where('id', '=', receivableId)
          .executeTakeFirstOrThrow()
        // Shanghai's date at completion, plus the REPAIR item's 7 due days.
        const today = localDate(Date.now(), 'Asia/Shanghai')
        expect(receivable).toMatchObject({
          estateId: site.estateId,
          customerId: customer.tenant,
          unitId: unit.let,
          feeItemId: repairItem,
          kind: 'charge',
          amount: '120.50',
          period: `repair:${paidOrder}`,
          dueDate: addDays(today, 7),
        })
        const explanation = receivable.explanation as { formula: string; inputs: Record<string, unknown> }
        expect(explanation.formula).toContain('热水器维修')
        expect(explanation.formula).toContain('温控器 × 1')
        expect(explanation.formula).toContain('90 min')
        expect(explanation.inputs).toMatchObject({ workOrderId: paidOrder, labourMinutes: 90 })

        const account = await call(finance, 'GET', `/api/v1/customers/${customer.tenant}/account`)
        expect(account.status).toBe(200)
        expect(account.body.open).toEqual([
          expect.objectContaining({
            id: receivableId,
            open: '120.50',
            feeItemCode: 'REPAIR',
            unitCode: '2-301',
          }),
        ])
        expect((await checkLedger(hub.store.db, [site.estateId]))[0]!.problems).toEqual([])

        const timeline = (await call(viewer, 'GET', `/api/v1/work-orders/${paidOrder}`)).body.timeline
        expect(timeline.slice(-2)).toMatchObject([
          { action: 'complete', toStatus: 'done' },
          { action: 'charged', data: { receivableId, amount: '120.50', customerId: customer.tenant } },
        ])
      })

      it('cannot charge the same repair twice', async () => {
        const again = await move(paidOrder, 'complete', { note: '再次', chargeAmount: '10.00' })
        expect(again.status).toBe(409)
        // Even past the flow (the order put back in progress by hand): the one-charge index refuses.
        await hub.store.db
          .updateTable('workOrders')
          .set({ status: 'in_progress' })
          .where('id', '=', paidOrder)
          .execute()
        const forced = await move(paidOrder, 'complete', { note: '再次', chargeAmount: '10.00' })
        expect(forced.status).toBe(409)
        expect(forced.body.message).toMatch(/already charged/)
        // To someone else too (the one-charge index alone would not see that one).
        const otherPayer = await move(paidOrder, 'complete', {
          note: '再次',
          chargeAmount: '10.00',
          chargeCustomerId: customer.other,
        })
        expect(otherPayer.status).toBe(409)
        const order = await hub.store.db
          .selectFrom('workOrders')
          .select(['status', 'receivableId'])
          .where('id', '=', paidOrder)
          .executeTakeFirstOrThrow()
        expect(order).toEqual({ status: 'in_progress', receivableId })
        const charges = await hub.store.db
          .selectFrom('receivables')
          .select('id')
          .where('period', '=', `repair:${paidOrder}`)
          .execute()
        expect(charges).toHaveLength(1)
        await hub.store.db
          .updateTable('workOrders')
          .set({ status: 'done' })
          .where('id', '=', paidOrder)
          .execute()
      })

      it('charges the customer named, to the one_off item named, else the owner of an unlet unit', async () => {
        const named = await inProgress({ unitId: unit.let })
        const special = (
          await hub.store.db
            .insertInto('feeItems')
            .values({
              estateId: site.estateId,
              code: 'DECO',
              name: '特约服务',
              kind: 'one_off',
              cycle: 'one_off',
              dueDays: 0,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
        const done = await move(named, 'complete', {
          note: '业主委托',
          chargeAmount: '35.00',
          chargeCustomerId: customer.other,
          feeItemId: special,
        })
        expect(done.status, JSON.stringify(done.body)).toBe(200)
        const receivable = await hub.store.db
          .selectFrom('receivables')
          .select(['customerId', 'feeItemId', 'dueDate', 'amount'])
          .where('id', '=', done.body.receivableId)
          .executeTakeFirstOrThrow()
        expect(receivable).toEqual({
          customerId: customer.other,
          feeItemId: special,
          dueDate: localDate(Date.now(), 'Asia/Shanghai'),
          amount: '35.00',
        })

        const owned = await inProgress({ unitId: unit.owned })
        const ownerPays = await move(owned, 'complete', { note: '疏通', chargeAmount: '50' })
        expect(ownerPays.status, JSON.stringify(ownerPays.body)).toBe(200)
        const payer = await hub.store.db
          .selectFrom('receivables')
          .select('customerId')
          .where('id', '=', ownerPays.body.receivableId)
          .executeTakeFirstOrThrow()
        expect(payer.customerId).toBe(customer.owner)
        expect((await checkLedger(hub.store.db, [site.estateId]))[0]!.problems).toEqual([])
      })

      it('refuses a charge it cannot place, naming the field, and then completes nothing', async () => {
        const noUnit = await inProgress()
        const refused = async (body: Record<string, unknown>, field: string, status = 400) => {
          const response = await move(noUnit, 'complete', { note: '维修', ...body })
          expect(response.status, JSON.stringify(response.body)).toBe(status)
          expect(response.body.details[0].field).toBe(field)
          return response.body.message as string
        }
        expect(await refused({ chargeAmount: '80.00' }, 'body.chargeCustomerId')).toMatch(/no unit/)
        await refused({ chargeAmount: '0.00', chargeCustomerId: customer.other }, 'body.chargeAmount')
        await refused({ chargeAmount: '1.234', chargeCustomerId: customer.other }, 'body.chargeAmount')
        await refused({ chargeCustomerId: customer.other }, 'body.chargeAmount')
        await refused(
          { chargeAmount: '80.00', chargeCustomerId: customer.other, feeItemId: propertyItem },
          'body.feeItemId',
        )
        // A customer or an item of another estate is not found, like a missing one.
        const elsewhere = await seedSite(hub.store.db, { code: 'WOX', points: [] })
        const stranger = (
          await hub.store.db
            .insertInto('customers')
            .values({ estateId: elsewhere.estateId, code: 'X1', kind: 'person', name: '外人' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
        await refused({ chargeAmount: '80.00', chargeCustomerId: stranger }, 'body.chargeCustomerId', 404)
        const vacant = await inProgress({ unitId: unit.vacant })
        const nobody = await move(vacant, 'complete', { note: '维修', chargeAmount: '80.00' })
        expect(nobody.status).toBe(400)
        expect(nobody.body.message).toMatch(/2-303 has no tenant or owner/)
        // Only completing charges.
        const registered = await register()
        const early = await move(registered.id, 'dispatch', { department: '工程部', chargeAmount: '1.00' })
        expect(early.status).toBe(400)
        expect(early.body.details[0].field).toBe('body.chargeAmount')

        // Nothing of the refused completions happened: still in progress, no receivable.
        const order = await hub.store.db
          .selectFrom('workOrders')
          .select(['status', 'receivableId', 'chargeAmount'])
          .where('id', '=', noUnit)
          .executeTakeFirstOrThrow()
        expect(order).toEqual({ status: 'in_progress', receivableId: null, chargeAmount: null })
        // With a payer named, the same order completes.
        expect(
          (
            await move(noUnit, 'complete', {
              note: '维修',
              chargeAmount: '80.00',
              chargeCustomerId: customer.other,
            })
          ).status,
        ).toBe(200)
      })

      it('needs a REPAIR item (kind one_off) or a feeItemId', async () => {
        const { estateId } = await seedSite(hub.store.db, { code: 'WOY', points: [] })
        const order = await hub.store.db
          .insertInto('workOrders')
          .values({
            estateId,
            source: 'desk',
            alarmId: null,
            category: 'plumbing',
            priority: 'normal',
            department: null,
            title: '无收费项目',
            description: null,
            buildingId: null,
            unitId: null,
            deviceId: null,
            assigneeId: null,
            respondBy: new Date(),
            completeBy: new Date(),
            respondedAt: null,
            completedAt: null,
            closedAt: null,
            createdBy: null,
            status: 'in_progress',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const payer = (
          await hub.store.db
            .insertInto('customers')
            .values({ estateId, code: 'Y1', kind: 'person', name: '客户' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
        const attempt = moveWorkOrder(
          hub.store.db,
          order.id,
          'complete',
          { note: '修好', chargeAmount: '20.00', chargeCustomerId: payer },
          adminId,
        )
        await expect(attempt).rejects.toMatchObject({
          statusCode: 400,
          details: [
            { field: 'body.feeItemId', message: expect.stringMatching(/no fee item with code REPAIR/) },
          ],
        })
        await hub.store.db
          .insertInto('feeItems')
          .values({ estateId, code: 'REPAIR', name: '维修', kind: 'fixed' })
          .execute()
        await expect(
          moveWorkOrder(
            hub.store.db,
            order.id,
            'complete',
            { note: '修好', chargeAmount: '20.00', chargeCustomerId: payer },
            adminId,
          ),
        ).rejects.toMatchObject({
          details: [{ field: 'body.feeItemId', message: expect.stringMatching(/not one_off/) }],
        })
      })

      it('lets the desk settle the repair, and the ledger stays consistent', async () => {
        const paid = await hub.call(admin, {
          method: 'POST',
          url: '/api/v1/payments',
          headers: { 'idempotency-key': `repair-${paidOrder}` },
          payload: {
            estateId: site.estateId,
            customerId: customer.tenant,
            method: 'cash',
            amount: '120.50',
            allocations: [{ receivableId, amount: '120.50' }],
          },
        })
        expect(paid.status, JSON.stringify(paid.body)).toBe(201)
        const account = await call(finance, 'GET', `/api/v1/customers/${customer.tenant}/account`)
        expect(account.body.open).toEqual([])
        expect((await checkLedger(hub.store.db, [site.estateId]))[0]!.problems).toEqual([])
      })
    })

    describe('attachments', () => {
      let orderId: string

      beforeAll(async () => {
        orderId = await inProgress({ unitId: unit.owned, title: '墙面渗水' })
      })

      it('stores a photo byte for byte and serves it back as a download', async () => {
        const photo = png(300_000)
        const name = '渗水 照片(1).png'
        const uploaded = await upload(engineer, orderId, name, 'image/png', photo)
        expect(uploaded.statusCode, uploaded.body).toBe(201)
        const meta = uploaded.json()
        expect(meta).toMatchObject({
          workOrderId: orderId,
          fileName: name,
          contentType: 'image/png',
          sizeBytes: photo.length,
          sha256: createHash('sha256').update(photo).digest('hex'),
        })
        const jpeg = Buffer.concat([JPEG, randomBytes(1000)])
        expect((await upload(admin, orderId, 'after.jpg', 'image/jpeg', jpeg)).statusCode).toBe(201)
        const pdf = Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1')
        expect((await upload(admin, orderId, 'report.pdf', 'application/pdf', pdf)).statusCode).toBe(201)
        const webp = Buffer.concat([
          Buffer.from('RIFF'),
          Buffer.alloc(4),
          Buffer.from('WEBPVP8 '),
          randomBytes(64),
        ])
        expect((await upload(admin, orderId, 'detail.webp', 'image/webp', webp)).statusCode).toBe(201)

        const list = await call(viewer, 'GET', `/api/v1/work-orders/${orderId}/attachments`)
        expect(list.status).toBe(200)
        expect(list.body.items.map((a: { fileName: string }) => a.fileName)).toEqual([
          name,
          'after.jpg',
          'report.pdf',
          'detail.webp',
        ])
        expect(list.body.items[0]).not.toHaveProperty('content')

        const download = await hub.app.inject({
          method: 'GET',
          url: `/api/v1/work-orders/${orderId}/attachments/${meta.id}`,
          headers: { authorization: `Bearer ${viewer}` },
        })
        expect(download.statusCode).toBe(200)
        expect(download.rawPayload.equals(photo)).toBe(true)
        expect(download.headers['content-type']).toBe('image/png')
        expect(download.headers['content-disposition']).toBe(
          `attachment; filename*=UTF-8''%E6%B8%97%E6%B0%B4%20%E7%85%A7%E7%89%87%281%29.png`,
        )
        expect(download.headers['x-content-type-options']).toBe('nosniff')
        const pdfBack = await hub.app.inject({
          method: 'GET',
          url: `/api/v1/work-orders/${orderId}/attachments/${list.body.items[2].id}`,
          headers: { authorization: `Bearer ${viewer}` },
        })
        expect(pdfBack.rawPayload.equals(pdf)).toBe(true)
        expect(pdfBack.headers['content-type']).toBe('application/pdf')

        const order = await call(viewer, 'GET', `/api/v1/work-orders/${orderId}`)
        expect(order.body.attachments).toHaveLength(4)
        expect(order.body.attachments[0]).toMatchObject({ id: meta.id, sizeBytes: photo.length })
        expect(order.body.attachments[0]).not.toHaveProperty('content')
        const uploads = order.body.timeline.filter((e: { action: string }) => e.action === 'attachment')
        expect(uploads.map((e: { note: string }) => e.note)).toEqual([
          name,
          'after.jpg',
          'report.pdf',
          'detail.webp',
        ])
        expect(uploads[0]).toMatchObject({
          fromStatus: 'in_progress',
          toStatus: 'in_progress',
          data: { attachmentId: meta.id },
        })
      })

      it('refuses a body that is not what it claims, of another type, empty or too big', async () => {
        const refused = async (
          response: Awaited<ReturnType<typeof upload>>,
          status: number,
          field: string,
        ) => {
          expect(response.statusCode, response.body).toBe(status)
          expect(response.json().details[0].field).toBe(field)
          return response.json()
        }
        // JPEG bytes declared as PNG, and text declared as PDF: not what they claim.
        expect(
          (
            await refused(
              await upload(admin, orderId, 'x.png', 'image/png', Buffer.concat([JPEG, randomBytes(100)])),
              415,
              'headers.content-type',
            )
          ).error,
        ).toBe('EH_ERR_UNSUPPORTED_MEDIA')
        await refused(
          await upload(admin, orderId, 'x.pdf', 'application/pdf', Buffer.from('hello')),
          415,
          'headers.content-type',
        )
        // Types the route does not take, JSON included (parsed by the app's parser, still not a file).
        await refused(
          await upload(admin, orderId, 'x.gif', 'image/gif', Buffer.from('GIF89a')),
          415,
          'headers.content-type',
        )
        await refused(
          await upload(admin, orderId, 'x.json', 'application/json', '{"a":1}'),
          415,
          'headers.content-type',
        )
        await refused(
          await upload(admin, orderId, 'x.txt', 'text/plain', 'hello'),
          415,
          'headers.content-type',
        )
        await refused(await upload(admin, orderId, 'x.png', 'image/png', Buffer.alloc(0)), 400, 'body')
        await refused(
          await upload(admin, orderId, 'x.png', 'image/png', png(MAX_ATTACHMENT_BYTES + 1)),
          413,
          'body',
        )
        await refused(await upload(admin, orderId, '../etc/x.png', 'image/png', png(100)), 400, 'query.name')
        // The limit is the upload route's own: a JSON route keeps the app's.
        const count = await call(viewer, 'GET', `/api/v1/work-orders/${orderId}/attachments`)
        expect(count.body.items).toHaveLength(4)
      })

      it('lets only workOrders.manage upload, hides other estates, and takes nothing on a closed or cancelled order', async () => {
        expect((await upload(viewer, orderId, 'v.png', 'image/png', png(100))).statusCode).toBe(403)
        expect((await upload(finance, orderId, 'v.png', 'image/png', png(100))).statusCode).toBe(403)
        const elsewhere = await seedSite(hub.store.db, { code: 'WOZ', points: [] })
        const outsider = await hub.userWithGrants('wor-out', [{ role: 'admin', nodeId: elsewhere.estateId }])
        expect((await upload(outsider, orderId, 'o.png', 'image/png', png(100))).statusCode).toBe(404)
        expect((await call(outsider, 'GET', `/api/v1/work-orders/${orderId}/attachments`)).status).toBe(404)
        const first = (await call(viewer, 'GET', `/api/v1/work-orders/${orderId}/attachments`)).body.items[0]
          .id
        expect(
          (await call(outsider, 'GET', `/api/v1/work-orders/${orderId}/attachments/${first}`)).status,
        ).toBe(404)
        // An attachment read through another order of the same estate is not found either.
        const other = await register()
        expect(
          (await call(viewer, 'GET', `/api/v1/work-orders/${other.id}/attachments/${first}`)).status,
        ).toBe(404)

        const cancelled = await move(other.id, 'cancel', { reason: '重复报修' })
        expect(cancelled.status).toBe(200)
        const late = await upload(admin, other.id, 'late.png', 'image/png', png(100))
        expect(late.statusCode).toBe(409)
        expect(late.json().details[0].field).toBe('params.id')

        for (const [action, body] of [
          ['complete', { note: '处理完毕' }],
          ['visit', { satisfaction: 4, comment: '可以' }],
        ] as const)
          expect((await move(orderId, action, body)).status).toBe(200)
        // Photos may still come in at the return visit, not once it is closed.
        expect((await upload(admin, orderId, 'visit.png', 'image/png', png(100))).statusCode).toBe(201)
        expect((await move(orderId, 'close')).status).toBe(200)
        expect((await upload(admin, orderId, 'closed.png', 'image/png', png(100))).statusCode).toBe(409)
      })
    })
  })
}
