import { type Kysely, sql } from 'kysely'
import { Decimal } from '../../kernel/decimal.ts'
import { compactInstant, fileStem, methodLabel, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { Database } from '../../store/database-schema.ts'

/** What a line of the day's takings is: money for a fee item, or what was not for bills, or money back. */
export type TakingLine = 'item' | 'prepayment' | 'deposit' | 'void' | 'refund' | 'deposit_refund'

export interface DailyTakingsRow {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  readonly cashierId: string | null
  readonly cashierName: string | null
  readonly method: string | null
  readonly line: TakingLine
  readonly feeItemId: string | null
  readonly feeItemCode: string | null
  readonly feeItemName: string | null
  /** Receipts (or approved voids and refunds) behind the line. */
  readonly documents: number
  readonly amount: string
}

export interface CashierTotal {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  readonly cashierId: string | null
  readonly cashierName: string | null
  readonly method: string | null
  readonly documents: number
  readonly amount: string
}

export interface DailyTakings {
  readonly date: string
  readonly rows: DailyTakingsRow[]
  /** The hand-over (交款): what each cashier should hand in per method. */
  readonly byCashier: CashierTotal[]
  readonly byMethod: { method: string | null; documents: number; amount: string }[]
  readonly documents: number
  readonly total: string
}

export const lineLabels: Record<Exclude<TakingLine, 'item'>, string> = {
  prepayment: '预存款',
  deposit: '押金',
  void: '红冲',
  refund: '退款',
  deposit_refund: '退押金',
}

interface Grouped {
  level: number
  estateId: string | null
  estateCode: string | null
  estateName: string | null
  cashierId: string | null
  cashierName: string | null
  method: string | null
  line: TakingLine | null
  feeItemId: string | null
  feeItemCode: string | null
  feeItemName: string | null
  documents: number
  amount: string
}

/**
 * 日收费明细: the money taken on `date` (each estate's own calendar day, in its time zone) by
 * cashier, method and fee item. A payment counts for the items it was allocated to; what it
 * left over is 预存款 (or 押金 for a deposit). Voids (红冲) and refunds approved that day are
 * negative lines of the cashier who requested them, by the method of the payment they undo, so
 * a cashier's lines per method add up to the cash that should be in the drawer.
 */
export async function dailyTakings(
  db: Kysely<Database>,
  scope: ReportScope,
  date: string,
): Promise<DailyTakings> {
  const asOf = asOfParam(scope)
  const result = await sql<Grouped>`
    with ${estatesCte(scope)},
    pay as (
      select p.id, p.estate_id, p.cashier_id, p.method, p.purpose, p.amount
      from payments p join est on est.id = p.estate_id
      where p.paid_at <= ${asOf} and (p.paid_at at time zone est.tz)::date = ${date}::date
    ),
    alloc as (
      select a.payment_id, r.fee_item_id, a.amount
      from pay join payment_allocations a on a.payment_id = pay.id
      join receivables r on r.id = a.receivable_id
      where a.source = 'payment' and a.created_at <= ${asOf}
    ),
    lines as (
      select pay.estate_id, pay.cashier_id, pay.method, 'item'::text as line, alloc.fee_item_id, alloc.amount,
        pay.id as document_id
      from pay join alloc on alloc.payment_id = pay.id
      union all
      select pay.estate_id, pay.cashier_id, pay.method,
        case when pay.purpose = 'deposit' then 'deposit' else 'prepayment' end, null::uuid,
        pay.amount - coalesce((select sum(alloc.amount) from alloc where alloc.payment_id = pay.id), 0),
        pay.id
      from pay
      union all
      select ap.estate_id, ap.requested_by, p.method, ap.kind, null::uuid, -ap.amount, ap.id
      from approvals ap join est on est.id = ap.estate_id
      left join payments p on p.id = ap.payment_id
      where ap.status = 'approved' and ap.kind in ('void', 'refund', 'deposit_refund')
        and ap.decided_at <= ${asOf} and (ap.decided_at at time zone est.tz)::date = ${date}::date
    ),
    grouped as (
      select grouping(estate_id, cashier_id, method, line, fee_item_id) as level,
        estate_id, cashier_id, method, line, fee_item_id,
        count(distinct document_id)::int as documents, coalesce(sum(amount), 0) as amount
      from lines where amount <> 0
      group by grouping sets (
        (estate_id, cashier_id, method, line, fee_item_id), (estate_id, cashier_id, method), (method), ()
      )
    )
    select g.level, g.estate_id, e.code as estate_code, e.name as estate_name, g.cashier_id,
      coalesce(u.display_name, u.username) as cashier_name, g.method, g.line, g.fee_item_id,
      f.code as fee_item_code, f.name as fee_item_name, g.documents, g.amount::text as amount
    from grouped g
    left join org_nodes e on e.id = g.estate_id
    left join users u on u.id = g.cashier_id
    left join fee_items f on f.id = g.fee_item_id
    order by g.level, e.code, u.username nulls last, g.cashier_id, g.method nulls last,
      case g.line when 'item' then 0 when 'prepayment' then 1 when 'deposit' then 2 else 3 end,
      g.line, f.code`.execute(db)

  const money = (text: string) => Decimal.of(text).toFixed(2)
  // grouping() sets a bit per column left out, the first column the highest bit.
  const detail = result.rows.filter((r) => r.level === 0)
  const cashier = result.rows.filter((r) => r.level === 0b00011)
  const method = result.rows.filter((r) => r.level === 0b11011)
  const total = result.rows.find((r) => r.level === 0b11111)
  return {
    date,
    rows: detail.map((r) => ({
      estateId: r.estateId!,
      estateCode: r.estateCode!,
      estateName: r.estateName!,
      cashierId: r.cashierId,
      cashierName: r.cashierName,
      method: r.method,
      line: r.line!,
      feeItemId: r.feeItemId,
      feeItemCode: r.feeItemCode,
      feeItemName: r.feeItemName,
      documents: r.documents,
      amount: money(r.amount),
    })),
    byCashier: cashier.map((r) => ({
      estateId: r.estateId!,
      estateCode: r.estateCode!,
      estateName: r.estateName!,
      cashierId: r.cashierId,
      cashierName: r.cashierName,
      method: r.method,
      documents: r.documents,
      amount: money(r.amount),
    })),
    byMethod: method.map((r) => ({ method: r.method, documents: r.documents, amount: money(r.amount) })),
    documents: total?.documents ?? 0,
    total: money(total?.amount ?? '0'),
  }
}

export function dailyTakingsTable(scope: ReportScope, report: DailyTakings): ReportTable {
  const itemName = (r: DailyTakingsRow) => (r.line === 'item' ? r.feeItemName : lineLabels[r.line])
  return {
    title: '日收费明细',
    fileStem: fileStem('daily-takings', scope.node.code, report.date, `asof-${compactInstant(scope.asOf)}`),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '收费员', type: 'text' },
      { header: '收款方式', type: 'text', width: 10 },
      { header: '收费项目', type: 'text' },
      { header: '笔数', type: 'integer', width: 8 },
      { header: '金额', type: 'money' },
    ],
    rows: report.rows.map((r) => [
      r.estateName,
      r.cashierName,
      methodLabel(r.method),
      itemName(r),
      r.documents,
      r.amount,
    ]),
    footer: [
      ...report.byCashier.map((c) => [
        c.estateName,
        c.cashierName,
        methodLabel(c.method),
        '小计',
        c.documents,
        c.amount,
      ]),
      ...report.byMethod.map((m) => ['合计', null, methodLabel(m.method), null, m.documents, m.amount]),
      ['总计', null, null, null, report.documents, report.total],
    ],
  }
}
