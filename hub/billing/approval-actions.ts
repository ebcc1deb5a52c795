import type { Kysely, Transaction } from 'kysely'
import { conflict, forbidden, invalid, notFound } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { ApprovalKind, Database } from '../store/database-schema.ts'
import { addDays, dueDateOf, estateToday } from './due-dates.ts'
import {
  customerBalances,
  type EntryInput,
  insertAllocations,
  openReceivables,
  pair,
  postJournal,
} from './ledger.ts'
import { issueReceivable } from './receivable-issue.ts'

export interface ApprovalRequest {
  readonly estateId: string
  readonly kind: ApprovalKind
  readonly paymentId?: string
  readonly receivableId?: string
  readonly customerId?: string
  readonly feeItemId?: string
  /**
   * void: filled in, the payment's amount less refunds of it already approved (what the void
   * returns); refund/deposit_refund/waiver: positive; adjustment: signed.
   */
  readonly amount?: string
  readonly reason: string
  readonly requestedBy: string
}

const money = (field: string, value: string | undefined, signed = false): Decimal => {
  if (value === undefined) throw invalid(field, 'is required', 'field.required')
  let d: Decimal
  try {
    d = Decimal.of(value)
  } catch {
    throw invalid(field, `must be an amount in yuan, got ${JSON.stringify(value)}`, 'money.yuan', {
      got: String(JSON.stringify(value)),
    })
  }
  if (d.scale > 2) throw invalid(field, 'has more than 2 decimals', 'decimal.places', { max: 2 })
  if (d.isZero() || (!signed && d.isNegative()))
    throw invalid(
      field,
      signed ? 'must not be zero' : 'must be positive',
      signed ? 'number.notZero' : 'number.positive',
    )
  return d
}

/**
 * The payment a request names, its row locked until commit: requests and decisions about one
 * payment (refunds, voids) take turns, so each sees what the one before it left.
 */
async function paymentOf(trx: Kysely<Database>, estateId: string, id: string | undefined) {
  if (id === undefined) throw invalid('body.paymentId', 'is required', 'field.required')
  const payment = await trx
    .selectFrom('payments')
    .selectAll()
    .where('id', '=', id)
    .where('estateId', '=', estateId)
    .forUpdate()
    .executeTakeFirst()
  if (!payment) throw notFound('payment', 'body.paymentId')
  return payment
}

/** Refunds of a payment approved, and requested but not yet decided (`except`: the one being decided). */
async function refundsOf(trx: Kysely<Database>, paymentId: string, except?: string) {
  let query = trx
    .selectFrom('approvals')
    .select(['status', 'amount'])
    .where('paymentId', '=', paymentId)
    .where('kind', 'in', ['refund', 'deposit_refund'])
    .where('status', 'in', ['requested', 'approved'])
  if (except !== undefined) query = query.where('id', '<>', except)
  const rows = await query.execute()
  const sum = (status: string) =>
    rows.filter((r) => r.status === status).reduce((s, r) => s.plus(r.amount), Decimal.ZERO)
  return { approved: sum('approved'), pending: sum('requested') }
}

/**
 * What of a payment may still be refunded: the part that did not go to bills, less refunds
 * approved or waiting for approval. Read under the payment's lock (paymentOf), so two refund
 * requests cannot together ask for more than the payment left.
 */
async function refundable(
  trx: Kysely<Database>,
  payment: { id: string; amount: string },
  except?: string,
): Promise<Decimal> {
  const refunds = await refundsOf(trx, payment.id, except)
  return (await unallocated(trx, payment.id, payment.amount)).minus(refunds.approved).minus(refunds.pending)
}

/** A void requested or done: the payment is being, or was, returned whole; no refund of it. */
async function voidOf(trx: Kysely<Database>, paymentId: string) {
  return trx
    .selectFrom('approvals')
    .select('id')
    .where('paymentId', '=', paymentId)
    .where('kind', '=', 'void')
    .where('status', '<>', 'rejected')
    .executeTakeFirst()
}

