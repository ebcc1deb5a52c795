import { type Kysely, sql } from 'kysely'
import { invalid } from '../../kernel/api-error.ts'
import { Decimal } from '../../kernel/decimal.ts'
import { compactInstant, fileStem, methodLabel, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { Database } from '../../store/database-schema.ts'

export type CollectionKind = 'payment' | 'void' | 'refund' | 'deposit_refund'

export interface ItemAmount {
  readonly feeItemId: string
  readonly feeItemCode: string
  readonly feeItemName: string
  readonly amount: string
}

export interface CollectionRow {
  /** A payment (收款), or an approved void (红冲) or refund: a negative row on the day it was decided. */
  readonly kind: CollectionKind
  /** The payment's id, or the approval's. */
  readonly documentId: string
  readonly paymentId: string | null
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  readonly receiptNo: string | null
  readonly at: string
  /** The time in the estate's time zone, 'YYYY-MM-DD HH:MM:SS'. */
  readonly localTime: string
  readonly customerId: string | null
  readonly customerCode: string | null
  readonly customerName: string | null
  readonly units: string[]
  readonly method: string | null
  readonly reference: string | null
  readonly cashierId: string | null
  readonly cashierName: string | null
  readonly amount: string
  readonly allocations: ItemAmount[]
  /** What was not for bills: kept as prepayment (预存款), or a deposit (押金). */
  readonly toPrepayment: string
  readonly toDeposit: string
  /** The reason given for a void or refund. */
  readonly note: string | null
}

export interface Collections {
  readonly from: string
  readonly to: string
  readonly rows: CollectionRow[]
  readonly byMethod: { method: string | null; amount: string }[]
  readonly byItem: { feeItemName: string; amount: string }[]
  readonly toPrepayment: string
  readonly toDeposit: string
  readonly total: string
}

export const collectionKindLabels: Record<CollectionKind, string> = {
  payment: '收款',
  void: '红冲',
  refund: '退款',
  deposit_refund: '退押金',
}

/** The longest range one report covers. */
export const MAX_COLLECTION_DAYS = 366

interface DocumentRow {
  kind: CollectionKind
  documentId: string
  paymentId: string | null
  estateId: string
  estateCode: string
  estateName: string
  receiptNo: string | null
  at: Date
  localTime: string
  customerId: string | null
  customerCode: string | null
  customerName: string | null
  purpose: 'bills' | 'deposit' | null
  method: string | null
  reference: string | null
  cashierId: string | null
  cashierName: string | null
  amount: string
  unallocated: string
  note: string | null
}

/**
 * 收款明细表: one row per payment taken from `from` to `to` (each estate's calendar days), with
 * what it paid per fee item and what it left as prepayment or deposit; voids (红冲) and refunds
 * approved in the range are negative rows of their own, so the columns add up to the money kept.
 */
export async function collections(
  db: Kysely<Database>,
  scope: ReportScope,
  from: string,
  to: string,
): Promise<Collections> {
  if (from > to)
    throw invalid('query.from', `must not be after query.to (${to})`, 'range.fromAfterTo', { to })
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1
  if (days > MAX_COLLECTION_DAYS)
    throw invalid(
      'query.to',
      `the range is ${days} days; one report covers at most ${MAX_COLLECTION_DAYS}`,
      'range.tooLong',
      { days, max: MAX_COLLECTION_DAYS },
    )
  const asOf = asOfParam(scope)
  const ctes = sql`
    with ${estatesCte(scope)},
    pay as (
      select p.id, p.estate_id, p.customer_id, p.purpose, p.method, p.reference, p.amount, p.receipt_no,
        p.cashier_id, p.paid_at, est.tz
      from payments p join est on est.id = p.estate_id
      where p.paid_at <= ${asOf} and (p.paid_at at time zone est.tz)::date between ${from}::date and ${to}::date
    ),
    rev as (
      select ap.id, ap.kind, ap.estate_id, ap.payment_id, ap.customer_id, ap.requested_by, ap.amount, ap.reason,
        ap.decided_at, est.tz
      from approvals ap join est on est.id = ap.estate_id
      where ap.status = 'approved' and ap.kind in ('void', 'refund', 'deposit_refund') and ap.decided_at <= ${asOf}
        and (ap.decided_at at time zone est.tz)::date between ${from}::date and ${to}::date
    ),
    docs as (
      select 'payment'::text as kind, pay.id as document_id, pay.id as payment_id, pay.estate_id, pay.customer_id,
        pay.purpose, pay.method, pay.reference, pay.receipt_no, pay.cashier_id, pay.amount, pay.paid_at as at,
        pay.tz, null::text as note
      from pay
      union all
      select rev.kind, rev.id, rev.payment_id, rev.estate_id, coalesce(p.customer_id, rev.customer_id), p.purpose,
        p.method, p.reference, p.receipt_no, rev.requested_by, -rev.amount, rev.decided_at, rev.tz, rev.reason
      from rev left join payments p on p.id = rev.payment_id
    ),
    doc_alloc as (
      select pay.id as document_id, r.fee_item_id, r.unit_id, a.amount
      from pay join payment_allocations a on a.payment_id = pay.id join receivables r on r.id = a.receivable_id
      where a.source = 'payment' and a.created_at <= ${asOf}
      union all
      select rev.id, r.fee_item_id, r.unit_id, a.amount
      from rev join payment_allocations a on a.payment_id = rev.payment_id join receivables r on r.id = a.receivable_id
      where rev.kind = 'void' and a.source = 'reversal' and a.created_at <= ${asOf}
    )`
  const documents = await sql<DocumentRow>`${ctes}
    select d.kind, d.document_id, d.payment_id, d.estate_id, e.code as estate_code, e.name as estate_name,
      d.receipt_no, d.at, to_char(d.at at time zone d.tz, 'YYYY-MM-DD HH24:MI:SS') as local_time,
      d.customer_id, c.code as customer_code, c.name as customer_name, d.purpose, d.method, d.reference,
      d.cashier_id, coalesce(u.display_name, u.username) as cashier_name, d.amount::text as amount,
      (d.amount - coalesce((select sum(x.amount) from doc_alloc x where x.document_id = d.document_id), 0))::text
        as unallocated,
      d.note
    from docs d
    join org_nodes e on e.id = d.estate_id
    left join customers c on c.id = d.customer_id
    left join users u on u.id = d.cashier_id
    order by d.at, e.code, d.receipt_no, d.kind, d.document_id`.execute(db)
  const items = await sql<{
    documentId: string
    feeItemId: string
    feeItemCode: string
    feeItemName: string
    amount: string
  }>`${ctes}
    select x.document_id, x.fee_item_id, f.code as fee_item_code, f.name as fee_item_name,
      sum(x.amount)::text as amount
    from doc_alloc x join fee_items f on f.id = x.fee_item_id
    group by x.document_id, x.fee_item_id, f.code, f.name
    order by f.code, f.name`.execute(db)
  const units = await sql<{ documentId: string; code: string }>`${ctes}
    select distinct x.document_id, u.code from doc_alloc x join units u on u.id = x.unit_id
    order by u.code`.execute(db)

  const itemsOf = group(items.rows, (r) => r.documentId)
  const unitsOf = group(units.rows, (r) => r.documentId)
  const rows: CollectionRow[] = documents.rows.map((d) => {
    const unallocated = Decimal.of(d.unallocated).toFixed(2)
    const toDeposit = d.kind === 'deposit_refund' || (d.kind !== 'refund' && d.purpose === 'deposit')
    return {
      kind: d.kind,
      documentId: d.documentId,
      paymentId: d.paymentId,
      estateId: d.estateId,
      estateCode: d.estateCode,
      estateName: d.estateName,
      receiptNo: d.receiptNo,
      at: new Date(d.at).toISOString(),
      localTime: d.localTime,
      customerId: d.customerId,
      customerCode: d.customerCode,
      customerName: d.customerName,
      units: (unitsOf.get(d.documentId) ?? []).map((u) => u.code),
      method: d.method,
      reference: d.reference,
      cashierId: d.cashierId,
      cashierName: d.cashierName,
      amount: Decimal.of(d.amount).toFixed(2),
      allocations: (itemsOf.get(d.documentId) ?? []).map((i) => ({
        feeItemId: i.feeItemId,
        feeItemCode: i.feeItemCode,
        feeItemName: i.feeItemName,
        amount: Decimal.of(i.amount).toFixed(2),
      })),
      toPrepayment: toDeposit ? '0.00' : unallocated,
      toDeposit: toDeposit ? unallocated : '0.00',
      note: d.note,
    }
  })

  // Totals of exact decimal strings (BigInt based: no float touches them).
  const byMethod = new Map<string | null, Decimal>()
  const byItem = new Map<string, Decimal>()
  let prepayment = Decimal.ZERO
  let deposit = Decimal.ZERO
  let total = Decimal.ZERO
  for (const r of rows) {
    byMethod.set(r.method, (byMethod.get(r.method) ?? Decimal.ZERO).plus(r.amount))
    for (const a of r.allocations)
      byItem.set(a.feeItemName, (byItem.get(a.feeItemName) ?? Decimal.ZERO).plus(a.amount))
    prepayment = prepayment.plus(r.toPrepayment)
    deposit = deposit.plus(r.toDeposit)
    total = total.plus(r.amount)
  }
  return {
    from,
    to,
    rows,
    byMethod: [...byMethod].map(([method, amount]) => ({ method, amount: amount.toFixed(2) })),
    byItem: [...byItem].map(([feeItemName, amount]) => ({ feeItemName, amount: amount.toFixed(2) })),
    toPrepayment: prepayment.toFixed(2),
    toDeposit: deposit.toFixed(2),
    total: total.toFixed(2),
  }
}

function group<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>()
  for (const row of rows) {
    const list = map.get(key(row)) ?? []
    list.push(row)
    map.set(key(row), list)
  }
  return map
}

