import { randomUUID } from 'node:crypto'
import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decideApproval, requestApproval } from '../hub/billing/approval-actions.ts'
import { type PaymentRequest, takePayment } from '../hub/billing/payment-desk.ts'
import { issueReceivable } from '../hub/billing/receivable-issue.ts'
import type { ReceivableKind } from '../hub/store/database-schema.ts'
import { jsonb } from '../hub/store/jsonb.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Finance reports with hand-worked numbers, on two estates A and B of one company:
 * - a fixed asOf (2026-10-31 23:00 in Shanghai) over rows back-dated before and after it: the
 *   ageing buckets on their boundaries (0, 30, 31, 90, 91, 180, 181, 365, 366 days), corrections
 *   and payments after asOf left out, the collection rate with and without them;
 * - today's desk (takePayment): daily takings per cashier, method and item; collections;
 * - the same asOf gives the same report after more payments, a void and a correction;
 * - estate, company and group level, and a user granted one estate sees only it;
 * - CSV (BOM, Chinese headers) and XLSX read back.
 */
const AS_OF = '2026-10-31T15:00:00.000Z'

interface OrgEstate {
  estateId: string
  buildingId: string
  unitId: string
  customerId: string
}
interface Org {
  groupId: string
  companyId: string
  a: OrgEstate
  b: OrgEstate
  rootToken: string
}

/**
 * A group, a company and estates A and B, each with a building, unit X-1-101 and customer
 * X-C1 (张三): the reports' own, so that records other suites' fixtures add do not count here.
 */
