import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decideApproval, requestApproval } from '../hub/billing/approval-actions.ts'
import { accrueLateFees } from '../hub/billing/late-fees.ts'
import { customerBalances, openReceivables } from '../hub/billing/ledger.ts'
import { checkLedger } from '../hub/billing/ledger-check.ts'
import { type PaymentRequest, takePayment } from '../hub/billing/payment-desk.ts'
import { issueReceivable } from '../hub/billing/receivable-issue.ts'
import { Decimal } from '../hub/kernel/decimal.ts'
import type { Store } from '../hub/store/open-store.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * What needs a second person: voids (红冲), refunds, deposit refunds, adjustments and late-fee
 * waivers; and late fees (滞纳金) with grace and cap. Hand-worked amounts, then a randomized
 * sequence of payments, refunds and voids after which `ledger check` must still pass.
 */
for (const backend of storeBackends()) {
  describe(`approvals, refunds, voids and late fees (${backend.name})`, () => {
    let store: Store
    let site: Site
    let cashier: string
    let manager: string
    let feeItemId: string
    let lateItemId: string

    const customer = async () =>
      (
        await store.db
          .insertInto('customers')
          .values({
            estateId: site.estateId,
            code: `C-${randomUUID().slice(0, 8)}`,
            kind: 'person',
            name: '王五',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
    const bill = (customerId: string, amount: string, dueDate = '2026-01-15', item = feeItemId) =>
      store.db.transaction().execute((trx) =>
        issueReceivable(trx, {
          estateId: site.estateId,
          customerId,
          unitId: null,
          feeItemId: item,
          period: `p-${randomUUID()}`,
          kind: 'charge',
          amount,
          dueDate,
          explanation: {},
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
        cashierId: cashier,
        ...extra,
      })
    const approved = async (request: Parameters<typeof requestApproval>[1]) => {
      const id = await requestApproval(store.db, request)
      await decideApproval(store.db, id, manager, 'approve')
      return id
    }
    const base = () => ({ estateId: site.estateId, requestedBy: cashier, reason: '客户申请' })
    const books = async () => {
      const [result] = await checkLedger(store.db, [site.estateId])
      expect(result!.problems).toEqual([])
    }

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, { code: 'APPR', points: [] })
      const user = async (username: string) =>
        (
          await store.db
            .insertInto('users')
            .values({ username, displayName: username, passwordHash: 'x' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      cashier = await user('appr-cashier')
      manager = await user('appr-manager')
      feeItemId = (
        await store.db
          .insertInto('feeItems')
          .values({ estateId: site.estateId, code: 'PROP', name: '物业费', kind: 'area' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      lateItemId = (
        await store.db
          .insertInto('feeItems')
          .values({
            estateId: site.estateId,
            code: 'LATE',
            name: '物业费(滞纳)',
            kind: 'area',
            lateFeeDailyRate: '0.0005',
            lateFeeGraceDays: 5,
            lateFeeCapRatio: '0.1',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
    })
    afterAll(() => store?.close())

    it('voids a payment (红冲) only with a second person, reopening its lines', async () => {
      const c = await customer()
      await bill(c, '100.00')
      const payment = await pay(c, '130.00')
      expect(await openReceivables(store.db, c)).toEqual([])
      const request = await requestApproval(store.db, {
        ...base(),
        kind: 'void',
        paymentId: payment.paymentId,
      })
      // Nothing moves until approved, and not by the person who asked.
      expect((await customerBalances(store.db, c)).prepayment).toBe('30.00')
      await expect(decideApproval(store.db, request, cashier, 'approve')).rejects.toMatchObject({
        statusCode: 403,
      })
      await decideApproval(store.db, request, manager, 'approve')
      expect((await openReceivables(store.db, c)).map((r) => r.open)).toEqual(['100.00'])
      expect(await customerBalances(store.db, c)).toEqual({
        receivable: '100.00',
        prepayment: '0.00',
        deposit: '0.00',
      })
      await expect(
        requestApproval(store.db, { ...base(), kind: 'void', paymentId: payment.paymentId }),
      ).rejects.toMatchObject({ statusCode: 409 })
      await expect(decideApproval(store.db, request, manager, 'approve')).rejects.toMatchObject({
        statusCode: 409,
      })
      await books()
    })

    it('refunds prepayment and deposits, never more than is held', async () => {
      const c = await customer()
      const over = await pay(c, '50.00') // nothing to pay: all prepayment
      await expect(
        requestApproval(store.db, { ...base(), kind: 'refund', paymentId: over.paymentId, amount: '60.00' }),
      ).rejects.toMatchObject({
        details: [{ field: 'body.amount' }],
      })
      await approved({ ...base(), kind: 'refund', paymentId: over.paymentId, amount: '20.00' })
      expect((await customerBalances(store.db, c)).prepayment).toBe('30.00')
      const deposit = await pay(c, '2000.00', { purpose: 'deposit', method: 'transfer', reference: 'B-1' })
      await expect(
        requestApproval(store.db, {
          ...base(),
          kind: 'refund',
          paymentId: deposit.paymentId,
          amount: '1.00',
        }),
      ).rejects.toMatchObject({ statusCode: 400 })
      await approved({ ...base(), kind: 'deposit_refund', paymentId: deposit.paymentId, amount: '2000.00' })
      expect(await customerBalances(store.db, c)).toEqual({
        receivable: '0.00',
        prepayment: '30.00',
        deposit: '0.00',
      })
      // A rejected request leaves no trace in the books.
      const rejected = await requestApproval(store.db, {
        ...base(),
        kind: 'refund',
        paymentId: over.paymentId,
        amount: '10.00',
      })
      await decideApproval(store.db, rejected, manager, 'reject')
      expect((await customerBalances(store.db, c)).prepayment).toBe('30.00')
      await books()
    })

    it('adjusts with new lines (费用调整), never by editing the issued one', async () => {
      const c = await customer()
      const line = await bill(c, '250.60')
      await approved({ ...base(), kind: 'adjustment', receivableId: line, amount: '-50.60' })
      expect((await openReceivables(store.db, c)).map((r) => r.open)).toEqual(['200.00'])
      await expect(
        requestApproval(store.db, {
          ...base(),
          kind: 'adjustment',
          customerId: c,
          feeItemId,
          amount: '-5.00',
        }),
      ).rejects.toMatchObject({ statusCode: 400 })
      await approved({ ...base(), kind: 'adjustment', customerId: c, feeItemId, amount: '35.00' })
      expect((await openReceivables(store.db, c)).map((r) => r.open).sort()).toEqual(['200.00', '35.00'])
      const original = await store.db
        .selectFrom('receivables')
        .select('amount')
        .where('id', '=', line)
        .executeTakeFirstOrThrow()
      expect(original.amount).toBe('250.60')
      await books()
    })

    it('accrues late fees after the grace period, up to the cap, each fen once; a waiver is not charged again', async () => {
      const c = await customer()
      const line = await bill(c, '100.00', '2026-01-15', lateItemId)
      // Within the grace period (5 days): nothing.
      expect(await accrueLateFees(store.db, site.estateId, '2026-01-19', null)).toMatchObject({ lines: 0 })
      // 30 days after the due date: 100.00 × 0.0005 × 30 = 1.50.
      expect(await accrueLateFees(store.db, site.estateId, '2026-02-14', null)).toMatchObject({
        lines: 1,
        amount: '1.50',
      })
      expect(await accrueLateFees(store.db, site.estateId, '2026-02-14', null)).toMatchObject({ lines: 0 })
      // 350 days: 17.50, capped at 10 % of 100.00 = 10.00; 8.50 more.
      expect(await accrueLateFees(store.db, site.estateId, '2026-12-31', null)).toMatchObject({
        lines: 1,
        amount: '8.50',
      })
      const fees = await store.db
        .selectFrom('receivables')
        .select(['id', 'amount'])
        .where('lateFeeFor', '=', line)
        .orderBy('issuedAt')
        .execute()
      expect(fees.map((f) => f.amount)).toEqual(['1.50', '8.50'])
      await approved({ ...base(), kind: 'waiver', receivableId: fees[1]!.id, amount: '8.50' })
      expect(await accrueLateFees(store.db, site.estateId, '2027-01-31', null)).toMatchObject({ lines: 0 })
      expect((await openReceivables(store.db, c)).map((r) => r.open).sort()).toEqual(['1.50', '100.00'])
      await expect(
        requestApproval(store.db, { ...base(), kind: 'waiver', receivableId: line, amount: '1.00' }),
      ).rejects.toMatchObject({
        details: [{ field: 'body.receivableId' }],
      })
      await books()
    })

    it('keeps the books consistent through a randomized sequence of payments, refunds and voids', async () => {
      const c = await customer()
      const payments: string[] = []
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('bill' as const), cents: fc.integer({ min: 1, max: 300_000 }) }),
              fc.record({ op: fc.constant('pay' as const), cents: fc.integer({ min: 1, max: 300_000 }) }),
              fc.record({ op: fc.constant('refund' as const), share: fc.integer({ min: 1, max: 100 }) }),
              fc.record({ op: fc.constant('void' as const), pick: fc.nat() }),
            ),
            { minLength: 1, maxLength: 10 },
          ),
          async (ops) => {
            for (const o of ops) {
              if (o.op === 'bill') await bill(c, Decimal.of(o.cents).div(100, 2, 'down').toFixed(2))
              else if (o.op === 'pay')
                payments.push((await pay(c, Decimal.of(o.cents).div(100, 2, 'down').toFixed(2))).paymentId)
              else if (o.op === 'refund') {
                const held = Decimal.of((await customerBalances(store.db, c)).prepayment)
                const last = payments.at(-1)
                if (!last || !held.gt(0)) continue
                const amount = held.times(o.share).div(100, 2, 'down')
                if (!amount.gt(0)) continue
                try {
                  await approved({ ...base(), kind: 'refund', paymentId: last, amount: amount.toFixed(2) })
                } catch (error) {
                  // Refused (more than that payment left over): a 400/409 naming why, nothing booked.
                  expect([400, 409]).toContain((error as { statusCode?: number }).statusCode)
                }
              } else if (payments.length > 0) {
                const target = payments[o.pick % payments.length]!
                try {
                  await approved({ ...base(), kind: 'void', paymentId: target })
                } catch (error) {
                  expect([409]).toContain((error as { statusCode?: number }).statusCode)
                }
              }
              for (const line of await openReceivables(store.db, c))
                expect(Decimal.of(line.open).gt(0)).toBe(true)
              const balances = await customerBalances(store.db, c)
              expect(Decimal.of(balances.prepayment).isNegative()).toBe(false)
            }
            await books()
          },
        ),
        { numRuns: backend.name === 'pglite' ? 12 : 20 },
      )
    })
  })
}
