import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { conflict, invalid, notFound } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import { localDate } from '../metering/cutoff.ts'
import { DEFAULT_TIME_ZONE } from '../metering/meter-read-inputs.ts'
import type { Database, PaymentMethod } from '../store/database-schema.ts'
import { type EntryInput, insertAllocations, openReceivables, postJournal } from './ledger.ts'

export interface PaymentRequest {
  readonly estateId: string
  readonly customerId: string
  readonly purpose: 'bills' | 'deposit'
  readonly method: Exclude<PaymentMethod, 'prepayment'>
  readonly reference: string | null
  readonly amount: string
  /** Lines the payer chose, with the amount for each; absent: oldest due first. */
  readonly allocations?: readonly { receivableId: string; amount: string }[]
  readonly idempotencyKey: string
  readonly cashierId: string
}

export interface PaymentResult {
  readonly paymentId: string
  readonly receiptNo: string
  readonly amount: string
  readonly allocated: readonly { receivableId: string; amount: string }[]
  readonly toPrepayment: string
  readonly toDeposit: string
  /** The same request was made before with this key: nothing new was recorded. */
  readonly replayed: boolean
}

/** What makes two requests "the same" for an idempotency key. */
function requestHash(r: PaymentRequest): string {
  const canonical = JSON.stringify([
    r.customerId,
    r.purpose,
    r.method,
    r.reference,
    Decimal.of(r.amount).toFixed(2),
    (r.allocations ?? []).map((a) => [a.receivableId, Decimal.of(a.amount).toFixed(2)]),
  ])
  return createHash('sha256').update(canonical).digest('hex')
}

/**
 * Takes one payment at the desk (收款): allocates it to the chosen lines or oldest first, keeps
 * what is left as prepayment (预存款), gives it the next receipt number of the estate and year
 * (gap-free: the number is drawn in the same transaction as the payment), and posts the
 * journal. A retried request with the same idempotency key returns the first result and records
 * nothing; the same key with a different request is refused.
 */