/** What of a payment's money did not go to bills: it sits in prepayment (or deposit). */
async function unallocated(trx: Kysely<Database>, paymentId: string, amount: string): Promise<Decimal> {
  const rows = await trx
    .selectFrom('paymentAllocations')
    .select('amount')
    .where('paymentId', '=', paymentId)
    .execute()
  return rows.reduce((s, r) => s.minus(r.amount), Decimal.of(amount))
}

/**
 * Records a request that a second person must approve (红冲 voids, refunds, deposit refunds,
 * adjustments, late-fee waivers). Nothing moves in the books until it is approved; the checks
 * here are made again at approval, when balances may have changed.
 */
export async function requestApproval(db: Kysely<Database>, r: ApprovalRequest): Promise<string> {
  if (r.reason.trim() === '') throw invalid('body.reason', 'is required', 'field.required')
  return db.transaction().execute(async (trx) => {
    let amount: Decimal
    let customerId = r.customerId ?? null
    let feeItemId = r.feeItemId ?? null
    switch (r.kind) {
      case 'void': {
        const payment = await paymentOf(trx, r.estateId, r.paymentId)
        if (await voidOf(trx, payment.id))
          throw conflict('body.paymentId', 'has a void requested or done already', 'approval.voidPending')
        // A void returns what the payment still holds: refunds already paid back are not paid
        // twice, and one waiting for a decision is decided first.
        const refunds = await refundsOf(trx, payment.id)
        if (refunds.pending.gt(0))
          throw conflict(
            'body.paymentId',
            `has a refund of ${refunds.pending.toFixed(2)} waiting for approval; decide it first`,
            'approval.refundPending',
            { amount: refunds.pending.toFixed(2) },
          )
        amount = Decimal.of(payment.amount).minus(refunds.approved)
        customerId = payment.customerId
        break
      }
      case 'refund':
      case 'deposit_refund': {
        const payment = await paymentOf(trx, r.estateId, r.paymentId)
        if ((r.kind === 'deposit_refund') !== (payment.purpose === 'deposit'))
          throw invalid(
            'body.paymentId',
            r.kind === 'deposit_refund' ? 'is not a deposit' : 'is a deposit: request a deposit_refund',
            r.kind === 'deposit_refund' ? 'approval.notDeposit' : 'approval.isDeposit',
          )
        amount = money('body.amount', r.amount)
        if (await voidOf(trx, payment.id))
          throw conflict('body.paymentId', 'has a void requested or done already', 'approval.voidPending')
        const left = await refundable(trx, payment)
        if (amount.gt(left))
          throw invalid(
            'body.amount',
            `is more than what of the payment may still be refunded (${left.toFixed(2)}: the part not used for bills, less refunds approved or waiting)`,
            'approval.refundTooMuch',
          )
        customerId = payment.customerId
        break
      }
      case 'adjustment': {
        amount = money('body.amount', r.amount, true)
        if (r.receivableId !== undefined) {
          const line = await trx
            .selectFrom('receivables')
            .selectAll()
            .where('id', '=', r.receivableId)
            .where('estateId', '=', r.estateId)
            .executeTakeFirst()
          if (!line) throw notFound('receivable', 'body.receivableId')
          customerId = line.customerId
          feeItemId = line.feeItemId
        } else {
          if (amount.isNegative())
            throw invalid(
              'body.amount',
              'a credit must name the receivable it reduces',
              'approval.creditNeedsReceivable',
            )
          if (customerId === null)
            throw invalid(
              'body.customerId',
              'is required without a receivable',
              'approval.requiredWithoutReceivable',
            )
          if (feeItemId === null)
            throw invalid(
              'body.feeItemId',
              'is required without a receivable',
              'approval.requiredWithoutReceivable',
            )
        }
        break
      }
      case 'waiver': {
        amount = money('body.amount', r.amount)
        const line = await trx
          .selectFrom('receivables')
          .selectAll()
          .where('id', '=', r.receivableId ?? '')
          .where('estateId', '=', r.estateId)
          .executeTakeFirst()
        if (!line || r.receivableId === undefined) throw notFound('receivable', 'body.receivableId')
        if (line.kind !== 'late_fee')
          throw invalid('body.receivableId', 'is not a late fee: use an adjustment', 'approval.notLateFee')
        customerId = line.customerId
        feeItemId = line.feeItemId
        break
      }
    }
    const row = await trx
      .insertInto('approvals')
      .values({
        estateId: r.estateId,
        kind: r.kind,
        paymentId: r.paymentId ?? null,
        receivableId: r.receivableId ?? null,
        customerId,
        feeItemId,
        amount: amount.toFixed(2),
        reason: r.reason.trim(),
        requestedBy: r.requestedBy,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    return row.id
  })
}

/**
 * Approves or rejects a request; approval books its effect in the same transaction. `note`:
 * what the decider says about it (the requester sees it at the desk and on the approvals page).
 */
export async function decideApproval(
  db: Kysely<Database>,
  id: string,
  decidedBy: string,
  decision: 'approve' | 'reject',
  note?: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const a = await trx
      .selectFrom('approvals')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirstOrThrow()
    if (a.status !== 'requested')
      throw conflict('params.id', `is already ${a.status}`, 'approval.alreadyDecided', { status: a.status })
    if (a.requestedBy === decidedBy)
      throw forbidden('a request must be approved by someone other than who made it', 'approval.selfApproval')
    if (decision === 'approve') await book(trx, a, decidedBy)
    await trx
      .updateTable('approvals')
      .set({
        status: decision === 'approve' ? 'approved' : 'rejected',
        decidedBy,
        decidedAt: new Date(),
        decisionNote: note?.trim() || null,
      })
      .where('id', '=', id)
      .execute()
  })
}