/** Fee items become columns (by name: estates of a company name the same item alike). */
export function collectionsTable(scope: ReportScope, report: Collections): ReportTable {
  const itemNames = report.byItem.map((i) => i.feeItemName)
  const itemCells = (allocations: readonly ItemAmount[]) =>
    itemNames.map((name) => {
      const sum = allocations
        .filter((a) => a.feeItemName === name)
        .reduce<Decimal | null>((s, a) => (s ?? Decimal.ZERO).plus(a.amount), null)
      return sum === null ? null : sum.toFixed(2)
    })
  const methodTotals = report.byMethod.map((m) => [
    '合计',
    null,
    null,
    null,
    null,
    null,
    methodLabel(m.method),
    null,
    null,
    null,
    m.amount,
    ...itemNames.map(() => null),
    null,
    null,
    null,
  ])
  return {
    title: '收款明细表',
    fileStem: fileStem(
      'collections',
      scope.node.code,
      `${report.from}_${report.to}`,
      `asof-${compactInstant(scope.asOf)}`,
    ),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '收据号', type: 'text', width: 20 },
      { header: '收款时间', type: 'text', width: 20 },
      { header: '客户编号', type: 'text' },
      { header: '客户名称', type: 'text' },
      { header: '房号', type: 'text' },
      { header: '收款方式', type: 'text', width: 10 },
      { header: '交易参考号', type: 'text', width: 20 },
      { header: '收费员', type: 'text' },
      { header: '类型', type: 'text', width: 8 },
      { header: '金额', type: 'money' },
      ...itemNames.map((name) => ({ header: name, type: 'money' as const })),
      { header: '预存款', type: 'money' },
      { header: '押金', type: 'money' },
      { header: '备注', type: 'text', width: 24 },
    ],
    rows: report.rows.map((r) => [
      r.estateName,
      r.receiptNo,
      r.localTime,
      r.customerCode,
      r.customerName,
      r.units.join('、'),
      methodLabel(r.method),
      r.reference,
      r.cashierName,
      collectionKindLabels[r.kind],
      r.amount,
      ...itemCells(r.allocations),
      r.toPrepayment,
      r.toDeposit,
      r.note,
    ]),
    footer: [
      ...methodTotals,
      [
        '总计',
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        report.total,
        ...report.byItem.map((i) => i.amount),
        report.toPrepayment,
        report.toDeposit,
        null,
      ],
    ],
  }
}
