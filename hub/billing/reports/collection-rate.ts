import { type Kysely, sql } from 'kysely'
import { Decimal } from '../../kernel/decimal.ts'
import { compactInstant, fileStem, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { Database } from '../../store/database-schema.ts'

export interface RateFigures {
  /** Lines issued for the period (charges and standalone adjustments; their corrections fold in). */
  readonly receivables: number
  readonly billed: string
  readonly collected: string
  readonly outstanding: string
  /** collected ÷ billed, 4 places half-up; null when nothing was billed. */
  readonly rate: string | null
}

export interface CollectionRateRow extends RateFigures {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
}

export interface CollectionRate {
  readonly period: string
  readonly rows: CollectionRateRow[]
  readonly total: RateFigures
}

function figures(receivables: number, billed: Decimal, collected: Decimal): RateFigures {
  return {
    receivables,
    billed: billed.toFixed(2),
    collected: collected.toFixed(2),
    outstanding: billed.minus(collected).toFixed(2),
    rate: billed.isZero() ? null : collected.div(billed, 4, 'half-up').toFixed(4),
  }
}

/**
 * 收缴率 for a period: of what was billed for the period's receivables (charges, with their
 * corrections and adjustments, issued by asOf), how much was collected (allocations to them made
 * by asOf, voids deducted). Late fees (滞纳金) and their waivers are not part of it: the rate
 * measures the fees themselves. Every estate of the report has a row, and the total is the
 * rate of the sums, not an average of rates.
 */
export async function collectionRate(
  db: Kysely<Database>,
  scope: ReportScope,
  period: string,
): Promise<CollectionRate> {
  const asOf = asOfParam(scope)
  const result = await sql<{
    estateId: string
    estateCode: string
    estateName: string
    receivables: number
    billed: string
    collected: string
  }>`
    with ${estatesCte(scope)},
    lines as (
      select r.id, r.estate_id, r.amount, r.corrects_id
      from receivables r join est on est.id = r.estate_id
      left join receivables root on root.id = r.corrects_id
      where coalesce(root.period, r.period) = ${period} and coalesce(root.kind, r.kind) <> 'late_fee'
        and r.issued_at <= ${asOf}
    ),
    billed as (
      select estate_id, count(*) filter (where corrects_id is null)::int as receivables, sum(amount) as amount
      from lines group by estate_id
    ),
    collected as (
      select l.estate_id, sum(a.amount) as amount
      from lines l join payment_allocations a on a.receivable_id = l.id
      where a.created_at <= ${asOf}
      group by l.estate_id
    )
    select e.id as estate_id, e.code as estate_code, e.name as estate_name,
      coalesce(b.receivables, 0) as receivables, coalesce(b.amount, 0)::text as billed,
      coalesce(c.amount, 0)::text as collected
    from est join org_nodes e on e.id = est.id
    left join billed b on b.estate_id = est.id
    left join collected c on c.estate_id = est.id
    order by e.code, e.id`.execute(db)

  let receivables = 0
  let billed = Decimal.ZERO
  let collected = Decimal.ZERO
  const rows = result.rows.map((r) => {
    receivables += r.receivables
    billed = billed.plus(r.billed)
    collected = collected.plus(r.collected)
    return {
      estateId: r.estateId,
      estateCode: r.estateCode,
      estateName: r.estateName,
      ...figures(r.receivables, Decimal.of(r.billed), Decimal.of(r.collected)),
    }
  })
  return { period, rows, total: figures(receivables, billed, collected) }
}

export function collectionRateTable(scope: ReportScope, report: CollectionRate): ReportTable {
  const cells = (f: RateFigures) => [f.receivables, f.billed, f.collected, f.outstanding, f.rate]
  return {
    title: '收缴率',
    fileStem: fileStem(
      'collection-rate',
      scope.node.code,
      report.period,
      `asof-${compactInstant(scope.asOf)}`,
    ),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '账期', type: 'text', width: 10 },
      { header: '应收笔数', type: 'integer', width: 10 },
      { header: '应收金额', type: 'money' },
      { header: '实收金额', type: 'money' },
      { header: '未收金额', type: 'money' },
      { header: '收缴率', type: 'rate', width: 10 },
    ],
    rows: report.rows.map((r) => [r.estateName, report.period, ...cells(r)]),
    footer: [['合计', report.period, ...cells(report.total)]],
  }
}