async function smallOrg(hub: TestHub): Promise<Org> {
  const rootToken = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
  const node = async (payload: Record<string, unknown>) => {
    const created = await hub.call(rootToken, { method: 'POST', url: '/api/v1/org-nodes', payload })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return created.body.id as string
  }
  const groupId = await node({ kind: 'group', code: 'G1', name: '集团' })
  const companyId = await node({ kind: 'company', parentId: groupId, code: 'C1', name: '公司' })
  const estate = async (code: string): Promise<OrgEstate> => {
    const estateId = await node({ kind: 'estate', parentId: companyId, code, name: `Estate ${code}` })
    const db = hub.store.db
    const building = await db
      .insertInto('buildings')
      .values({ estateId, code: `${code}-B1`, name: 'Building 1' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const unit = await db
      .insertInto('units')
      .values({
        estateId,
        buildingId: building.id,
        code: `${code}-1-101`,
        floor: 1,
        areaM2: '89.50',
        use: 'residence',
        status: 'occupied',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const customer = await db
      .insertInto('customers')
      .values({ estateId, code: `${code}-C1`, kind: 'person', name: '张三' })
      .returning('id')
      .executeTakeFirstOrThrow()
    return { estateId, buildingId: building.id, unitId: unit.id, customerId: customer.id }
  }
  return { groupId, companyId, a: await estate('A'), b: await estate('B'), rootToken }
}

for (const backend of storeBackends()) {
  describe(`finance reports (${backend.name})`, () => {
    let hub: TestHub
    let org: Org
    let viewerA: string
    let companyViewer: string
    const users: Record<string, string> = {}
    const items: Record<string, string> = {}
    const customers: Record<string, string> = {}
    const units: Record<string, string> = {}
    const lines: Record<string, string> = {}
    const payments: Record<string, string> = {}
    let receiptSeq = 9000
    let today = ''
    let snapshot = ''

    const estateOf = (key: string) => (key.startsWith('A') ? org.a.estateId : org.b.estateId)
    const get = async (token: string, path: string, query: Record<string, string>) =>
      hub.call(token, { method: 'GET', url: `/api/v1/reports/${path}?${new URLSearchParams(query)}` })
    const download = async (token: string, path: string, query: Record<string, string>) => {
      const response = await hub.app.inject({
        method: 'GET',
        url: `/api/v1/reports/${path}?${new URLSearchParams(query)}`,
        headers: { authorization: `Bearer ${token}` },
      })
      return { status: response.statusCode, headers: response.headers, raw: response.rawPayload }
    }

    /** A receivable issued at a past instant (the desk's functions stamp now()). */
    const backdated = async (
      key: string,
      o: {
        customer: string
        unit: string
        item: string
        period: string | null
        amount: string
        due: string
        issued: string
        kind?: ReceivableKind
        corrects?: string
        lateFeeFor?: string
      },
    ) => {
      const kind = o.kind ?? 'charge'
      const row = await hub.store.db
        .insertInto('receivables')
        .values({
          estateId: estateOf(o.customer),
          customerId: customers[o.customer]!,
          unitId: units[o.unit]!,
          feeItemId: items[o.item]!,
          period: o.period,
          kind,
          amount: o.amount,
          dueDate: o.due,
          issuedAt: o.issued,
          correctsId: o.corrects ? lines[o.corrects]! : null,
          lateFeeFor: o.lateFeeFor ? lines[o.lateFeeFor]! : null,
          explanation: jsonb({ formula: 'test' }),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      lines[key] = row.id
    }
    /** A payment taken at a past instant, allocated to the given lines. */
    const backdatedPayment = async (
      key: string,
      o: {
        customer: string
        cashier: string
        method: 'cash' | 'transfer' | 'wechat'
        amount: string
        at: string
        allocations: [string, string][]
      },
    ) => {
      receiptSeq += 1
      const estateId = estateOf(o.customer)
      const payment = await hub.store.db
        .insertInto('payments')
        .values({
          estateId,
          customerId: customers[o.customer]!,
          purpose: 'bills',
          method: o.method,
          reference: null,
          amount: o.amount,
          receiptNo: `R-2026-${receiptSeq}`,
          receiptYear: 2026,
          receiptSeq,
          cashierId: users[o.cashier]!,
          paidAt: o.at,
          idempotencyKey: randomUUID(),
          requestHash: 'test',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      payments[key] = payment.id
      for (const [line, amount] of o.allocations)
        await hub.store.db
          .insertInto('paymentAllocations')
          .values({
            estateId,
            paymentId: payment.id,
            receivableId: lines[line]!,
            source: 'payment',
            amount,
            createdAt: o.at,
          })
          .execute()
    }
    const issue = (
      key: string,
      customer: string,
      unit: string,
      item: string,
      amount: string,
      period: string,
    ) =>
      hub.store.db.transaction().execute(async (trx) => {
        lines[key] = await issueReceivable(trx, {
          estateId: estateOf(customer),
          customerId: customers[customer]!,
          unitId: units[unit]!,
          feeItemId: items[item]!,
          period,
          kind: 'charge',
          amount,
          dueDate: '2026-12-15',
          explanation: { formula: 'test' },
          createdBy: null,
        })
      })
    const pay = async (key: string, customer: string, cashier: string, extra: Partial<PaymentRequest>) => {
      const result = await takePayment(hub.store.db, {
        estateId: estateOf(customer),
        customerId: customers[customer]!,
        purpose: 'bills',
        method: 'cash',
        reference: null,
        amount: '0',
        idempotencyKey: randomUUID(),
        cashierId: users[cashier]!,
        ...extra,
      })
      payments[key] = result.paymentId
      return result
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      org = await smallOrg(hub)
      const db = hub.store.db
      viewerA = await hub.userWithGrants('viewer-a', [{ role: 'viewer', nodeId: org.a.estateId }])
      companyViewer = await hub.userWithGrants('viewer-co', [{ role: 'viewer', nodeId: org.companyId }])
      await hub.userWithGrants('cashier-a', [{ role: 'finance', nodeId: org.a.estateId }])
      await hub.userWithGrants('cashier-co', [{ role: 'finance', nodeId: org.companyId }])
      for (const u of await db.selectFrom('users').select(['id', 'username']).execute())
        users[u.username] = u.id
      await db
        .updateTable('users')
        .set({ displayName: '收费员甲' })
        .where('username', '=', 'cashier-a')
        .execute()
      await db
        .updateTable('users')
        .set({ displayName: '收费员乙' })
        .where('username', '=', 'cashier-co')
        .execute()

      for (const [key, estateId, code, name] of [
        ['A-PROP', org.a.estateId, 'PROP', '物业费'],
        ['A-WATER', org.a.estateId, 'WATER', '水费'],
        ['B-PROP', org.b.estateId, 'PROP', '物业费'],
      ] as const) {
        items[key] = (
          await db
            .insertInto('feeItems')
            .values({ estateId, code, name, kind: 'fixed' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      units['A-101'] = org.a.unitId
      units['B-101'] = org.b.unitId
      units['A-102'] = (
        await db
          .insertInto('units')
          .values({
            estateId: org.a.estateId,
            buildingId: org.a.buildingId,
            code: 'A-1-102',
            floor: 1,
            areaM2: '75.00',
            use: 'residence',
            status: 'occupied',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      customers['A-C1'] = org.a.customerId
      customers['B-C1'] = org.b.customerId
      for (const [key, name] of [
        ['A-C2', '李四'],
        ['A-L1', '王五'],
        ['A-L2', '赵六'],
        ['B-L1', '钱七'],
      ] as const) {
        customers[key] = (
          await db
            .insertInto('customers')
            .values({ estateId: estateOf(key), code: key, kind: 'person', name })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }

      // ---- Back-dated ledger; asOf 2026-10-31 (Shanghai) ----
      const c1 = { customer: 'A-C1', unit: 'A-101', item: 'A-PROP' }
      await backdated('a1', {
        ...c1,
        period: '2026-10',
        amount: '300.00',
        due: '2026-11-15',
        issued: '2026-10-01T01:00:00Z',
      })
      await backdated('a2', {
        ...c1,
        period: '2026-09',
        amount: '300.00',
        due: '2026-10-01',
        issued: '2026-09-01T01:00:00Z',
      })
      await backdated('a2-fix', {
        ...c1,
        period: '2026-09',
        kind: 'correction',
        corrects: 'a2',
        amount: '-20.00',
        due: '2026-10-01',
        issued: '2026-09-20T01:00:00Z',
      })
      // A correction after asOf: not in the report as of 2026-10-31.
      await backdated('a2-late-fix', {
        ...c1,
        period: '2026-09',
        kind: 'correction',
        corrects: 'a2',
        amount: '15.00',
        due: '2026-10-01',
        issued: '2026-11-10T01:00:00Z',
      })
      await backdated('a3', {
        ...c1,
        period: '2026-08',
        amount: '300.00',
        due: '2026-09-30',
        issued: '2026-08-01T01:00:00Z',
      })
      await backdated('a4', {
        ...c1,
        period: '2026-07',
        amount: '300.00',
        due: '2026-08-02',
        issued: '2026-07-01T01:00:00Z',
      })
      await backdated('a5', {
        ...c1,
        period: '2026-06',
        amount: '300.00',
        due: '2026-08-01',
        issued: '2026-06-01T01:00:00Z',
      })
      await backdated('a2-late-fee', {
        ...c1,
        period: '2026-09',
        kind: 'late_fee',
        lateFeeFor: 'a2',
        amount: '5.00',
        due: '2026-10-31',
        issued: '2026-10-31T02:00:00Z',
      })
      const c2 = { customer: 'A-C2', unit: 'A-102' }
      await backdated('c1', {
        ...c2,
        item: 'A-WATER',
        period: '2026-04',
        amount: '45.50',
        due: '2026-05-04',
        issued: '2026-04-05T01:00:00Z',
      })
      await backdated('c2', {
        ...c2,
        item: 'A-PROP',
        period: '2026-03',
        amount: '120.00',
        due: '2026-05-03',
        issued: '2026-03-05T01:00:00Z',
      })
      await backdated('c3', {
        ...c2,
        item: 'A-PROP',
        period: '2025-09',
        amount: '88.80',
        due: '2025-10-31',
        issued: '2025-09-05T01:00:00Z',
      })
      await backdated('c4', {
        ...c2,
        item: 'A-WATER',
        period: '2026-09',
        amount: '150.00',
        due: '2026-10-31',
        issued: '2026-10-01T01:00:00Z',
      })
      const b = { customer: 'B-C1', unit: 'B-101', item: 'B-PROP' }
      await backdated('b1', {
        ...b,
        period: '2025-09',
        amount: '200.00',
        due: '2025-10-30',
        issued: '2025-09-05T01:00:00Z',
      })
      await backdated('b2', {
        ...b,
        period: '2026-09',
        amount: '200.00',
        due: '2026-10-15',
        issued: '2026-09-05T01:00:00Z',
      })

      await backdatedPayment('pa4', {
        customer: 'A-C1',
        cashier: 'cashier-a',
        method: 'cash',
        amount: '300.00',
        at: '2026-08-10T03:00:00Z',
        allocations: [['a4', '300.00']],
      })
      await backdatedPayment('pa2', {
        customer: 'A-C1',
        cashier: 'cashier-a',
        method: 'cash',
        amount: '100.00',
        at: '2026-10-05T02:30:00Z',
        allocations: [['a2', '100.00']],
      })
      await backdatedPayment('pc4', {
        customer: 'A-C2',
        cashier: 'cashier-co',
        method: 'transfer',
        amount: '150.00',
        at: '2026-10-20T06:00:00Z',
        allocations: [['c4', '150.00']],
      })
      // 2026-10-15 16:30 UTC is 2026-10-16 00:30 in Shanghai: a payment of the 16th.
      await backdatedPayment('pb2', {
        customer: 'B-C1',
        cashier: 'cashier-co',
        method: 'wechat',
        amount: '50.00',
        at: '2026-10-15T16:30:00Z',
        allocations: [['b2', '50.00']],
      })
      // After asOf: a5 is still open on 2026-10-31.
      await backdatedPayment('pa5', {
        customer: 'A-C1',
        cashier: 'cashier-a',
        method: 'cash',
        amount: '300.00',
        at: '2026-11-05T02:00:00Z',
        allocations: [['a5', '300.00']],
      })

      // ---- Today's desk ----
      await issue('l1-prop', 'A-L1', 'A-101', 'A-PROP', '100.00', '2026-11')
      await issue('l1-water', 'A-L1', 'A-101', 'A-WATER', '50.00', '2026-11')
      await issue('bl1-prop', 'B-L1', 'B-101', 'B-PROP', '200.00', '2026-11')
      await pay('p1', 'A-L1', 'cashier-a', {
        amount: '120.00',
        allocations: [
          { receivableId: lines['l1-prop']!, amount: '100.00' },
          { receivableId: lines['l1-water']!, amount: '20.00' },
        ],
      })
      const p2 = await pay('p2', 'A-L1', 'cashier-a', {
        amount: '80.00',
        method: 'wechat',
        reference: 'WX4200001',
      })
      expect(p2).toMatchObject({ toPrepayment: '50.00', allocated: [{ amount: '30.00' }] })
      await pay('p3', 'A-L2', 'cashier-co', { amount: '500.00', purpose: 'deposit' })
      await pay('p4', 'B-L1', 'cashier-co', { amount: '200.00', method: 'alipay', reference: 'ALI-88' })
      const paid = await sql<{ day: string }>`
        select to_char(paid_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as day
        from payments where id = ${payments.p1!}`.execute(db)
      today = paid.rows[0]!.day
      snapshot = new Date().toISOString()
    })
    afterAll(() => hub?.close())

    it('ages arrears from a fixed asOf, bucket boundaries included, at estate level', async () => {
      const { status, body } = await get(org.rootToken, 'arrears', { nodeId: org.a.estateId, asOf: AS_OF })
      expect(status, JSON.stringify(body)).toBe(200)
      expect(body).toMatchObject({ report: 'arrears', asOf: AS_OF, node: { kind: 'estate', code: 'A' } })
      expect(body.estates.map((e: any) => e.code)).toEqual(['A'])
      const rows = body.rows.map((r: any) => [
        r.customerCode,
        r.feeItemName,
        r.kind,
        r.dueDate,
        r.billed,
        r.paid,
        r.open,
        r.daysOverdue,
        r.bucket,
      ])
      expect(rows).toEqual([
        ['A-C1', '物业费', 'charge', '2026-08-01', '300.00', '0.00', '300.00', 91, '91-180'],
        ['A-C1', '物业费', 'charge', '2026-09-30', '300.00', '0.00', '300.00', 31, '31-90'],
        ['A-C1', '物业费', 'charge', '2026-10-01', '280.00', '100.00', '180.00', 30, '0-30'],
        ['A-C1', '物业费', 'late_fee', '2026-10-31', '5.00', '0.00', '5.00', 0, '0-30'],
        ['A-C1', '物业费', 'charge', '2026-11-15', '300.00', '0.00', '300.00', 0, 'not due'],
        ['A-C2', '物业费', 'charge', '2025-10-31', '88.80', '0.00', '88.80', 365, '181-365'],
        ['A-C2', '物业费', 'charge', '2026-05-03', '120.00', '0.00', '120.00', 181, '181-365'],
        ['A-C2', '水费', 'charge', '2026-05-04', '45.50', '0.00', '45.50', 180, '91-180'],
      ])
      expect(body.rows[0]).toMatchObject({ unitCode: 'A-1-101', customerName: '张三', period: '2026-06' })
      expect(body.buckets).toEqual([
        { bucket: 'not due', lines: 1, amount: '300.00' },
        { bucket: '0-30', lines: 2, amount: '185.00' },
        { bucket: '31-90', lines: 1, amount: '300.00' },
        { bucket: '91-180', lines: 2, amount: '345.50' },
        { bucket: '181-365', lines: 2, amount: '208.80' },
        { bucket: '>365', lines: 0, amount: '0.00' },
      ])
      expect(body).toMatchObject({ lines: 8, total: '1339.30' })
    })

    it('adds up the estates of a company and of the group', async () => {
      for (const nodeId of [org.companyId, org.groupId]) {
        const { status, body } = await get(org.rootToken, 'arrears', { nodeId, asOf: AS_OF })
        expect(status).toBe(200)
        expect(body.estates.map((e: any) => e.code)).toEqual(['A', 'B'])
        const b = body.rows.filter((r: any) => r.estateCode === 'B')
        expect(b.map((r: any) => [r.dueDate, r.open, r.daysOverdue, r.bucket])).toEqual([
          ['2025-10-30', '200.00', 366, '>365'],
          ['2026-10-15', '150.00', 16, '0-30'],
        ])
        expect(body.buckets.find((x: any) => x.bucket === '0-30')).toEqual({
          bucket: '0-30',
          lines: 3,
          amount: '335.00',
        })
        expect(body.buckets.find((x: any) => x.bucket === '>365')).toEqual({
          bucket: '>365',
          lines: 1,
          amount: '200.00',
        })
        expect(body).toMatchObject({ lines: 10, total: '1689.30' })
      }
    })

    it('gives the collection rate of a period as of a date, late fees aside', async () => {
      const asOf = await get(org.rootToken, 'collection-rate', {
        nodeId: org.companyId,
        period: '2026-09',
        asOf: AS_OF,
      })
      expect(asOf.status).toBe(200)
      expect(asOf.body.rows).toEqual([
        {
          estateId: org.a.estateId,
          estateCode: 'A',
          estateName: 'Estate A',
          receivables: 2,
          billed: '430.00',
          collected: '250.00',
          outstanding: '180.00',
          rate: '0.5814',
        },
        {
          estateId: org.b.estateId,
          estateCode: 'B',
          estateName: 'Estate B',
          receivables: 1,
          billed: '200.00',
          collected: '50.00',
          outstanding: '150.00',
          rate: '0.2500',
        },
      ])
      expect(asOf.body.total).toEqual({
        receivables: 3,
        billed: '630.00',
        collected: '300.00',
        outstanding: '330.00',
        rate: '0.4762',
      })
      // Today the +15.00 correction of November counts: 250 ÷ 445.
      const now = await get(org.rootToken, 'collection-rate', { nodeId: org.a.estateId, period: '2026-09' })
      expect(now.body.rows[0]).toMatchObject({ billed: '445.00', collected: '250.00', rate: '0.5618' })
      const empty = await get(org.rootToken, 'collection-rate', { nodeId: org.a.estateId, period: '2020-01' })
      expect(empty.body.total).toEqual({
        receivables: 0,
        billed: '0.00',
        collected: '0.00',
        outstanding: '0.00',
        rate: null,
      })
    })

    it("counts a payment on the estate's own calendar day", async () => {
      const on16 = await get(org.rootToken, 'daily-takings', {
        nodeId: org.b.estateId,
        date: '2026-10-16',
        asOf: AS_OF,
      })
      expect(on16.body.rows).toEqual([
        {
          estateId: org.b.estateId,
          estateCode: 'B',
          estateName: 'Estate B',
          cashierId: users['cashier-co'],
          cashierName: '收费员乙',
          method: 'wechat',
          line: 'item',
          feeItemId: items['B-PROP'],
          feeItemCode: 'PROP',
          feeItemName: '物业费',
          documents: 1,
          amount: '50.00',
        },
      ])
      const on15 = await get(org.rootToken, 'daily-takings', {
        nodeId: org.b.estateId,
        date: '2026-10-15',
        asOf: AS_OF,
      })
      expect(on15.body).toMatchObject({ rows: [], byMethod: [], documents: 0, total: '0.00' })
    })

    it("lists a month's collections with the amount per item", async () => {
      const { body } = await get(org.rootToken, 'collections', {
        nodeId: org.companyId,
        from: '2026-10-01',
        to: '2026-10-31',
        asOf: AS_OF,
      })
      expect(
        body.rows.map((r: any) => [
          r.estateCode,
          r.localTime,
          r.customerCode,
          r.units,
          r.method,
          r.cashierName,
          r.amount,
        ]),
      ).toEqual([
        ['A', '2026-10-05 10:30:00', 'A-C1', ['A-1-101'], 'cash', '收费员甲', '100.00'],
        ['B', '2026-10-16 00:30:00', 'B-C1', ['B-1-101'], 'wechat', '收费员乙', '50.00'],
        ['A', '2026-10-20 14:00:00', 'A-C2', ['A-1-102'], 'transfer', '收费员乙', '150.00'],
      ])
      expect(body.rows[2].allocations).toEqual([
        { feeItemId: items['A-WATER'], feeItemCode: 'WATER', feeItemName: '水费', amount: '150.00' },
      ])
      expect(body.byItem).toEqual([
        { feeItemName: '物业费', amount: '150.00' },
        { feeItemName: '水费', amount: '150.00' },
      ])
      expect(body).toMatchObject({ total: '300.00', toPrepayment: '0.00', toDeposit: '0.00' })
    })

    it('takes the day at the desk per cashier, method and item', async () => {
      const { status, body } = await get(org.rootToken, 'daily-takings', {
        nodeId: org.a.estateId,
        date: today,
      })
      expect(status).toBe(200)
      const rows = body.rows.map((r: any) => [
        r.cashierName,
        r.method,
        r.line,
        r.feeItemName,
        r.documents,
        r.amount,
      ])
      expect(rows).toEqual([
        ['收费员甲', 'cash', 'item', '物业费', 1, '100.00'],
        ['收费员甲', 'cash', 'item', '水费', 1, '20.00'],
        ['收费员甲', 'wechat', 'item', '水费', 1, '30.00'],
        ['收费员甲', 'wechat', 'prepayment', null, 1, '50.00'],
        ['收费员乙', 'cash', 'deposit', null, 1, '500.00'],
      ])
      expect(body.byCashier.map((c: any) => [c.cashierName, c.method, c.documents, c.amount])).toEqual([
        ['收费员甲', 'cash', 1, '120.00'],
        ['收费员甲', 'wechat', 1, '80.00'],
        ['收费员乙', 'cash', 1, '500.00'],
      ])
      expect(body.byMethod).toEqual([
        { method: 'cash', documents: 2, amount: '620.00' },
        { method: 'wechat', documents: 1, amount: '80.00' },
      ])
      expect(body).toMatchObject({ documents: 3, total: '700.00' })

      const company = await get(org.rootToken, 'daily-takings', { nodeId: org.companyId, date: today })
      expect(company.body.rows.at(-1)).toMatchObject({
        estateCode: 'B',
        cashierName: '收费员乙',
        method: 'alipay',
        feeItemName: '物业费',
        amount: '200.00',
      })
      expect(company.body.byMethod.map((m: any) => [m.method, m.amount])).toEqual([
        ['alipay', '200.00'],
        ['cash', '620.00'],
        ['wechat', '80.00'],
      ])
      expect(company.body).toMatchObject({ documents: 4, total: '900.00' })

      const desk = await get(org.rootToken, 'collections', { nodeId: org.companyId, from: today, to: today })
      expect(desk.body.total).toBe('900.00')
      expect(desk.body.rows.find((r: any) => r.paymentId === payments.p2)).toMatchObject({
        kind: 'payment',
        reference: 'WX4200001',
        amount: '80.00',
        allocations: [{ feeItemName: '水费', amount: '30.00' }],
        toPrepayment: '50.00',
      })
      expect(desk.body.rows.find((r: any) => r.paymentId === payments.p3)).toMatchObject({
        toDeposit: '500.00',
        toPrepayment: '0.00',
        units: [],
      })
    })

    it('gives the same numbers for the same asOf after more payments, a void and a correction', async () => {
      const reports: [string, Record<string, string>][] = [
        ['daily-takings', { date: today }],
        ['collections', { from: today, to: today }],
        ['arrears', {}],
        ['collection-rate', { period: '2026-11' }],
      ]
      const take = async () => {
        const out: unknown[] = []
        for (const [path, query] of reports) {
          const params = { nodeId: org.companyId, asOf: snapshot, ...query }
          const json = await get(org.rootToken, path, params)
          expect(json.status, JSON.stringify(json.body)).toBe(200)
          const csv = await download(org.rootToken, path, { ...params, format: 'csv' })
          out.push(json.body, csv.raw.toString('base64'))
        }
        return out
      }
      const before = await take()

      // After the snapshot: a new bill and payment, a correction, and the WeChat payment voided.
      await issue('l1-dec', 'A-L1', 'A-101', 'A-PROP', '100.00', '2026-12')
      await pay('p5', 'A-L1', 'cashier-a', { amount: '50.00' })
      await hub.store.db.transaction().execute(async (trx) => {
        await issueReceivable(trx, {
          estateId: org.a.estateId,
          customerId: customers['A-L1']!,
          unitId: units['A-101']!,
          feeItemId: items['A-PROP']!,
          period: '2026-11',
          kind: 'correction',
          amount: '10.00',
          dueDate: '2026-12-15',
          correctsId: lines['l1-prop']!,
          explanation: { formula: 'test' },
          createdBy: null,
        })
      })
      // The WeChat payment voided (红冲): requested by its cashier, approved by another.
      const voidId = await requestApproval(hub.store.db, {
        estateId: org.a.estateId,
        kind: 'void',
        paymentId: payments.p2!,
        reason: '收错客户',
        requestedBy: users['cashier-a']!,
      })
      await decideApproval(hub.store.db, voidId, users['cashier-co']!, 'approve')

      expect(await take()).toEqual(before)

      // Now (no asOf) the new rows count: +50.00 cash, −80.00 红冲 by WeChat.
      const now = await get(org.rootToken, 'daily-takings', { nodeId: org.a.estateId, date: today })
      expect(
        now.body.rows
          .filter((r: any) => r.cashierName === '收费员甲')
          .map((r: any) => [r.method, r.line, r.feeItemName, r.documents, r.amount]),
      ).toEqual([
        ['cash', 'item', '物业费', 2, '150.00'],
        ['cash', 'item', '水费', 1, '20.00'],
        ['wechat', 'item', '水费', 1, '30.00'],
        ['wechat', 'prepayment', null, 1, '50.00'],
        ['wechat', 'void', null, 1, '-80.00'],
      ])
      expect(now.body.byMethod).toEqual([
        { method: 'cash', documents: 3, amount: '670.00' },
        { method: 'wechat', documents: 2, amount: '0.00' },
      ])
      expect(now.body.total).toBe('670.00')
      const desk = await get(org.rootToken, 'collections', { nodeId: org.a.estateId, from: today, to: today })
      expect(desk.body.rows.at(-1)).toMatchObject({
        kind: 'void',
        documentId: voidId,
        paymentId: payments.p2,
        customerCode: 'A-L1',
        method: 'wechat',
        cashierName: '收费员甲',
        amount: '-80.00',
        allocations: [{ feeItemName: '水费', amount: '-30.00' }],
        toPrepayment: '-50.00',
        note: '收错客户',
      })
      expect(desk.body.total).toBe(now.body.total)
      const rate = await get(org.rootToken, 'collection-rate', { nodeId: org.a.estateId, period: '2026-11' })
      // Billed 100 + 50 + 10; collected 100 + 20 (+30 − 30 voided).
      expect(rate.body.rows[0]).toMatchObject({ billed: '160.00', collected: '120.00', rate: '0.7500' })
    })

    it('shows a user granted one estate only that estate', async () => {
      const own = await get(viewerA, 'arrears', { nodeId: org.a.estateId, asOf: AS_OF })
      expect(own.status).toBe(200)
      expect(own.body.total).toBe('1339.30')
      for (const nodeId of [org.b.estateId, org.companyId, org.groupId, randomUUID()]) {
        const other = await get(viewerA, 'collection-rate', { nodeId, period: '2026-09' })
        expect(other.status, nodeId).toBe(404)
        expect(other.body.details).toEqual([
          {
            field: 'query.nodeId',
            rule: 'record.notFound',
            params: { what: 'organisation node' },
            message: 'no such record you may see',
          },
        ])
      }
      const company = await get(companyViewer, 'collection-rate', {
        nodeId: org.companyId,
        period: '2026-09',
        asOf: AS_OF,
      })
      expect(company.body.estates.map((e: any) => e.code)).toEqual(['A', 'B'])
      expect(company.body.total.rate).toBe('0.4762')
      expect((await get(companyViewer, 'arrears', { nodeId: org.groupId })).status).toBe(404)
    })

    it('refuses an asOf in the future and a range the wrong way round', async () => {
      const future = await get(org.rootToken, 'arrears', {
        nodeId: org.a.estateId,
        asOf: new Date(Date.now() + 3_600_000).toISOString(),
      })
      expect(future.status).toBe(400)
      expect(future.body.details[0].field).toBe('query.asOf')
      const backwards = await get(org.rootToken, 'collections', {
        nodeId: org.a.estateId,
        from: '2026-10-31',
        to: '2026-10-01',
      })
      expect(backwards.status).toBe(400)
      expect(backwards.body.details[0].field).toBe('query.from')
      const tooLong = await get(org.rootToken, 'collections', {
        nodeId: org.a.estateId,
        from: '2025-01-01',
        to: '2026-10-01',
      })
      expect(tooLong.status).toBe(400)
    })

    it('exports CSV with a BOM and Chinese headers that reads back', async () => {
      const query = { nodeId: org.companyId, asOf: AS_OF }
      const json = await get(org.rootToken, 'arrears', query)
      const file = await download(org.rootToken, 'arrears', { ...query, format: 'csv' })
      expect(file.status).toBe(200)
      expect(file.headers['content-type']).toBe('text/csv; charset=utf-8')
      expect(file.headers['content-disposition']).toMatch(
        /^attachment; filename="arrears_C1_asof-20261031T150000Z\.csv"; filename\*=UTF-8''/,
      )
      expect([...file.raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
      const records = parse(file.raw, { bom: true }) as string[][]
      expect(records[0]).toEqual([
        '管理处',
        '客户编号',
        '客户名称',
        '房号',
        '收费项目',
        '类型',
        '账期',
        '应缴日期',
        '应收金额',
        '已收金额',
        '欠费金额',
        '逾期天数',
        '账龄',
      ])
      const data = records.slice(1, 1 + json.body.rows.length)
      expect(data.map((r) => [r[1], r[7], r[10], r[11], r[12]])).toEqual(
        json.body.rows.map((r: any) => [
          r.customerCode,
          r.dueDate,
          r.open,
          String(r.daysOverdue),
          {
            'not due': '未到期',
            '0-30': '0-30天',
            '31-90': '31-90天',
            '91-180': '91-180天',
            '181-365': '181-365天',
            '>365': '365天以上',
          }[r.bucket as string],
        ]),
      )
      expect(data[0]).toEqual([
        'Estate A',
        'A-C1',
        '张三',
        'A-1-101',
        '物业费',
        '应收',
        '2026-06',
        '2026-08-01',
        '300.00',
        '0.00',
        '300.00',
        '91',
        '91-180天',
      ])
      const footer = records.slice(1 + json.body.rows.length)
      expect(footer.map((r) => [r[0], r[10], r[12]])).toEqual([
        ['合计', '300.00', '未到期'],
        ['合计', '335.00', '0-30天'],
        ['合计', '300.00', '31-90天'],
        ['合计', '345.50', '91-180天'],
        ['合计', '208.80', '181-365天'],
        ['合计', '200.00', '365天以上'],
        ['总计', '1689.30', ''],
      ])

      const takings = await download(org.rootToken, 'daily-takings', {
        nodeId: org.b.estateId,
        date: '2026-10-16',
        asOf: AS_OF,
        format: 'csv',
      })
      expect(parse(takings.raw, { bom: true })).toEqual([
        ['管理处', '收费员', '收款方式', '收费项目', '笔数', '金额'],
        ['Estate B', '收费员乙', '微信', '物业费', '1', '50.00'],
        ['Estate B', '收费员乙', '微信', '小计', '1', '50.00'],
        ['合计', '', '微信', '', '1', '50.00'],
        ['总计', '', '', '', '1', '50.00'],
      ])
    })

    it('exports XLSX with the same headers, money as 2-decimal numbers', async () => {
      const query = { nodeId: org.companyId, from: '2026-10-01', to: '2026-10-31', asOf: AS_OF }
      const file = await download(org.rootToken, 'collections', { ...query, format: 'xlsx' })
      expect(file.status).toBe(200)
      expect(file.headers['content-type']).toBe(
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      )
      expect(file.headers['content-disposition']).toMatch(
        /filename="collections_C1_2026-10-01_2026-10-31_asof-20261031T150000Z\.xlsx"/,
      )
      const book = new ExcelJS.Workbook()
      await book.xlsx.load(file.raw as unknown as Parameters<typeof book.xlsx.load>[0])
      const sheet = book.getWorksheet('收款明细表')!
      const values = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1)
      expect(values(1)).toEqual([
        '管理处',
        '收据号',
        '收款时间',
        '客户编号',
        '客户名称',
        '房号',
        '收款方式',
        '交易参考号',
        '收费员',
        '类型',
        '金额',
        '物业费',
        '水费',
        '预存款',
        '押金',
        '备注',
      ])
      expect(values(2).slice(0, 13)).toEqual([
        'Estate A',
        'R-2026-9002',
        '2026-10-05 10:30:00',
        'A-C1',
        '张三',
        'A-1-101',
        '现金',
        undefined,
        '收费员甲',
        '收款',
        100,
        100,
        undefined,
      ])
      expect(sheet.getRow(2).getCell(11).numFmt).toBe('#,##0.00')
      expect(values(4).slice(10, 15)).toEqual([150, undefined, 150, 0, 0])
      expect(values(sheet.rowCount)).toEqual(['总计', ...Array(9).fill(undefined), 300, 150, 150, 0, 0])

      const rate = await download(org.rootToken, 'collection-rate', {
        nodeId: org.companyId,
        period: '2026-09',
        asOf: AS_OF,
        format: 'xlsx',
      })
      const rateBook = new ExcelJS.Workbook()
      await rateBook.xlsx.load(rate.raw as unknown as Parameters<typeof rateBook.xlsx.load>[0])
      const rateSheet = rateBook.getWorksheet('收缴率')!
      expect((rateSheet.getRow(2).values as unknown[]).slice(1)).toEqual([
        'Estate A',
        '2026-09',
        2,
        430,
        250,
        180,
        0.5814,
      ])
      expect(rateSheet.getRow(2).getCell(7).numFmt).toBe('0.00%')
      expect((rateSheet.getRow(4).values as unknown[]).slice(1)).toEqual([
        '合计',
        '2026-09',
        3,
        630,
        300,
        330,
        0.4762,
      ])
    })
  })
}
