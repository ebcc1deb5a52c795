import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { type TSchema, Type } from 'typebox'
import { alarmSeverities } from '../alarms/alarm-rule-resource.ts'
import { slaState } from '../alarms/work-order-flow.ts'
import { collectionRate } from '../billing/reports/collection-rate.ts'
import { estatePresence } from '../devices/presence-routes.ts'
import { Decimal } from '../kernel/decimal.ts'
import { DecimalOut, errorReplies, Id, Nullable, Timestamp } from '../kernel/schema-parts.ts'
import { lastClosedPeriod, periodBounds, shiftPeriod } from '../metering/cutoff.ts'
import {
  DEFAULT_TIME_ZONE,
  loadMeters,
  loadSettings,
  replacementsBetween,
  samplesAround,
} from '../metering/meter-read-inputs.ts'
import { periodConsumption } from '../metering/period-consumption.ts'
import { readingAtCutoff } from '../metering/read-at-cutoff.ts'
import { asOfParam, estatesCte, type ReportScope, reportScope } from '../reports/report-scope.ts'
import type { Database, WorkOrderStatus } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'

/** Work-order states that are still open (not closed, not cancelled), in flow order. */
export const openWorkOrderStates = [
  'registered',
  'dispatched',
  'assigned',
  'in_progress',
  'done',
  'return_visit',
] as const satisfies readonly WorkOrderStatus[]
type OpenState = (typeof openWorkOrderStates)[number]
type Severity = (typeof alarmSeverities)[number]

const counts = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>
const q = (params: Record<string, string>) => new URLSearchParams(params).toString()

// ---------------------------------------------------------------------------------------------
// Energy this month vs the same span of last month, from the counters' readings.

export interface EnergySpan {
  readonly from: string
  readonly to: string
  readonly kWh: string
}

export interface EstateEnergy {
  /** The metering period `thisMonth` lies in (YYYY-MM; its cut-off is still ahead). */
  readonly period: string
  readonly thisMonth: EnergySpan
  readonly lastMonth: EnergySpan
  /** (this − last) ÷ last × 100, one place; null when last month is 0. */
  readonly changePercent: string | null
  /** Top-level electricity meters with a point whose four readings were found. */
  readonly meters: number
  /** Top-level electricity meters with a point and a reading missing at one of the instants. */
  readonly metersWithoutReadings: number
}

function changePercent(now: Decimal, before: Decimal): string | null {
  return before.isZero() ? null : now.minus(before).times(100).div(before, 1, 'half-up').toFixed(1)
}

/**
 * The estate's electricity intake (its top-level electricity meters, those with no parent
 * meter and a point: building masters, or unit meters where there is no master) from the
 * start of the current metering period (the last cut-off; the 1st at 00:00 local without a
 * cut-off day) to `now`, and over the same length of time from the start of the previous
 * period (at most to its cut-off). Each register value is read at the instant as a meter read
 * reads its cut-off (readingAtCutoff: exact, interpolated between the good readings either
 * side, or the nearest within the estate's window); at `now` that is the newest good reading.
 * Advances count rollover, replacements and the multiplier (periodConsumption). A meter
 * missing a value at any of the four instants is left out of both spans, so they compare the
 * same meters.
 */