export async function takePayment(db: Kysely<Database>, request: PaymentRequest): Promise<PaymentResult> {
  const amount = Decimal.of(request.amount)
  if (!amount.gt(0) || amount.scale > 2)
    throw invalid(
      'body.amount',
      'must be a positive amount in yuan with at most 2 decimals',
      'money.positive',
    )
  const hash = requestHash(request)
  return db.transaction().execute(async (trx) => {
    const estate = await trx
      .selectFrom('orgNodes')
      .select(['code', 'timezone'])
      .where('id', '=', request.estateId)
      .executeTakeFirstOrThrow()
    const now = new Date()
    const year = Number(localDate(now.getTime(), estate.timezone ?? DEFAULT_TIME_ZONE).slice(0, 4))
    // The counter row is the estate's payment lock: receipt numbers stay gap-free and a
    // concurrent retry of the same key waits here, then finds the first payment below.
    await trx
      .insertInto('receiptCounters')
      .values({ estateId: request.estateId, year, last: 0 })
      .onConflict((oc) => oc.columns(['estateId', 'year']).doNothing())
      .execute()
    const counter = await trx
      .selectFrom('receiptCounters')
      .select('last')
      .where('estateId', '=', request.estateId)
      .where('year', '=', year)
      .forUpdate()
      .executeTakeFirstOrThrow()

    const earlier = await trx
      .selectFrom('payments')
      .selectAll()
      .where('estateId', '=', request.estateId)
      .where('idempotencyKey', '=', request.idempotencyKey)
      .executeTakeFirst()
    if (earlier) {
      if (earlier.requestHash !== hash)
        throw conflict(
          'headers.idempotency-key',
          'was already used for a different payment; use a new key for a new payment',
          'payment.idempotencyReused',
        )
      return replay(trx, earlier)
    }

    const customer = await trx
      .selectFrom('customers')
      .select('id')
      .where('id', '=', request.customerId)
      .where('estateId', '=', request.estateId)
      .executeTakeFirst()
    if (!customer) throw notFound('customer', 'body.customerId')

    const allocations: { receivableId: string; feeItemId: string; amount: Decimal }[] = []
    if (request.purpose === 'bills') {
      const open = await openReceivables(trx, request.customerId)
      const byId = new Map(open.map((r) => [r.id, r]))
      if (request.allocations && request.allocations.length > 0) {
        const seen = new Set<string>()
        for (const [i, a] of request.allocations.entries()) {
          const line = byId.get(a.receivableId)
          const field = `body.allocations.${i}`
          if (!line)
            throw invalid(
              `${field}.receivableId`,
              'is not an open receivable of this customer',
              'payment.notOpenLine',
            )
          if (seen.has(a.receivableId))
            throw invalid(`${field}.receivableId`, 'appears twice', 'payment.lineTwice')
          seen.add(a.receivableId)
          const take = Decimal.of(a.amount)
          if (!take.gt(0) || take.scale > 2)
            throw invalid(
              `${field}.amount`,
              'must be a positive amount with at most 2 decimals',
              'money.positive',
            )
          if (take.gt(line.open))
            throw invalid(
              `${field}.amount`,
              `is more than the line's open balance ${line.open}`,
              'payment.moreThanOpen',
              { open: String(line.open) },
            )
          allocations.push({ receivableId: line.id, feeItemId: line.feeItemId, amount: take })
        }
        const total = allocations.reduce((s, a) => s.plus(a.amount), Decimal.ZERO)
        if (total.gt(amount))
          throw invalid(
            'body.amount',
            `is less than the lines chosen (${total.toFixed(2)})`,
            'payment.lessThanLines',
            { total: total.toFixed(2) },
          )
      } else {
        let left = amount
        for (const line of open) {
          if (!left.gt(0)) break
          const lineOpen = Decimal.of(line.open)
          const take = lineOpen.lt(left) ? lineOpen : left
          allocations.push({ receivableId: line.id, feeItemId: line.feeItemId, amount: take })
          left = left.minus(take)
        }
      }
    } else if (request.allocations && request.allocations.length > 0) {
      throw invalid('body.allocations', 'a deposit is not allocated to bills', 'payment.depositNotAllocated')
    }

    const seq = counter.last + 1
    await trx
      .updateTable('receiptCounters')
      .set({ last: seq })
      .where('estateId', '=', request.estateId)
      .where('year', '=', year)
      .execute()
    const receiptNo = `${estate.code}-${year}-${String(seq).padStart(6, '0')}`
    const payment = await trx
      .insertInto('payments')
      .values({
        estateId: request.estateId,
        customerId: request.customerId,
        purpose: request.purpose,
        method: request.method,
        reference: request.reference,
        amount: amount.toFixed(2),
        receiptNo,
        receiptYear: year,
        receiptSeq: seq,
        cashierId: request.cashierId,
        idempotencyKey: request.idempotencyKey,
        requestHash: hash,
      })
      .returning(['id', 'paidAt'])
      .executeTakeFirstOrThrow()
    if (allocations.length > 0) {
      await insertAllocations(
        trx,
        allocations.map((a) => ({
          estateId: request.estateId,
          paymentId: payment.id,
          receivableId: a.receivableId,
          source: 'payment',
          amount: a.amount.toFixed(2),
        })),
      )
    }
    const allocated = allocations.reduce((s, a) => s.plus(a.amount), Decimal.ZERO)
    const rest = amount.minus(allocated)
    const base = { customerId: request.customerId, paymentId: payment.id }
    const entries: EntryInput[] = [
      { ...base, account: 'cash', side: 'debit', amount: amount.toFixed(2), method: request.method },
      ...allocations.map(
        (a): EntryInput => ({
          ...base,
          account: 'receivable',
          side: 'credit',
          amount: a.amount.toFixed(2),
          receivableId: a.receivableId,
          feeItemId: a.feeItemId,
        }),
      ),
    ]
    if (rest.gt(0))
      entries.push({
        ...base,
        account: request.purpose === 'deposit' ? 'deposit' : 'prepayment',
        side: 'credit',
        amount: rest.toFixed(2),
      })
    await postJournal(trx, request.estateId, `payment ${receiptNo}`, entries, payment.paidAt)
    return {
      paymentId: payment.id,
      receiptNo,
      amount: amount.toFixed(2),
      allocated: allocations.map((a) => ({ receivableId: a.receivableId, amount: a.amount.toFixed(2) })),
      toPrepayment: request.purpose === 'bills' ? rest.toFixed(2) : '0.00',
      toDeposit: request.purpose === 'deposit' ? rest.toFixed(2) : '0.00',
      replayed: false,
    }
  })
}

async function replay(
  trx: Kysely<Database>,
  payment: { id: string; receiptNo: string; amount: string; purpose: 'bills' | 'deposit' },
): Promise<PaymentResult> {
  const allocations = await trx
    .selectFrom('paymentAllocations')
    .select(['receivableId', 'amount'])
    .where('paymentId', '=', payment.id)
    .where('source', '=', 'payment')
    .orderBy('id')
    .execute()
  const allocated = allocations.reduce((s, a) => s.plus(a.amount), Decimal.ZERO)
  const rest = Decimal.of(payment.amount).minus(allocated).toFixed(2)
  return {
    paymentId: payment.id,
    receiptNo: payment.receiptNo,
    amount: Decimal.of(payment.amount).toFixed(2),
    allocated: allocations.map((a) => ({
      receivableId: a.receivableId,
      amount: Decimal.of(a.amount).toFixed(2),
    })),
    toPrepayment: payment.purpose === 'bills' ? rest : '0.00',
    toDeposit: payment.purpose === 'deposit' ? rest : '0.00',
    replayed: true,
  }
}
