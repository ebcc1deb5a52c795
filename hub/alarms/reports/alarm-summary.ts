import { type Kysely, sql } from 'kysely'
import { Decimal } from '../../kernel/decimal.ts'
import { compactInstant, fileStem, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { AlarmRuleKind, Database } from '../../store/database-schema.ts'
import { alarmSeverities as severities } from '../alarms-vocabulary.ts'
import { checkRange, compareRows } from './repair-handling.ts'

export { severities }

export const severityLabels: Record<string, string> = {
  critical: '紧急',
  major: '重要',
  minor: '次要',
  info: '提示',
}

/** The class of an alarm whose device has none (or that has no device): its rule's kind. */
export const ruleKindLabels: Record<AlarmRuleKind, string> = {
  event: '事件',
  state: '状态',
  threshold: '越限',
  rate: '变化率',
  offline: '离线',
  reverse_flow: '倒流',
  night_flow: '夜间流量',
}

export interface AlarmFigures {
  /** Alarms raised in the range (by asOf). */
  readonly raised: number
  /** Of those, acknowledged by asOf. */
  readonly acknowledged: number
  /** Mean minutes from raised to acknowledged over the acknowledged ones, 1 place; null if none. */
  readonly meanMinutesToAcknowledge: string | null
  /** Of those raised, not closed at asOf. */
  readonly open: number
}

export interface AlarmRow extends AlarmFigures {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  /** Where the class comes from: the alarm's device (`device_class`), else the rule's kind. */
  readonly classOf: 'device' | 'rule'
  readonly class: string
  readonly severity: string
}

export interface AlarmSummary {
  readonly from: string
  readonly to: string
  readonly rows: AlarmRow[]
  readonly total: AlarmFigures
}

interface GroupRow {
  estateId: string
  estateCode: string
  estateName: string
  classOf: 'device' | 'rule'
  class: string
  severity: string
  raised: number
  acknowledged: number
  /** Sum of the acknowledged ones' raised → acknowledged times, whole milliseconds. */
  ackMs: string
  open: number
}

function figures(raised: number, acknowledged: number, ackMs: bigint, open: number): AlarmFigures {
  return {
    raised,
    acknowledged,
    meanMinutesToAcknowledge:
      acknowledged === 0
        ? null
        : Decimal.of(ackMs)
            .div(acknowledged * 60_000, 1, 'half-up')
            .toFixed(1),
    open,
  }
}

/**
 * 报警统计: alarms raised from `from` to `to` (calendar days in each estate's zone; raised by
 * asOf), per estate, class and severity: how many, how many acknowledged by asOf and how fast
 * (mean time to acknowledge, MTTA), and how many were still open (not closed) at asOf. A
 * flapping signal is one alarm (its occurrences are not counted separately).
 */
export async function alarmSummary(
  db: Kysely<Database>,
  scope: ReportScope,
  from: string,
  to: string,
): Promise<AlarmSummary> {
  checkRange(from, to)
  const asOf = asOfParam(scope)
  const result = await sql<GroupRow>`
    with ${estatesCte(scope)},
    al as (
      select a.estate_id,
        case when nullif(btrim(dv.device_class), '') is null then 'rule' else 'device' end as class_of,
        coalesce(nullif(btrim(dv.device_class), ''), r.kind) as class,
        a.severity, a.raised_at, a.acknowledged_at,
        a.acknowledged_at is not null and a.acknowledged_at <= ${asOf} as acked,
        a.closed_at is null or a.closed_at > ${asOf} as still_open
      from alarms a join est on est.id = a.estate_id
      join alarm_rules r on r.id = a.rule_id
      left join devices dv on dv.id = a.device_id
      where a.raised_at <= ${asOf} and (a.raised_at at time zone est.tz)::date between ${from}::date and ${to}::date
    )
    select al.estate_id, e.code as estate_code, e.name as estate_name, al.class_of, al.class, al.severity,
      count(*)::int as raised,
      count(*) filter (where acked)::int as acknowledged,
      coalesce(sum(round(extract(epoch from (acknowledged_at - raised_at)) * 1000)) filter (where acked), 0)::bigint::text
        as ack_ms,
      count(*) filter (where still_open)::int as open
    from al join org_nodes e on e.id = al.estate_id
    group by al.estate_id, e.code, e.name, al.class_of, al.class, al.severity`.execute(db)

  const rank = (severity: string) => {
    const i = (severities as readonly string[]).indexOf(severity)
    return i < 0 ? `${severities.length}${severity}` : String(i)
  }
  const ordered = [...result.rows].sort(
    compareRows(
      scope,
      (r) => r.classOf,
      (r) => r.class,
      (r) => rank(r.severity),
    ),
  )
  let raised = 0
  let acknowledged = 0
  let ackMs = 0n
  let open = 0
  const rows = ordered.map((r) => {
    raised += r.raised
    acknowledged += r.acknowledged
    ackMs += BigInt(r.ackMs)
    open += r.open
    return {
      estateId: r.estateId,
      estateCode: r.estateCode,
      estateName: r.estateName,
      classOf: r.classOf,
      class: r.class,
      severity: r.severity,
      ...figures(r.raised, r.acknowledged, BigInt(r.ackMs), r.open),
    }
  })
  return { from, to, rows, total: figures(raised, acknowledged, ackMs, open) }
}

export function alarmSummaryTable(scope: ReportScope, report: AlarmSummary): ReportTable {
  const cells = (f: AlarmFigures) => [f.raised, f.acknowledged, f.meanMinutesToAcknowledge, f.open]
  return {
    title: '报警统计',
    fileStem: fileStem(
      'alarm-summary',
      scope.node.code,
      `${report.from}_${report.to}`,
      `asof-${compactInstant(scope.asOf)}`,
    ),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '类别', type: 'text' },
      { header: '级别', type: 'text', width: 8 },
      { header: '报警数', type: 'integer', width: 10 },
      { header: '已确认数', type: 'integer', width: 10 },
      // Minutes with 1 place: exported as a number like the money columns (display only).
      { header: '平均确认时间(分钟)', type: 'money', width: 18 },
      { header: '未关闭数', type: 'integer', width: 10 },
    ],
    rows: report.rows.map((r) => [
      r.estateName,
      r.classOf === 'rule' ? (ruleKindLabels[r.class as AlarmRuleKind] ?? r.class) : r.class,
      severityLabels[r.severity] ?? r.severity,
      ...cells(r),
    ]),
    footer: [['合计', null, null, ...cells(report.total)]],
  }
}
