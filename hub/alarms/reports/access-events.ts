import { type Kysely, sql } from 'kysely'
import { compactInstant, fileStem, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { Database } from '../../store/database-schema.ts'
import { checkRange, compareRows } from './repair-handling.ts'

/** The access types the report counts (state changes and generic alarms are not access events). */
export const accessTypes = ['granted', 'denied', 'forced', 'held_open', 'tamper', 'alarm_input'] as const
export type AccessType = (typeof accessTypes)[number]

export const accessTypeLabels: Record<AccessType, string> = {
  granted: '通行',
  denied: '拒绝',
  forced: '强行开门',
  held_open: '门长开',
  tamper: '防拆',
  alarm_input: '报警输入',
}

export interface AccessCounts {
  readonly granted: number
  readonly denied: number
  readonly forced: number
  readonly heldOpen: number
  readonly tamper: number
  readonly alarmInput: number
  /** The six types together. */
  readonly total: number
}

export interface AccessRow extends AccessCounts {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  /** The door: `<controller or device>/<door>`, as the gateway reports it. */
  readonly source: string
}

export interface AccessEvents {
  readonly from: string
  readonly to: string
  readonly rows: AccessRow[]
  readonly total: AccessCounts
}

const keys = ['granted', 'denied', 'forced', 'heldOpen', 'tamper', 'alarmInput'] as const

type CountRow = { estateId: string; estateCode: string; estateName: string; source: string } & Record<
  (typeof keys)[number],
  number
>

/**
 * 门禁事件统计: access events that happened from `from` to `to` (their device time, `ts`, as a
 * calendar day in each estate's zone) and reached the hub by asOf, per estate and door, with a
 * count per type. Replayed (historical) events count: they happened in the range all the same.
 */
export async function accessEvents(
  db: Kysely<Database>,
  scope: ReportScope,
  from: string,
  to: string,
): Promise<AccessEvents> {
  checkRange(from, to)
  const asOf = asOfParam(scope)
  const result = await sql<CountRow>`
    with ${estatesCte(scope)}
    select d.estate_id, e.code as estate_code, e.name as estate_name, d.source,
      count(*) filter (where d.type = 'granted')::int as granted,
      count(*) filter (where d.type = 'denied')::int as denied,
      count(*) filter (where d.type = 'forced')::int as forced,
      count(*) filter (where d.type = 'held_open')::int as held_open,
      count(*) filter (where d.type = 'tamper')::int as tamper,
      count(*) filter (where d.type = 'alarm_input')::int as alarm_input
    from device_events d join est on est.id = d.estate_id join org_nodes e on e.id = d.estate_id
    where d.type in (${sql.join([...accessTypes])}) and d.received_at <= ${asOf} -- bounded: five event types
      and (d.ts at time zone est.tz)::date between ${from}::date and ${to}::date
    group by d.estate_id, e.code, e.name, d.source`.execute(db)

  const sum = Object.fromEntries(keys.map((k) => [k, 0])) as Record<(typeof keys)[number], number>
  const rows = [...result.rows].sort(compareRows(scope, (r) => r.source)).map((r) => {
    for (const k of keys) sum[k] += r[k]
    return {
      estateId: r.estateId,
      estateCode: r.estateCode,
      estateName: r.estateName,
      source: r.source,
      ...countsOf(r),
    }
  })
  return { from, to, rows, total: countsOf(sum) }
}

function countsOf(c: Record<(typeof keys)[number], number>): AccessCounts {
  return {
    granted: c.granted,
    denied: c.denied,
    forced: c.forced,
    heldOpen: c.heldOpen,
    tamper: c.tamper,
    alarmInput: c.alarmInput,
    total: keys.reduce((s, k) => s + c[k], 0),
  }
}

export function accessEventsTable(scope: ReportScope, report: AccessEvents): ReportTable {
  const cells = (c: AccessCounts) => [...keys.map((k) => c[k]), c.total]
  return {
    title: '门禁事件统计',
    fileStem: fileStem(
      'access-events',
      scope.node.code,
      `${report.from}_${report.to}`,
      `asof-${compactInstant(scope.asOf)}`,
    ),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '门/通道', type: 'text', width: 28 },
      ...accessTypes.map((t) => ({ header: accessTypeLabels[t], type: 'integer' as const, width: 10 })),
      { header: '合计', type: 'integer', width: 10 },
    ],
    rows: report.rows.map((r) => [r.estateName, r.source, ...cells(r)]),
    footer: [['合计', null, ...cells(report.total)]],
  }
}