type ApprovalRow = Awaited<ReturnType<typeof loadApproval>>
function loadApproval(trx: Kysely<Database>, id: string) {
  return trx.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function book(trx: Transaction<Database>, a: ApprovalRow, decidedBy: string): Promise<void> {
  const amount = Decimal.of(a.amount)
  switch (a.kind) {
    case 'void': {
      const payment = await paymentOf(trx, a.estateId, a.paymentId ?? undefined)
      // Every allocation of the payment is reversed: those lines are open again.
      const allocations = await trx
        .selectFrom('paymentAllocations')
        .selectAll()
        .where('paymentId', '=', payment.id)
        .where('source', '=', 'payment')
        .execute()
      // The approval's amount is what the void returns: the payment less refunds paid back.
      const rest = (await unallocated(trx, payment.id, payment.amount)).minus(
        Decimal.of(payment.amount).minus(amount),
      )
      if (rest.gt(0)) {
        const balance = Decimal.of(
          (await customerBalances(trx, payment.customerId))[
            payment.purpose === 'deposit' ? 'deposit' : 'prepayment'
          ],
        )
        if (balance.lt(rest))
          throw conflict(
            'params.id',
            `the payment's ${rest.toFixed(2)} left over was already used (balance ${balance.toFixed(2)}); it cannot be voided`,
            'approval.voidUsed',
            { rest: rest.toFixed(2), balance: balance.toFixed(2) },
          )
      }
      const entries: EntryInput[] = []
      await insertAllocations(
        trx,
        allocations.map((al) => ({
          estateId: a.estateId,
          paymentId: payment.id,
          receivableId: al.receivableId,
          source: 'reversal',
          amount: Decimal.of(al.amount).neg().toFixed(2),
        })),
      )
      for (const al of allocations) {
        entries.push({
          account: 'receivable',
          side: 'debit',
          amount: Decimal.of(al.amount).toFixed(2),
          customerId: payment.customerId,
          receivableId: al.receivableId,
          paymentId: payment.id,
        })
      }
      if (rest.gt(0))
        entries.push({
          account: payment.purpose === 'deposit' ? 'deposit' : 'prepayment',
          side: 'debit',
          amount: rest.toFixed(2),
          customerId: payment.customerId,
          paymentId: payment.id,
        })
      entries.push({
        account: 'cash',
        side: 'credit',
        amount: amount.toFixed(2),
        customerId: payment.customerId,
        paymentId: payment.id,
        method: payment.method,
      })
      await postJournal(trx, a.estateId, `void ${payment.receiptNo}`, entries)
      return
    }
    case 'refund':
    case 'deposit_refund': {
      const payment = await paymentOf(trx, a.estateId, a.paymentId ?? undefined)
      const account = a.kind === 'refund' ? 'prepayment' : 'deposit'
      // Checked again now, under the payment's lock: the payment's part not used for bills,
      // less the other refunds approved or waiting, and the customer's balance today.
      const left = await refundable(trx, payment, a.id)
      if (amount.gt(left))
        throw conflict(
          'params.id',
          `is more than what of the payment may still be refunded (${left.toFixed(2)})`,
          'approval.refundTooMuch',
        )
      const balance = Decimal.of((await customerBalances(trx, payment.customerId))[account])
      if (balance.lt(amount))
        throw conflict(
          'params.id',
          `the customer's ${account} is ${balance.toFixed(2)}, less than the refund`,
          'approval.balanceTooLow',
          { account, balance: balance.toFixed(2) },
        )
      await postJournal(
        trx,
        a.estateId,
        `${a.kind} of ${payment.receiptNo}`,
        pair(
          amount.toFixed(2),
          { account, customerId: payment.customerId, paymentId: payment.id },
          { account: 'cash', customerId: payment.customerId, paymentId: payment.id, method: payment.method },
        ),
      )
      return
    }
    case 'adjustment':
    case 'waiver': {
      const signed = a.kind === 'waiver' ? amount.neg() : amount
      let line:
        | {
            id: string
            customerId: string
            unitId: string | null
            feeItemId: string
            period: string | null
            dueDate: string
          }
        | undefined
      if (a.receivableId !== null) {
        line = await trx
          .selectFrom('receivables')
          .select(['id', 'customerId', 'unitId', 'feeItemId', 'period', 'dueDate'])
          .where('id', '=', a.receivableId)
          .executeTakeFirstOrThrow()
        if (signed.isNegative()) {
          const open = (await openReceivables(trx, line.customerId)).find((r) => r.id === line!.id)
          if (!open || signed.abs().gt(open.open))
            throw conflict(
              'params.id',
              `the line's open balance is ${open?.open ?? '0.00'}, less than the credit`,
              'approval.lineOpenTooLow',
              { open: String(open?.open ?? '0.00') },
            )
        }
      }
      const feeItemId = line?.feeItemId ?? a.feeItemId!
      const item = await trx
        .selectFrom('feeItems')
        .select('dueDays')
        .where('id', '=', feeItemId)
        .executeTakeFirstOrThrow()
      // The line's due date while it is not yet past, else its own (due-dates.ts).
      const today = await estateToday(trx, a.estateId)
      await issueReceivable(trx, {
        estateId: a.estateId,
        customerId: line?.customerId ?? a.customerId!,
        unitId: line?.unitId ?? null,
        feeItemId,
        period: line?.period ?? null,
        kind: 'adjustment',
        amount: signed.toFixed(2),
        dueDate: line ? dueDateOf(line.dueDate, today, item.dueDays) : addDays(today, item.dueDays),
        correctsId: line?.id ?? null,
        explanation: { formula: `${a.kind}: ${a.reason}`, approval: a.id },
        createdBy: decidedBy,
      })
      return
    }
  }
}
