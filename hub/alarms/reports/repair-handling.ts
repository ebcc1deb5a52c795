import { type Kysely, sql } from 'kysely'
import { invalid } from '../../kernel/api-error.ts'
import { Decimal } from '../../kernel/decimal.ts'
import { compactInstant, fileStem, type ReportTable } from '../../reports/report-export.ts'
import { asOfParam, estatesCte, type ReportScope } from '../../reports/report-scope.ts'
import type { Database, WorkOrderStatus } from '../../store/database-schema.ts'
import { workOrderStatuses } from '../alarms-vocabulary.ts'

/** The longest range one report covers (as the collections report). */
export const MAX_REPORT_DAYS = 366

/**
 * `from` and `to` are calendar days (each estate's own), inclusive: `from` not after `to`, and
 * at most MAX_REPORT_DAYS apart. The alarm and work-order reports share this check.
 */
export function checkRange(from: string, to: string): void {
  if (from > to)
    throw invalid('query.from', `must not be after query.to (${to})`, 'range.fromAfterTo', { to })
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1
  if (days > MAX_REPORT_DAYS)
    throw invalid(
      'query.to',
      `the range is ${days} days; one report covers at most ${MAX_REPORT_DAYS}`,
      'range.tooLong',
      { days, max: MAX_REPORT_DAYS },
    )
}

/**
 * Report rows in a fixed order whatever the database's collation: estates as the scope lists
 * them, then texts by code unit, null last.
 */
export function compareRows<T extends { estateId: string }>(
  scope: ReportScope,
  ...keys: ((row: T) => string | null)[]
): (a: T, b: T) => number {
  const rank = new Map(scope.estates.map((e, i) => [e.id, i]))
  return (a, b) => {
    const estate = (rank.get(a.estateId) ?? 0) - (rank.get(b.estateId) ?? 0)
    if (estate !== 0) return estate
    for (const key of keys) {
      const x = key(a)
      const y = key(b)
      if (x === y) continue
      if (x === null) return 1
      if (y === null) return -1
      return x < y ? -1 : 1
    }
    return 0
  }
}

/** A ratio as a string with 4 places, half-up; null when there is nothing to divide by. */
export function ratio(part: number, whole: number): string | null {
  return whole === 0 ? null : Decimal.of(part).div(whole, 4, 'half-up').toFixed(4)
}

/** The report's state columns: every work-order state in flow order. */
export const workOrderStates = workOrderStatuses

export const workOrderStateLabels: Record<WorkOrderStatus, string> = {
  registered: '已登记',
  dispatched: '已分派',
  assigned: '已指派',
  in_progress: '处理中',
  done: '已完成',
  return_visit: '已回访',
  closed: '已关闭',
  cancelled: '已取消',
}

/** The counts behind a row; every rate and the average are made from them. */
interface Counts {
  total: number
  states: Record<WorkOrderStatus, number>
  responseDue: number
  respondedOnTime: number
  completionDue: number
  completedOnTime: number
  completed: number
  visited: number
  satisfied: number
  /** The sum of the visited orders' scores, for the average. */
  scoreSum: number
}

export interface RepairFigures {
  /** Orders registered in the range (by asOf), cancelled ones included. */
  readonly total: number
  /** Orders in each state at asOf. */
  readonly states: Record<WorkOrderStatus, number>
  /** Not cancelled, and due to respond by asOf or responded (dispatched) by it. */
  readonly responseDue: number
  /** Of those, responded at or before their respond-by time. */
  readonly respondedOnTime: number
  /** respondedOnTime ÷ responseDue, 4 places; null when responseDue is 0. */
  readonly responseRate: string | null
  /** Not cancelled, and due to complete by asOf or completed by it. */
  readonly completionDue: number
  readonly completedOnTime: number
  /** 维修及时率: completedOnTime ÷ completionDue, 4 places; null when completionDue is 0. */
  readonly completionRate: string | null
  /** Completed (done) by asOf. */
  readonly completed: number
  /** Return visit (回访) made by asOf. */
  readonly visited: number
  /** 回访率: visited ÷ completed, 4 places; null when nothing was completed. */
  readonly returnVisitRate: string | null
  /** Mean score of the visited orders (1-5), 2 places; null when none was visited. */
  readonly averageSatisfaction: string | null
  /** Visited with a score of 4 or 5. */
  readonly satisfied: number
  /** 满意率: satisfied ÷ visited, 4 places; null when none was visited. */
  readonly satisfactionRate: string | null
}

export interface RepairRow extends RepairFigures {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
  readonly category: string
  /** The department the order was dispatched to by asOf; null: none yet. */
  readonly department: string | null
}

export interface RepairEstateRow extends RepairFigures {
  readonly estateId: string
  readonly estateCode: string
  readonly estateName: string
}

export interface RepairHandling {
  readonly from: string
  readonly to: string
  /** The seed's standards (质量标准) the rates are read against; the response time is in respond-by. */
  readonly targets: {
    readonly responseMinutes: number
    readonly completionRate: string
    readonly returnVisitRate: string
    readonly satisfactionRate: string
  }
  readonly rows: RepairRow[]
  /** Every estate of the report, with or without orders. */
  readonly byEstate: RepairEstateRow[]
  readonly total: RepairFigures
}

