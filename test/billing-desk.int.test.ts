import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { customerBalances, openReceivables } from '../hub/billing/ledger.ts'
import { checkLedger } from '../hub/billing/ledger-check.ts'
import { type PaymentRequest, takePayment } from '../hub/billing/payment-desk.ts'
import { applyPrepayment, issueReceivable } from '../hub/billing/receivable-issue.ts'
import { Decimal } from '../hub/kernel/decimal.ts'
import type { Store } from '../hub/store/open-store.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * The cashier's desk over the ledger, with hand-worked amounts: oldest-first and chosen-line
 * allocation, partial payment, overpayment kept as prepayment and drawn down by a later bill,
 * deposits, idempotent retries (also concurrent), gap-free receipt numbers under concurrency,
 * immutable rows, and `ledger check` after a randomized sequence.
 */
for (const backend of storeBackends()) {
  describe(`collection desk and ledger (${backend.name})`, () => {
    let store: Store
    let site: Site
    let estateCode: string
    let cashierId: string
    let feeItemId: string
    const customers: string[] = []
    let unitId: string

    const newCustomer = async (code: string) => {
      const c = await store.db
        .insertInto('customers')
        .values({ estateId: site.estateId, code, kind: 'person', name: `业主${code}` })
        .returning('id')
        .executeTakeFirstOrThrow()
      customers.push(c.id)
      return c.id
    }
    const bill = (customerId: string, amount: string, dueDate: string, period: string | null = null) =>
      store.db.transaction().execute((trx) =>
        issueReceivable(trx, {
          estateId: site.estateId,
          customerId,
          unitId,
          feeItemId,
          period: period ?? `p-${randomUUID()}`,
          kind: 'charge',
          amount,
          dueDate,
          explanation: { formula: 'test' },
          createdBy: null,
        }),
      )
    const pay = (customerId: string, amount: string, extra: Partial<PaymentRequest> = {}) =>
      takePayment(store.db, {
        estateId: site.estateId,
        customerId,
        purpose: 'bills',
        method: 'cash',
        reference: null,
        amount,
        idempotencyKey: randomUUID(),
        cashierId,
        ...extra,
      })
    const open = async (customerId: string) =>
      (await openReceivables(store.db, customerId)).map((r) => r.open)

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, { code: 'DESK', points: [] })
      estateCode = (
        await store.db
          .selectFrom('orgNodes')
          .select('code')
          .where('id', '=', site.estateId)
          .executeTakeFirstOrThrow()
      ).code
      cashierId = (
        await store.db
          .insertInto('users')
          .values({ username: 'cashier-1', displayName: '收费员', passwordHash: 'x' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      feeItemId = (
        await store.db
          .insertInto('feeItems')
          .values({ estateId: site.estateId, code: 'PROP', name: '物业费', kind: 'area' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      unitId = (
        await store.db
          .insertInto('units')
          .values({
            estateId: site.estateId,
            buildingId: site.buildingId,
            code: '1-101',
            floor: 1,
            areaM2: '89.50',
            use: 'residence',
            status: 'occupied',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
    })
    afterAll(() => store?.close())

    it('settles the oldest lines first, keeps a partial balance open, and numbers the receipt', async () => {
      const c = await newCustomer('C1')
      await bill(c, '100.00', '2026-01-15')
      await bill(c, '50.00', '2026-02-15')
      const first = await pay(c, '120.00')
      expect(first.receiptNo).toBe(`${estateCode}-2026-000001`)
      expect(first.allocated.map((a) => a.amount)).toEqual(['100.00', '20.00'])
      expect(first.toPrepayment).toBe('0.00')
      expect(await open(c)).toEqual(['30.00'])
    })

    it('keeps an overpayment as prepayment, which a later bill draws down', async () => {
      const c = customers[0]!
      const over = await pay(c, '50.00', { method: 'wechat', reference: 'WX4200001' })
      expect(over).toMatchObject({ toPrepayment: '20.00', receiptNo: `${estateCode}-2026-000002` })
      expect(await customerBalances(store.db, c)).toEqual({
        receivable: '0.00',
        prepayment: '20.00',
        deposit: '0.00',
      })
      await bill(c, '15.00', '2026-03-15')
      const applied = await store.db.transaction().execute((trx) => applyPrepayment(trx, site.estateId, c))
      expect(applied).toBe('15.00')
      expect(await open(c)).toEqual([])
      expect((await customerBalances(store.db, c)).prepayment).toBe('5.00')
    })

    it('pays the lines the payer chose, and refuses lines that are not theirs or not open', async () => {
      const c = await newCustomer('C2')
      const old = await bill(c, '80.00', '2026-01-15')
      const recent = await bill(c, '60.00', '2026-02-15')
      const chosen = await pay(c, '60.00', { allocations: [{ receivableId: recent, amount: '60.00' }] })
      expect(chosen.allocated).toEqual([{ receivableId: recent, amount: '60.00' }])
      expect(await open(c)).toEqual(['80.00'])
      await expect(
        pay(c, '10.00', { allocations: [{ receivableId: recent, amount: '10.00' }] }),
      ).rejects.toMatchObject({
        details: [{ field: 'body.allocations.0.receivableId' }],
      })
      await expect(
        pay(c, '100.00', { allocations: [{ receivableId: old, amount: '90.00' }] }),
      ).rejects.toMatchObject({
        details: [{ field: 'body.allocations.0.amount', message: expect.stringMatching(/open balance 80/) }],
      })
      const other = await newCustomer('C3')
      await expect(
        pay(other, '80.00', { allocations: [{ receivableId: old, amount: '80.00' }] }),
      ).rejects.toMatchObject({ statusCode: 400 })
    })

    it('records a double submit with the same key once, and refuses the key with another body', async () => {
      const c = await newCustomer('C4')
      await bill(c, '99.90', '2026-01-15')
      const key = `desk-${randomUUID()}`
      const a = await pay(c, '99.90', { idempotencyKey: key })
      const b = await pay(c, '99.90', { idempotencyKey: key })
      expect(b).toEqual({ ...a, replayed: true })
      expect(a.replayed).toBe(false)
      await expect(pay(c, '50.00', { idempotencyKey: key })).rejects.toMatchObject({ statusCode: 409 })
      const rows = await store.db
        .selectFrom('payments')
        .select('id')
        .where('idempotencyKey', '=', key)
        .execute()
      expect(rows).toHaveLength(1)
    })

    it('records concurrent submits of one key once', async () => {
      const c = await newCustomer('C5')
      await bill(c, '300.00', '2026-01-15')
      const key = `desk-${randomUUID()}`
      const results = await Promise.all(
        Array.from({ length: 6 }, () => pay(c, '300.00', { idempotencyKey: key })),
      )
      expect(new Set(results.map((r) => r.paymentId)).size).toBe(1)
      expect(results.filter((r) => !r.replayed)).toHaveLength(1)
      expect(await open(c)).toEqual([])
    })

    it('gives concurrent payments receipt numbers with no gap and no duplicate', async () => {
      const c = await newCustomer('C6')
      const before = await store.db
        .selectFrom('payments')
        .select('receiptSeq')
        .where('estateId', '=', site.estateId)
        .execute()
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pay(c, `${i + 1}.00`)))
      const seqs = results.map((r) => Number(r.receiptNo.split('-').at(-1))).sort((x, y) => x - y)
      const start = Math.max(...before.map((b) => b.receiptSeq)) + 1
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => start + i))
    })

    it('holds a deposit apart from prepayment', async () => {
      const c = await newCustomer('C7')
      const deposit = await pay(c, '2000.00', {
        purpose: 'deposit',
        method: 'transfer',
        reference: 'BANK-778',
      })
      expect(deposit).toMatchObject({ toDeposit: '2000.00', toPrepayment: '0.00', allocated: [] })
      expect(await customerBalances(store.db, c)).toEqual({
        receivable: '0.00',
        prepayment: '0.00',
        deposit: '2000.00',
      })
    })

    it('never lets an issued line, a payment or a ledger entry change', async () => {
      for (const table of ['receivables', 'payments', 'ledger_entries', 'payment_allocations']) {
        await expect(sql.raw(`update ${table} set estate_id = estate_id`).execute(store.db)).rejects.toThrow(
          /immutable/,
        )
        await expect(sql.raw(`delete from ${table}`).execute(store.db)).rejects.toThrow(/immutable/)
      }
    })

    it('keeps the books consistent through a randomized sequence of bills and payments', async () => {
      const c = await newCustomer('C8')
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('bill' as const), cents: fc.integer({ min: 1, max: 500_000 }) }),
              fc.record({ op: fc.constant('pay' as const), cents: fc.integer({ min: 1, max: 500_000 }) }),
              fc.record({ op: fc.constant('payLine' as const), share: fc.integer({ min: 1, max: 100 }) }),
              fc.record({ op: fc.constant('prepay' as const) }),
            ),
            { minLength: 1, maxLength: 12 },
          ),
          async (ops) => {
            for (const o of ops) {
              if (o.op === 'bill')
                await bill(c, Decimal.of(o.cents).div(100, 2, 'down').toFixed(2), '2026-04-01')
              else if (o.op === 'pay') {
                const amount = Decimal.of(o.cents).div(100, 2, 'down')
                const before = Decimal.of((await customerBalances(store.db, c)).prepayment)
                const result = await pay(c, amount.toFixed(2))
                // Allocations plus what is kept as prepayment are exactly the payment.
                const allocated = result.allocated.reduce((s, a) => s.plus(a.amount), Decimal.ZERO)
                expect(allocated.plus(result.toPrepayment).eq(amount)).toBe(true)
                expect(
                  Decimal.of((await customerBalances(store.db, c)).prepayment).eq(
                    before.plus(result.toPrepayment),
                  ),
                ).toBe(true)
              } else if (o.op === 'payLine') {
                const lines = await openReceivables(store.db, c)
                if (lines.length === 0) continue
                const line = lines[lines.length - 1]!
                const amount = Decimal.of(line.open).times(o.share).div(100, 2, 'down')
                if (amount.gt(0))
                  await pay(c, amount.toFixed(2), {
                    allocations: [{ receivableId: line.id, amount: amount.toFixed(2) }],
                  })
              } else await store.db.transaction().execute((trx) => applyPrepayment(trx, site.estateId, c))
              for (const line of await openReceivables(store.db, c))
                expect(Decimal.of(line.open).gt(0)).toBe(true)
            }
            const [result] = await checkLedger(store.db, [site.estateId])
            expect(result!.problems).toEqual([])
          },
        ),
        { numRuns: backend.name === 'pglite' ? 15 : 25 },
      )
    })
  })
}