export async function energyToDate(
  db: Kysely<Database>,
  estateId: string,
  now: number,
): Promise<EstateEnergy> {
  const settings = await loadSettings(db, estateId)
  const closed = lastClosedPeriod(now, settings.timeZone, settings.cutoffDay)
  const period = shiftPeriod(closed, 1)
  const thisStart = periodBounds(period, settings.timeZone, settings.cutoffDay).start
  const lastStart = periodBounds(closed, settings.timeZone, settings.cutoffDay).start
  const lastEnd = Math.min(lastStart + (now - thisStart), thisStart)
  const intake = await db
    .selectFrom('meters')
    .select('id')
    .where('estateId', '=', estateId)
    .where('kind', '=', 'electricity')
    .where('parentMeterId', 'is', null)
    .where('pointId', 'is not', null)
    .where('status', '=', 'active')
    .execute()
  const meters =
    intake.length === 0
      ? []
      : await loadMeters(
          db,
          estateId,
          intake.map((m) => m.id),
        )
  const pointIds = meters.map((m) => m.pointId!)
  const instants = [lastStart, lastEnd, thisStart, now]
  const [samples, replacements] = await Promise.all([
    Promise.all(instants.map((at) => samplesAround(db, pointIds, at, settings.windowMs))),
    replacementsBetween(
      db,
      meters.map((m) => m.id),
      lastStart,
      now,
    ),
  ])
  let thisMonth = Decimal.ZERO
  let lastMonth = Decimal.ZERO
  let found = 0
  for (const meter of meters) {
    const values = instants.map((at, i) => {
      const around = samples[i]!.get(meter.pointId!) ?? {}
      return readingAtCutoff({
        ...around,
        cutoff: at,
        windowMs: settings.windowMs,
        decimals: meter.decimals,
        ...(meter.registerCapacity === null ? {} : { registerCapacity: meter.registerCapacity }),
      })?.value
    })
    if (values.some((v) => v === undefined)) continue
    const advance = (from: number, to: number, previous: string, current: string) =>
      periodConsumption({
        previous,
        current,
        multiplier: meter.multiplier,
        ...(meter.registerCapacity === null ? {} : { registerCapacity: meter.registerCapacity }),
        replacements: (replacements.get(meter.id) ?? []).filter((r) => r.at > from && r.at <= to),
      }).consumption
    const last = advance(lastStart, lastEnd, values[0]!, values[1]!)
    const current = advance(thisStart, now, values[2]!, values[3]!)
    if (last === undefined || current === undefined) continue
    found += 1
    lastMonth = lastMonth.plus(last)
    thisMonth = thisMonth.plus(current)
  }
  const iso = (ms: number) => new Date(ms).toISOString()
  return {
    period,
    thisMonth: { from: iso(thisStart), to: iso(now), kWh: thisMonth.toString() },
    lastMonth: { from: iso(lastStart), to: iso(lastEnd), kWh: lastMonth.toString() },
    changePercent: changePercent(thisMonth, lastMonth),
    meters: found,
    metersWithoutReadings: meters.length - found,
  }
}

// ---------------------------------------------------------------------------------------------
// Arrears in total

export interface ArrearsTotals {
  /** Open balance of every line with one at asOf, due or not. */
  readonly total: string
  readonly lines: number
  /** Customers with an open line. */
  readonly customers: number
  /** Of that, the lines on or past their due date (the arrears report's buckets other than `not due`). */
  readonly overdue: string
  readonly overdueLines: number
  readonly overdueCustomers: number
}

/**
 * The arrears report's totals per estate (hub/billing/reports/arrears.ts: a line's balance is
 * its amount with the corrections and adjustments referencing it, less what was allocated to
 * them, all by asOf; its age is asOf's date in the estate's zone less the due date), summed in
 * the database rather than listed line by line: the report lists every open line with its
 * customer, unit and item, ten times the work for the four numbers a tile shows.
 */
export async function arrearsTotals(
  db: Kysely<Database>,
  scope: ReportScope,
): Promise<Map<string, ArrearsTotals>> {
  const asOf = asOfParam(scope)
  const result = await sql<{
    estateId: string
    total: string
    lines: number
    customers: number
    overdue: string
    overdueLines: number
    overdueCustomers: number
  }>`
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
    ),
    owed as (
      select r.estate_id, r.customer_id, b.amount - coalesce(p.amount, 0) as open,
        ((${asOf} at time zone est.tz)::date - r.due_date) >= 0 as overdue
      from receivables r
      join est on est.id = r.estate_id
      join billed b on b.root_id = r.id
      left join paid p on p.root_id = r.id
      where r.corrects_id is null and r.issued_at <= ${asOf} and b.amount - coalesce(p.amount, 0) > 0
    )
    select estate_id, coalesce(sum(open), 0)::text as total, count(*)::int as lines,
      count(distinct customer_id)::int as customers,
      coalesce(sum(open) filter (where overdue), 0)::text as overdue,
      count(*) filter (where overdue)::int as overdue_lines,
      count(distinct customer_id) filter (where overdue)::int as overdue_customers
    from owed group by estate_id`.execute(db)
  return new Map(
    result.rows.map((r) => [
      r.estateId,
      {
        total: Decimal.of(r.total).toFixed(2),
        lines: r.lines,
        customers: r.customers,
        overdue: Decimal.of(r.overdue).toFixed(2),
        overdueLines: r.overdueLines,
        overdueCustomers: r.overdueCustomers,
      },
    ]),
  )
}

// ---------------------------------------------------------------------------------------------
// The overview

/**
 * The console's first page for an estate, company or group: every figure over the estates
 * under the node that the caller may read, each with the list it opens (docs/api.md § Overview).
 */