export const repairTargets = {
  responseMinutes: 120,
  completionRate: '0.9500',
  returnVisitRate: '1.0000',
  satisfactionRate: '0.9000',
} as const

const emptyCounts = (): Counts => ({
  total: 0,
  states: Object.fromEntries(workOrderStates.map((s) => [s, 0])) as Record<WorkOrderStatus, number>,
  responseDue: 0,
  respondedOnTime: 0,
  completionDue: 0,
  completedOnTime: 0,
  completed: 0,
  visited: 0,
  satisfied: 0,
  scoreSum: 0,
})

function add(into: Counts, c: Counts): void {
  into.total += c.total
  for (const s of workOrderStates) into.states[s] += c.states[s]
  into.responseDue += c.responseDue
  into.respondedOnTime += c.respondedOnTime
  into.completionDue += c.completionDue
  into.completedOnTime += c.completedOnTime
  into.completed += c.completed
  into.visited += c.visited
  into.satisfied += c.satisfied
  into.scoreSum += c.scoreSum
}

function figures(c: Counts): RepairFigures {
  return {
    total: c.total,
    states: { ...c.states },
    responseDue: c.responseDue,
    respondedOnTime: c.respondedOnTime,
    responseRate: ratio(c.respondedOnTime, c.responseDue),
    completionDue: c.completionDue,
    completedOnTime: c.completedOnTime,
    completionRate: ratio(c.completedOnTime, c.completionDue),
    completed: c.completed,
    visited: c.visited,
    returnVisitRate: ratio(c.visited, c.completed),
    averageSatisfaction:
      c.visited === 0 ? null : Decimal.of(c.scoreSum).div(c.visited, 2, 'half-up').toFixed(2),
    satisfied: c.satisfied,
    satisfactionRate: ratio(c.satisfied, c.visited),
  }
}

interface GroupRow {
  estateId: string
  estateCode: string
  estateName: string
  category: string
  department: string | null
  total: number
  registered: number
  dispatched: number
  assigned: number
  inProgress: number
  done: number
  returnVisit: number
  closed: number
  cancelled: number
  responseDue: number
  respondedOnTime: number
  completionDue: number
  completedOnTime: number
  completed: number
  visited: number
  satisfied: number
  scoreSum: number
}

/**
 * 维修处理情况表: work orders registered from `from` to `to` (calendar days in each estate's
 * zone; only orders created by asOf), per estate, category and department, as they stood at
 * asOf. Orders change, so their state at asOf is read from their timeline (work_order_events):
 * the last status change at or before asOf; responded_at and completed_at count only if at or
 * before asOf, a return visit only if its timeline entry is. Cancelled orders (at asOf) are
 * counted in their state column and in `total`, and in no rate.
 */
