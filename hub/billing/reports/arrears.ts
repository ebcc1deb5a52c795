import { type Kysely, sql } from 'kysely'
import { Decimal } from '../../kernel/decimal.ts'
import { compactInstant, fileStem, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { Database, ReceivableKind } from '../../store/database-schema.ts'

export const buckets = ['not due', '0-30', '31-90', '91-180', '181-365', '>365'] as const
export type Bucket = (typeof buckets)[number]

export const bucketLabels: Record<Bucket, string> = {
  'not due': '未到期',
  '0-30': '0-30天',
  '31-90': '31-90天',
  '91-180': '91-180天',
  '181-365': '181-365天',
  '>365': '365天以上',
}

export const receivableKindLabels: Record<ReceivableKind, string> = {
  charge: '应收',
  correction: '更正',
  late_fee: '滞纳金',
  adjustment: '调整',
}

/** Ageing by whole days past the due date; on the due date itself a line is 0 days overdue. */
export function bucketOf(daysPastDue: number): Bucket {
  if (daysPastDue < 0) return 'not due'
  if (daysPastDue <= 30) return '0-30'
  if (daysPastDue <= 90) return '31-90'
  if (daysPastDue <= 180) return '91-180'
  if (daysPastDue <= 365) return '181-365'
  return '>365'
}

export interface ArrearsRow {
  readonly receivableId: string
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  readonly customerId: string
  readonly customerCode: string
  readonly customerName: string
  readonly unitId: string | null
  readonly unitCode: string | null
  readonly feeItemId: string
  readonly feeItemCode: string
  readonly feeItemName: string
  readonly kind: ReceivableKind
  readonly period: string | null
  readonly dueDate: string
  /** The line's amount with its corrections and adjustments issued by asOf. */
  readonly billed: string
  /** Allocated to it (and its corrections) by asOf, reversals (红冲) deducted. */
  readonly paid: string
  readonly open: string
  /** Days past the due date at asOf (in the estate's time zone); 0 when not yet due. */
  readonly daysOverdue: number
  readonly bucket: Bucket
}

export interface Arrears {
  readonly rows: ArrearsRow[]
  readonly buckets: { bucket: Bucket; lines: number; amount: string }[]
  readonly lines: number
  readonly total: string
}

interface Row extends Omit<ArrearsRow, 'daysOverdue' | 'bucket'> {
  days: number
}

/**
 * 欠费明细表: every receivable with an open balance at asOf. A line's balance is its amount plus
 * the corrections and adjustments that reference it, less what was allocated to them, each
 * counted only if issued or allocated by asOf. Its age is asOf's calendar date in the estate's
 * time zone less the due date.
 */
export async function arrears(db: Kysely<Database>, scope: ReportScope): Promise<Arrears> {
  const asOf = asOfParam(scope)
  const result = await sql<Row>`
    with ${estatesCte(scope)},
    family as (
      select coalesce(r.corrects_id, r.id) as root_id, r.id, r.amount
      from receivables r join est on est.id = r.estate_id
      where r.issued_at <= ${asOf}
    ),
    billed as (select root_id, sum(amount) as amount from family group by root_id),
    paid as (
      select f.root_id, sum(a.amount) as amount
      from family f join payment_allocations a on a.receivable_id = f.id
      where a.created_at <= ${asOf}
      group by f.root_id
    )
    select r.id as receivable_id, r.estate_id, e.code as estate_code, e.name as estate_name,
      r.customer_id, c.code as customer_code, c.name as customer_name, r.unit_id, u.code as unit_code,
      r.fee_item_id, f.code as fee_item_code, f.name as fee_item_name, r.kind, r.period,
      r.due_date::text as due_date, b.amount::text as billed, coalesce(p.amount, 0)::text as paid,
      (b.amount - coalesce(p.amount, 0))::text as open,
      ((${asOf} at time zone est.tz)::date - r.due_date)::int as days
    from receivables r
    join est on est.id = r.estate_id
    join billed b on b.root_id = r.id
    left join paid p on p.root_id = r.id
    join org_nodes e on e.id = r.estate_id
    join customers c on c.id = r.customer_id
    left join units u on u.id = r.unit_id
    join fee_items f on f.id = r.fee_item_id
    where r.corrects_id is null and r.issued_at <= ${asOf} and b.amount - coalesce(p.amount, 0) > 0
    order by e.code, c.code, r.due_date, f.code, r.period, r.issued_at, r.id`.execute(db)

  const rows: ArrearsRow[] = result.rows.map(({ days, ...r }) => ({
    ...r,
    billed: Decimal.of(r.billed).toFixed(2),
    paid: Decimal.of(r.paid).toFixed(2),
    open: Decimal.of(r.open).toFixed(2),
    daysOverdue: Math.max(0, days),
    bucket: bucketOf(days),
  }))
  // Sums of exact decimal strings (BigInt based: no float touches them).
  const totals = new Map<Bucket, { lines: number; amount: Decimal }>(
    buckets.map((b) => [b, { lines: 0, amount: Decimal.ZERO }]),
  )
  let total = Decimal.ZERO
  for (const r of rows) {
    const t = totals.get(r.bucket)!
    t.lines += 1
    t.amount = t.amount.plus(r.open)
    total = total.plus(r.open)
  }
  return {
    rows,
    buckets: buckets.map((bucket) => {
      const t = totals.get(bucket)!
      return { bucket, lines: t.lines, amount: t.amount.toFixed(2) }
    }),
    lines: rows.length,
    total: total.toFixed(2),
  }
}

export function arrearsTable(scope: ReportScope, report: Arrears): ReportTable {
  const blank = (n: number) => Array.from({ length: n }, () => null)
  return {
    title: '欠费明细表',
    fileStem: fileStem('arrears', scope.node.code, `asof-${compactInstant(scope.asOf)}`),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '客户编号', type: 'text' },
      { header: '客户名称', type: 'text' },
      { header: '房号', type: 'text' },
      { header: '收费项目', type: 'text' },
      { header: '类型', type: 'text', width: 8 },
      { header: '账期', type: 'text', width: 10 },
      { header: '应缴日期', type: 'text', width: 12 },
      { header: '应收金额', type: 'money' },
      { header: '已收金额', type: 'money' },
      { header: '欠费金额', type: 'money' },
      { header: '逾期天数', type: 'integer', width: 10 },
      { header: '账龄', type: 'text', width: 12 },
    ],
    rows: report.rows.map((r) => [
      r.estateName,
      r.customerCode,
      r.customerName,
      r.unitCode,
      r.feeItemName,
      receivableKindLabels[r.kind],
      r.period,
      r.dueDate,
      r.billed,
      r.paid,
      r.open,
      r.daysOverdue,
      bucketLabels[r.bucket],
    ]),
    footer: [
      ...report.buckets.map((b) => ['合计', ...blank(9), b.amount, null, bucketLabels[b.bucket]]),
      ['总计', ...blank(9), report.total, null, null],
    ],
  }
}