export async function overview(
  db: Kysely<Database>,
  scope: ReportScope,
  options: { period?: string; now: number },
) {
  const estateIds = scope.estates.map((e) => e.id)
  const node = scope.node.id
  const first = scope.estates[0]
  const settings = first ? await loadSettings(db, first.id) : undefined
  // The period being collected now: the last one whose cut-off has passed (its bills go out
  // after its meter reads).
  const period =
    options.period ??
    lastClosedPeriod(options.now, settings?.timeZone ?? DEFAULT_TIME_ZONE, settings?.cutoffDay ?? null)
  const [rate, owed, orders, alarms, presence, energy] = await Promise.all([
    collectionRate(db, scope, period),
    arrearsTotals(db, scope),
    db
      .selectFrom('workOrders')
      .select(['estateId', 'status', 'respondBy', 'completeBy', 'respondedAt', 'completedAt'])
      .where('estateId', '=', anyUuid(estateIds))
      .where('status', 'not in', ['closed', 'cancelled'])
      .execute(),
    db
      .selectFrom('alarms')
      .select(['estateId', 'status', 'severity', (eb) => eb.fn.countAll<string>().as('n')])
      .where('estateId', '=', anyUuid(estateIds))
      .where('status', 'in', ['active', 'acknowledged'])
      .groupBy(['estateId', 'status', 'severity'])
      .execute(),
    Promise.all(estateIds.map((id) => estatePresence(db, id, undefined, options.now))),
    Promise.all(estateIds.map((id) => energyToDate(db, id, options.now))),
  ])

  // Arrears: everything open at asOf, and what of it is past its due date. Customers belong to
  // one estate, so the node's customers are the estates' summed.
  const noArrears: ArrearsTotals = {
    total: '0.00',
    lines: 0,
    customers: 0,
    overdue: '0.00',
    overdueLines: 0,
    overdueCustomers: 0,
  }
  const owedOf = (estateId: string) => owed.get(estateId) ?? noArrears
  const owedAll = estateIds.map(owedOf)
  const money = (pick: (a: ArrearsTotals) => string) =>
    owedAll.reduce((s, a) => s.plus(pick(a)), Decimal.ZERO).toFixed(2)
  const number = (pick: (a: ArrearsTotals) => number) => owedAll.reduce((s, a) => s + pick(a), 0)
  const owedTotal: ArrearsTotals = {
    total: money((a) => a.total),
    lines: number((a) => a.lines),
    customers: number((a) => a.customers),
    overdue: money((a) => a.overdue),
    overdueLines: number((a) => a.overdueLines),
    overdueCustomers: number((a) => a.overdueCustomers),
  }

  // Work orders: open ones by state, and those past their response or completion time.
  const orderFigures = () => ({
    open: 0,
    byStatus: counts(openWorkOrderStates),
    slaBreached: 0,
    responseBreached: 0,
    completionBreached: 0,
  })
  const ordersBy = new Map(estateIds.map((id) => [id, orderFigures()]))
  const ordersTotal = orderFigures()
  for (const order of orders) {
    const sla = slaState(order, options.now)
    for (const f of [ordersBy.get(order.estateId), ordersTotal]) {
      if (!f) continue
      f.open += 1
      f.byStatus[order.status as OpenState] += 1
      if (sla.responseBreached || sla.completionBreached) f.slaBreached += 1
      if (sla.responseBreached) f.responseBreached += 1
      if (sla.completionBreached) f.completionBreached += 1
    }
  }

  // Alarms that are not cleared or closed, by severity; unacknowledged ones apart.
  const alarmFigures = () => ({ active: 0, unacknowledged: 0, bySeverity: counts(alarmSeverities) })
  const alarmsBy = new Map(estateIds.map((id) => [id, alarmFigures()]))
  const alarmsTotal = alarmFigures()
  for (const row of alarms) {
    const n = Number(row.n)
    for (const f of [alarmsBy.get(row.estateId), alarmsTotal]) {
      if (!f) continue
      f.active += n
      if (row.status === 'active') f.unacknowledged += n
      if (row.severity in f.bySeverity) f.bySeverity[row.severity as Severity] += n
    }
  }

  const presenceFigures = (p: (typeof presence)[number]) => ({
    gateways: { online: p.gateways.filter((g) => g.status === 'online').length, total: p.gateways.length },
    devices: { online: p.devices.filter((d) => d.online).length, total: p.devices.length },
  })
  const presenceBy = presence.map(presenceFigures)
  const sum = (pick: (f: ReturnType<typeof presenceFigures>) => { online: number; total: number }) => ({
    online: presenceBy.reduce((s, f) => s + pick(f).online, 0),
    total: presenceBy.reduce((s, f) => s + pick(f).total, 0),
  })

  const thisMonth = energy.reduce((s, e) => s.plus(e.thisMonth.kWh), Decimal.ZERO)
  const lastMonth = energy.reduce((s, e) => s.plus(e.lastMonth.kWh), Decimal.ZERO)
  const rateRow = new Map(rate.rows.map((r) => [r.estateId, r]))

  return {
    node: scope.node,
    asOf: scope.asOf.toISOString(),
    estates: scope.estates,
    collection: {
      period,
      receivables: rate.total.receivables,
      billed: rate.total.billed,
      collected: rate.total.collected,
      outstanding: rate.total.outstanding,
      rate: rate.total.rate,
      links: { report: `/api/v1/reports/collection-rate?${q({ nodeId: node, period })}` },
      byEstate: estateIds.map((estateId) => {
        const r = rateRow.get(estateId)
        return {
          estateId,
          receivables: r?.receivables ?? 0,
          billed: r?.billed ?? '0.00',
          collected: r?.collected ?? '0.00',
          outstanding: r?.outstanding ?? '0.00',
          rate: r?.rate ?? null,
          links: { report: `/api/v1/reports/collection-rate?${q({ nodeId: estateId, period })}` },
        }
      }),
    },
    arrears: {
      ...owedTotal,
      links: { report: `/api/v1/reports/arrears?${q({ nodeId: node })}` },
      byEstate: estateIds.map((estateId) => ({
        estateId,
        ...owedOf(estateId),
        links: { report: `/api/v1/reports/arrears?${q({ nodeId: estateId })}` },
      })),
    },
    workOrders: {
      ...ordersTotal,
      byEstate: estateIds.map((estateId) => ({
        estateId,
        ...ordersBy.get(estateId)!,
        links: {
          list: `/api/v1/work-orders?${q({ estateId })}`,
          byStatus: Object.fromEntries(
            openWorkOrderStates.map((status) => [status, `/api/v1/work-orders?${q({ estateId, status })}`]),
          ) as Record<OpenState, string>,
        },
      })),
    },
    alarms: {
      ...alarmsTotal,
      byEstate: estateIds.map((estateId) => ({
        estateId,
        ...alarmsBy.get(estateId)!,
        links: {
          active: `/api/v1/alarms?${q({ estateId, status: 'active' })}`,
          acknowledged: `/api/v1/alarms?${q({ estateId, status: 'acknowledged' })}`,
        },
      })),
    },
    presence: {
      gateways: sum((f) => f.gateways),
      devices: sum((f) => f.devices),
      byEstate: estateIds.map((estateId, i) => ({
        estateId,
        ...presenceBy[i]!,
        links: {
          presence: `/api/v1/estates/${estateId}/presence`,
          gateways: `/api/v1/gateways?${q({ estateId })}`,
          devices: `/api/v1/devices?${q({ estateId })}`,
          live: `/api/v1/live?${q({ estateId })}`,
        },
      })),
    },
    energy: {
      unit: 'kWh',
      thisMonth: thisMonth.toString(),
      lastMonth: lastMonth.toString(),
      changePercent: changePercent(thisMonth, lastMonth),
      meters: energy.reduce((s, e) => s + e.meters, 0),
      metersWithoutReadings: energy.reduce((s, e) => s + e.metersWithoutReadings, 0),
      byEstate: estateIds.map((estateId, i) => {
        const e = energy[i]!
        return {
          estateId,
          ...e,
          links: {
            meters: `/api/v1/meters?${q({ estateId, kind: 'electricity' })}`,
            consumption: `/api/v1/meter-reads/consumption?${q({
              estateId,
              from: shiftPeriod(e.period, -12),
              to: shiftPeriod(e.period, -1),
              groupBy: 'building',
              kind: 'electricity',
            })}`,
          },
        }
      }),
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The route

const strict = { additionalProperties: false } as const
const Text = Type.String()
const Count = Type.Integer({ minimum: 0 })
const Money = DecimalOut
const Rate = Nullable(
  Type.String({ pattern: '^-?\\d+\\.\\d{4}$', description: 'collected ÷ billed, 4 places' }),
)
const Url = Type.String({ description: 'an API path with its query: the list or report this figure opens' })
const Links = (keys: readonly string[]) => Type.Object(Object.fromEntries(keys.map((k) => [k, Url])), strict)
const byEstate = (figures: Record<string, TSchema>, links: TSchema) =>
  Type.Array(Type.Object({ estateId: Id, ...figures, links }, strict))
const Counts = (keys: readonly string[]) =>
  Type.Object(Object.fromEntries(keys.map((k) => [k, Count])), strict)

const RateFigures = { receivables: Count, billed: Money, collected: Money, outstanding: Money, rate: Rate }
const ArrearsFigures = {
  total: Money,
  lines: Count,
  customers: Count,
  overdue: Money,
  overdueLines: Count,
  overdueCustomers: Count,
}
const OrderFigures = {
  open: Count,
  byStatus: Counts(openWorkOrderStates),
  slaBreached: Count,
  responseBreached: Count,
  completionBreached: Count,
}
const AlarmFigures = { active: Count, unacknowledged: Count, bySeverity: Counts(alarmSeverities) }
const OnlineOf = Type.Object({ online: Count, total: Count }, strict)
const PresenceFigures = { gateways: OnlineOf, devices: OnlineOf }
const Span = Type.Object({ from: Timestamp, to: Timestamp, kWh: DecimalOut }, strict)
const Change = Nullable(Type.String({ pattern: '^-?\\d+\\.\\d$', description: '(this − last) ÷ last × 100' }))

const OverviewReply = Type.Object(
  {
    node: Type.Object({ id: Id, kind: Text, code: Text, name: Text }),
    asOf: Timestamp,
    estates: Type.Array(Type.Object({ id: Id, code: Text, name: Text, timezone: Text })),
    collection: Type.Object(
      {
        period: Text,
        ...RateFigures,
        links: Links(['report']),
        byEstate: byEstate(RateFigures, Links(['report'])),
      },
      strict,
    ),
    arrears: Type.Object(
      { ...ArrearsFigures, links: Links(['report']), byEstate: byEstate(ArrearsFigures, Links(['report'])) },
      strict,
    ),
    workOrders: Type.Object(
      {
        ...OrderFigures,
        byEstate: byEstate(
          OrderFigures,
          Type.Object({ list: Url, byStatus: Links(openWorkOrderStates) }, strict),
        ),
      },
      strict,
    ),
    alarms: Type.Object(
      { ...AlarmFigures, byEstate: byEstate(AlarmFigures, Links(['active', 'acknowledged'])) },
      strict,
    ),
    presence: Type.Object(
      {
        ...PresenceFigures,
        byEstate: byEstate(PresenceFigures, Links(['presence', 'gateways', 'devices', 'live'])),
      },
      strict,
    ),
    energy: Type.Object(
      {
        unit: Type.Literal('kWh'),
        thisMonth: DecimalOut,
        lastMonth: DecimalOut,
        changePercent: Change,
        meters: Count,
        metersWithoutReadings: Count,
        byEstate: byEstate(
          {
            period: Text,
            thisMonth: Span,
            lastMonth: Span,
            changePercent: Change,
            meters: Count,
            metersWithoutReadings: Count,
          },
          Links(['meters', 'consumption']),
        ),
      },
      strict,
    ),
  },
  { title: 'Overview' },
)

/** `GET /api/v1/overview`: the console's first page for an estate, a company or a group. */
export function registerOverviewRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.get(
    '/api/v1/overview',
    {
      config: { access: { node: { from: 'query.nodeId' } } },
      schema: {
        tags: ['overview'],
        summary: 'An estate’s, company’s or group’s figures at a glance, each with the list it opens',
        description:
          'Over the estates under `nodeId` that you may see: collection rate of `period` (default: the last period whose cut-off has passed, the one being collected now), arrears (open, and past due), open work orders by state and those past their SLA, active alarms by severity, gateways and devices online, and electricity this month against the same span of last month from the meters’ readings. docs/api.md § Overview.',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object(
          {
            nodeId: Type.String({
              format: 'uuid',
              description: 'An estate, company or group you can see',
            }),
            period: Type.Optional(
              Type.String({
                pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$',
                description: 'YYYY-MM for the collection rate; default the last closed period',
              }),
            ),
          },
          strict,
        ),
        response: { 200: OverviewReply, ...errorReplies },
      },
    },
    async (request) => {
      const query = request.query as { nodeId: string; period?: string }
      const now = new Date()
      const scope = await reportScope(db, request, undefined, now)
      return overview(db, scope, {
        ...(query.period === undefined ? {} : { period: query.period }),
        now: now.getTime(),
      })
    },
  )
}