export async function repairHandling(
  db: Kysely<Database>,
  scope: ReportScope,
  from: string,
  to: string,
): Promise<RepairHandling> {
  checkRange(from, to)
  const asOf = asOfParam(scope)
  const result = await sql<GroupRow>`
    with ${estatesCte(scope)},
    ord as (
      select w.id, w.estate_id, w.category, w.status, w.department, w.alarm_id, w.respond_by, w.complete_by,
        w.responded_at, w.completed_at, w.satisfaction,
        exists (select 1 from work_order_events e where e.work_order_id = w.id and e.to_status is not null)
          as has_timeline,
        exists (select 1 from work_order_events e where e.work_order_id = w.id and e.action = 'dispatch')
          as ever_dispatched
      from work_orders w join est on est.id = w.estate_id
      where w.created_at <= ${asOf}
        and (w.created_at at time zone est.tz)::date between ${from}::date and ${to}::date
    ),
    then_ as (
      select o.*,
        case when o.has_timeline then coalesce(
          (select e.to_status from work_order_events e
            where e.work_order_id = o.id and e.to_status is not null and e.at <= ${asOf}
            order by e.at desc, e.id desc limit 1),
          'registered')
        else o.status end as state,
        coalesce(
          (select nullif(btrim(e.data->>'department'), '') from work_order_events e
            where e.work_order_id = o.id and e.action = 'dispatch' and e.at <= ${asOf}
            order by e.at desc, e.id desc limit 1),
          case when not o.ever_dispatched then o.department
            else (select r.department from alarms a join alarm_rules r on r.id = a.rule_id where a.id = o.alarm_id)
          end
        ) as dept,
        case when o.has_timeline then exists (
          select 1 from work_order_events e where e.work_order_id = o.id and e.action = 'visit' and e.at <= ${asOf})
        else o.satisfaction is not null end as visited,
        o.responded_at is not null and o.responded_at <= ${asOf} as responded,
        o.completed_at is not null and o.completed_at <= ${asOf} as completed
      from ord o
    ),
    f as (select *, state <> 'cancelled' as counted from then_)
    select f.estate_id, e.code as estate_code, e.name as estate_name, f.category, f.dept as department,
      count(*)::int as total,
      count(*) filter (where state = 'registered')::int as registered,
      count(*) filter (where state = 'dispatched')::int as dispatched,
      count(*) filter (where state = 'assigned')::int as assigned,
      count(*) filter (where state = 'in_progress')::int as in_progress,
      count(*) filter (where state = 'done')::int as done,
      count(*) filter (where state = 'return_visit')::int as return_visit,
      count(*) filter (where state = 'closed')::int as closed,
      count(*) filter (where state = 'cancelled')::int as cancelled,
      count(*) filter (where counted and (respond_by <= ${asOf} or responded))::int as response_due,
      count(*) filter (where counted and responded and responded_at <= respond_by)::int as responded_on_time,
      count(*) filter (where counted and (complete_by <= ${asOf} or completed))::int as completion_due,
      count(*) filter (where counted and completed and completed_at <= complete_by)::int as completed_on_time,
      count(*) filter (where counted and completed)::int as completed,
      count(*) filter (where counted and visited)::int as visited,
      count(*) filter (where counted and visited and satisfaction >= 4)::int as satisfied,
      coalesce(sum(satisfaction) filter (where counted and visited), 0)::int as score_sum
    from f join org_nodes e on e.id = f.estate_id
    group by f.estate_id, e.code, e.name, f.category, f.dept`.execute(db)

  const perEstate = new Map(scope.estates.map((e) => [e.id, emptyCounts()]))
  const total = emptyCounts()
  const ordered = [...result.rows].sort(
    compareRows(
      scope,
      (r) => r.category,
      (r) => r.department,
    ),
  )
  const rows: RepairRow[] = ordered.map((r) => {
    const c: Counts = {
      total: r.total,
      states: {
        registered: r.registered,
        dispatched: r.dispatched,
        assigned: r.assigned,
        in_progress: r.inProgress,
        done: r.done,
        return_visit: r.returnVisit,
        closed: r.closed,
        cancelled: r.cancelled,
      },
      responseDue: r.responseDue,
      respondedOnTime: r.respondedOnTime,
      completionDue: r.completionDue,
      completedOnTime: r.completedOnTime,
      completed: r.completed,
      visited: r.visited,
      satisfied: r.satisfied,
      scoreSum: r.scoreSum,
    }
    const estate = perEstate.get(r.estateId)
    if (estate) add(estate, c)
    add(total, c)
    return {
      estateId: r.estateId,
      estateCode: r.estateCode,
      estateName: r.estateName,
      category: r.category,
      department: r.department,
      ...figures(c),
    }
  })
  return {
    from,
    to,
    targets: repairTargets,
    rows,
    byEstate: scope.estates.map((e) => ({
      estateId: e.id,
      estateCode: e.code,
      estateName: e.name,
      ...figures(perEstate.get(e.id) ?? emptyCounts()),
    })),
    total: figures(total),
  }
}

/** No department yet (an order not dispatched by asOf, registered without one). */
export const NO_DEPARTMENT = '未分派'

export function repairHandlingTable(scope: ReportScope, report: RepairHandling): ReportTable {
  const cells = (f: RepairFigures) => [
    f.total,
    ...workOrderStates.map((s) => f.states[s]),
    f.responseDue,
    f.respondedOnTime,
    f.responseRate,
    f.completionDue,
    f.completedOnTime,
    f.completionRate,
    f.completed,
    f.visited,
    f.returnVisitRate,
    f.averageSatisfaction,
    f.satisfied,
    f.satisfactionRate,
  ]
  const subtotals =
    report.byEstate.length > 1 ? report.byEstate.map((e) => ['小计', e.estateName, null, ...cells(e)]) : []
  return {
    title: '维修处理情况表',
    fileStem: fileStem(
      'repair-handling',
      scope.node.code,
      `${report.from}_${report.to}`,
      `asof-${compactInstant(scope.asOf)}`,
    ),
    columns: [
      { header: '管理处', type: 'text' },
      { header: '类别', type: 'text' },
      { header: '部门', type: 'text' },
      { header: '工单数', type: 'integer', width: 8 },
      ...workOrderStates.map((s) => ({
        header: workOrderStateLabels[s],
        type: 'integer' as const,
        width: 8,
      })),
      { header: '应响应数', type: 'integer', width: 10 },
      { header: '按时响应数', type: 'integer', width: 10 },
      { header: '响应及时率', type: 'rate', width: 10 },
      { header: '应完成数', type: 'integer', width: 10 },
      { header: '按时完成数', type: 'integer', width: 10 },
      { header: '维修及时率', type: 'rate', width: 10 },
      { header: '已完成数', type: 'integer', width: 10 },
      { header: '已回访数', type: 'integer', width: 10 },
      { header: '回访率', type: 'rate', width: 10 },
      // A 2-place mean score, not money; 'money' gives the 2-decimal number format.
      { header: '平均满意度', type: 'money', width: 10 },
      { header: '满意数', type: 'integer', width: 8 },
      { header: '满意率', type: 'rate', width: 10 },
    ],
    rows: report.rows.map((r) => [r.estateName, r.category, r.department ?? NO_DEPARTMENT, ...cells(r)]),
    footer: [...subtotals, ['合计', null, null, ...cells(report.total)]],
  }
}
