import type { Kysely } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database, PaymentMethod } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'

/** A payment as the desk lists it under the customer's account, to ask for a void or refund. */
export interface CustomerPayment {
  readonly id: string
  readonly receiptNo: string
  readonly paidAt: string
  readonly purpose: 'bills' | 'deposit'
  readonly method: PaymentMethod
  readonly reference: string | null
  readonly amount: string
  readonly cashierName: string | null
  /**
   * What of it did not go to bills (prepayment, or the deposit).
   */
  readonly unallocated: string
  /**
   * What may still be refunded: `unallocated` less refunds of it approved or waiting for
   * approval (the hub checks a refund against this at request and again at approval).
   */
  readonly refundable: string
  /** An approved void (红冲): the payment no longer counts, its lines are open again. */
  readonly voided: boolean
}

/** A customer's payments, newest first. */
export async function customerPayments(
  db: Kysely<Database>,
  customerId: string,
  page: { limit: number; offset: number },
): Promise<{ items: CustomerPayment[]; total: number }> {
  const mine = db.selectFrom('payments as p').where('p.customerId', '=', customerId)
  const [rows, count] = await Promise.all([
    mine
      .leftJoin('users as u', 'u.id', 'p.cashierId')
      .select([
        'p.id',
        'p.receiptNo',
        'p.paidAt',
        'p.purpose',
        'p.method',
        'p.reference',
        'p.amount',
        'u.displayName as cashierName',
      ])
      .orderBy('p.paidAt', 'desc')
      .orderBy('p.receiptNo', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    mine.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ])
  const ids = rows.map((r) => r.id)
  const [allocations, voids, refunds] =
    ids.length === 0
      ? [[], [], []]
      : await Promise.all([
          db
            .selectFrom('paymentAllocations')
            .select(['paymentId', 'amount'])
            .where('paymentId', '=', anyUuid(ids))
            .execute(),
          db
            .selectFrom('approvals')
            .select('paymentId')
            .where('paymentId', '=', anyUuid(ids))
            .where('kind', '=', 'void')
            .where('status', '=', 'approved')
            .execute(),
          db
            .selectFrom('approvals')
            .select(['paymentId', 'amount'])
            .where('paymentId', '=', anyUuid(ids))
            .where('kind', 'in', ['refund', 'deposit_refund'])
            .where('status', 'in', ['requested', 'approved'])
            .execute(),
        ])
  // Every allocation counts, reversals too, as the refund check in approval-actions.ts does.
  const used = new Map<string, Decimal>()
  for (const a of allocations)
    if (a.paymentId) used.set(a.paymentId, (used.get(a.paymentId) ?? Decimal.ZERO).plus(a.amount))
  const refunded = new Map<string, Decimal>()
  for (const r of refunds)
    if (r.paymentId) refunded.set(r.paymentId, (refunded.get(r.paymentId) ?? Decimal.ZERO).plus(r.amount))
  const voided = new Set(voids.map((v) => v.paymentId))
  return {
    items: rows.map((r) => {
      const unallocated = Decimal.of(r.amount).minus(used.get(r.id) ?? Decimal.ZERO)
      return {
        ...r,
        paidAt: new Date(r.paidAt).toISOString(),
        amount: Decimal.of(r.amount).toFixed(2),
        unallocated: unallocated.toFixed(2),
        refundable: unallocated.minus(refunded.get(r.id) ?? Decimal.ZERO).toFixed(2),
        voided: voided.has(r.id),
      }
    }),
    total: Number(count.n),
  }
}
