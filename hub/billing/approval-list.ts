import { type Kysely, sql } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { ApprovalKind, Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import type { ApprovalStatus } from './billing-vocabulary.ts'

export type { ApprovalStatus }

export interface ApprovalFilter {
  readonly estateId: string
  readonly status?: ApprovalStatus
  readonly customerId?: string
  readonly limit: number
  readonly offset: number
}

/** A request as the approvals page and the desk show it: with whom and what it is about. */
export interface ApprovalListItem {
  readonly id: string
  readonly estateId: string
  readonly kind: ApprovalKind
  readonly status: ApprovalStatus
  readonly amount: string
  readonly reason: string
  readonly paymentId: string | null
  readonly receiptNo: string | null
  readonly receivableId: string | null
  readonly feeItemId: string | null
  readonly feeItemName: string | null
  readonly period: string | null
  readonly customerId: string | null
  readonly customerCode: string | null
  readonly customerName: string | null
  /** The unit of the line, or those the payment paid for, or else the customer's current ones. */
  readonly unitCodes: string[]
  readonly requestedBy: string
  readonly requestedByName: string | null
  readonly requestedAt: string
  readonly decidedBy: string | null
  readonly decidedByName: string | null
  readonly decidedAt: string | null
  readonly decisionNote: string | null
}

/** An estate's requests, newest first, with the names a person reads them by. */
export async function listApprovals(
  db: Kysely<Database>,
  filter: ApprovalFilter,
): Promise<{ items: ApprovalListItem[]; total: number }> {
  let query = db.selectFrom('approvals as a').where('a.estateId', '=', filter.estateId)
  if (filter.status) query = query.where('a.status', '=', filter.status)
  if (filter.customerId) query = query.where('a.customerId', '=', filter.customerId)
  const [rows, count] = await Promise.all([
    query
      .leftJoin('customers as c', 'c.id', 'a.customerId')
      .leftJoin('users as rq', 'rq.id', 'a.requestedBy')
      .leftJoin('users as dc', 'dc.id', 'a.decidedBy')
      .leftJoin('payments as p', 'p.id', 'a.paymentId')
      .leftJoin('receivables as r', 'r.id', 'a.receivableId')
      .leftJoin('units as u', 'u.id', 'r.unitId')
      .leftJoin('feeItems as f', 'f.id', 'a.feeItemId')
      .select([
        'a.id',
        'a.estateId',
        'a.kind',
        'a.status',
        'a.amount',
        'a.reason',
        'a.paymentId',
        'p.receiptNo',
        'a.receivableId',
        'a.feeItemId',
        'f.name as feeItemName',
        'r.period',
        'a.customerId',
        'c.code as customerCode',
        'c.name as customerName',
        'u.code as unitCode',
        'a.requestedBy',
        'rq.displayName as requestedByName',
        'a.requestedAt',
        'a.decidedBy',
        'dc.displayName as decidedByName',
        'a.decidedAt',
        'a.decisionNote',
      ])
      .orderBy('a.requestedAt', 'desc')
      .orderBy('a.id')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute(),
    query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ])
  const units = await unitsOf(db, rows)
  return {
    items: rows.map(({ unitCode, ...r }) => ({
      ...r,
      amount: Decimal.of(r.amount).toFixed(2),
      unitCodes: unitCode
        ? [unitCode]
        : ((r.paymentId ? units.byPayment.get(r.paymentId) : undefined) ??
          (r.customerId ? units.byCustomer.get(r.customerId) : undefined) ??
          []),
      requestedAt: new Date(r.requestedAt).toISOString(),
      decidedAt: r.decidedAt ? new Date(r.decidedAt).toISOString() : null,
    })),
    total: Number(count.n),
  }
}

/** The units a void or refund concerns: those its payment paid for, else the customer's own. */
async function unitsOf(
  db: Kysely<Database>,
  rows: readonly { paymentId: string | null; customerId: string | null; unitCode: string | null }[],
) {
  const paymentIds = [...new Set(rows.flatMap((r) => (!r.unitCode && r.paymentId ? [r.paymentId] : [])))]
  const byPayment = new Map<string, string[]>()
  if (paymentIds.length > 0) {
    const paid = await db
      .selectFrom('paymentAllocations as pa')
      .innerJoin('receivables as r', 'r.id', 'pa.receivableId')
      .innerJoin('units as u', 'u.id', 'r.unitId')
      .select(['pa.paymentId', 'u.code'])
      .distinct()
      .where('pa.paymentId', '=', anyUuid(paymentIds))
      .where('pa.source', '=', 'payment')
      .orderBy('u.code')
      .execute()
    for (const p of paid)
      if (p.paymentId) byPayment.set(p.paymentId, [...(byPayment.get(p.paymentId) ?? []), p.code])
  }
  const customerIds = [
    ...new Set(
      rows.flatMap((r) =>
        !r.unitCode && r.customerId && !(r.paymentId && byPayment.has(r.paymentId)) ? [r.customerId] : [],
      ),
    ),
  ]
  const byCustomer = new Map<string, string[]>()
  if (customerIds.length > 0) {
    const held = await db
      .selectFrom('occupancies as o')
      .innerJoin('units as u', 'u.id', 'o.unitId')
      .select(['o.customerId', 'u.code'])
      .distinct()
      .where('o.customerId', '=', anyUuid(customerIds))
      .where((eb) => eb.or([eb('o.endDate', 'is', null), eb('o.endDate', '>=', sql<string>`current_date`)]))
      .orderBy('u.code')
      .execute()
    for (const h of held) byCustomer.set(h.customerId, [...(byCustomer.get(h.customerId) ?? []), h.code])
  }
  return { byPayment, byCustomer }
}
