import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { type TProperties, type TSchema, Type } from 'typebox'
import { DateString, errorReplies, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import {
  contentDisposition,
  contentTypes,
  type ExportFormat,
  type ReportTable,
  toCsv,
  toXlsx,
} from '../reports/report-export.ts'
import { type ReportScope, reportScope } from '../reports/report-scope.ts'
import type { Database } from '../store/database-schema.ts'
import { accessEvents, accessEventsTable } from './reports/access-events.ts'
import { alarmSummary, alarmSummaryTable } from './reports/alarm-summary.ts'
import { repairHandling, repairHandlingTable, workOrderStates } from './reports/repair-handling.ts'

const strict = { additionalProperties: false } as const
const Text = Type.String()
const Count = Type.Integer({ minimum: 0 })
const Rate = Nullable(
  Type.String({ pattern: '^\\d+\\.\\d{4}$', description: 'a ratio, 4 places; null: 0 ÷ 0' }),
)

// The query shape and header of the finance reports (hub/billing/report-routes.ts).
const common = {
  nodeId: Type.String({
    format: 'uuid',
    description:
      'An estate, company or group you can see; the report covers every estate under it you can see',
  }),
  asOf: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'Count orders, alarms and events as they stood at this instant (default: now; not in the future).',
    }),
  ),
  format: Type.Optional(
    OneOf(['json', 'csv', 'xlsx'] as const, 'json (default); csv (UTF-8 with BOM) or xlsx as an attachment'),
  ),
}
const range = {
  from: DateString,
  to: DateString,
}
const Header = {
  report: Text,
  node: Type.Object({ id: Id, kind: Text, code: Text, name: Text }),
  asOf: Timestamp,
  estates: Type.Array(Type.Object({ id: Id, code: Text, name: Text, timezone: Text })),
  from: Text,
  to: Text,
}
const EstateCols = { estateId: Id, estateCode: Text, estateName: Text }

const RepairFigures = {
  total: Count,
  states: Type.Object(Object.fromEntries(workOrderStates.map((s) => [s, Count]))),
  responseDue: Count,
  respondedOnTime: Count,
  responseRate: Rate,
  completionDue: Count,
  completedOnTime: Count,
  completionRate: Rate,
  completed: Count,
  visited: Count,
  returnVisitRate: Rate,
  averageSatisfaction: Nullable(
    Type.String({ pattern: '^\\d\\.\\d{2}$', description: 'mean score 1-5, 2 places' }),
  ),
  satisfied: Count,
  satisfactionRate: Rate,
}
const RepairHandlingReply = Type.Object({
  ...Header,
  targets: Type.Object({
    responseMinutes: Type.Integer(),
    completionRate: Text,
    returnVisitRate: Text,
    satisfactionRate: Text,
  }),
  rows: Type.Array(
    Type.Object({ ...EstateCols, category: Text, department: Nullable(Text), ...RepairFigures }),
  ),
  byEstate: Type.Array(Type.Object({ ...EstateCols, ...RepairFigures })),
  total: Type.Object(RepairFigures),
})

const AccessCounts = {
  granted: Count,
  denied: Count,
  forced: Count,
  heldOpen: Count,
  tamper: Count,
  alarmInput: Count,
  total: Count,
}
const AccessEventsReply = Type.Object({
  ...Header,
  rows: Type.Array(Type.Object({ ...EstateCols, source: Text, ...AccessCounts })),
  total: Type.Object(AccessCounts),
})

const AlarmFigures = {
  raised: Count,
  acknowledged: Count,
  meanMinutesToAcknowledge: Nullable(
    Type.String({ pattern: '^-?\\d+\\.\\d$', description: 'minutes, 1 place' }),
  ),
  open: Count,
}
const AlarmSummaryReply = Type.Object({
  ...Header,
  rows: Type.Array(
    Type.Object({
      ...EstateCols,
      classOf: OneOf(['device', 'rule'] as const),
      class: Text,
      severity: Text,
      ...AlarmFigures,
    }),
  ),
  total: Type.Object(AlarmFigures),
})

interface RangeQuery {
  nodeId: string
  asOf?: string
  format?: 'json' | ExportFormat
  from: string
  to: string
}

interface ReportSpec<R extends object> {
  readonly path: string
  readonly summary: string
  readonly description: string
  readonly reply: TSchema
  run(db: Kysely<Database>, scope: ReportScope, from: string, to: string): Promise<R>
  table(scope: ReportScope, report: R): ReportTable
}

/**
 * Work-order, access and alarm reports (维修处理情况表 and the security statistics) at estate,
 * company and group level: the finance reports' scope (report-scope.ts), query shape and
 * exports (report-export.ts). Like them, reading needs only that the caller can see the node.
 */
export function registerAlarmReportRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const route = <R extends object>(spec: ReportSpec<R>) =>
    app.get(
      `/api/v1/reports/${spec.path}`,
      {
        config: { access: { node: { from: 'query.nodeId' } } },
        schema: {
          tags: ['reports'],
          summary: spec.summary,
          description: spec.description,
          security: [{ bearerAuth: [] }],
          querystring: Type.Object({ ...common, ...range } satisfies TProperties, strict),
          response: { 200: spec.reply, ...errorReplies },
        },
      },
      async (request, reply) => {
        const query = request.query as RangeQuery
        const scope = await reportScope(db, request, query.asOf)
        const report = await spec.run(db, scope, query.from, query.to)
        const format = query.format ?? 'json'
        if (format === 'json')
          return {
            report: spec.path,
            node: scope.node,
            asOf: scope.asOf.toISOString(),
            estates: scope.estates,
            ...report,
          }
        const table = spec.table(scope, report)
        return reply
          .header('content-type', contentTypes[format])
          .header('content-disposition', contentDisposition(table, format))
          .header('cache-control', 'private, no-store')
          .send(format === 'csv' ? toCsv(table) : await toXlsx(table))
      },
    )

  route({
    path: 'repair-handling',
    summary: 'Repair handling per category and department (维修处理情况表)',
    description:
      'Work orders registered from `from` to `to` (calendar days in each estate, inclusive, at most 366 days), per estate, category and department, as they stood at asOf: count per state; on-time response and completion (维修及时率) rates over the orders due by asOf or done by it; return-visit rate (回访率) over the completed; average satisfaction and satisfaction rate (score ≥ 4) over the visited. Cancelled orders count in their state only. A rate of nothing is null. `byEstate` and `total` are made from the counts, not by averaging rates.',
    reply: RepairHandlingReply,
    run: repairHandling,
    table: repairHandlingTable,
  })

  route({
    path: 'access-events',
    summary: 'Access events per door and type (门禁事件统计)',
    description:
      'Access-control events that happened from `from` to `to` (device time, calendar days in each estate) and reached the hub by asOf, per estate and door (`source`, `<controller or device>/<door>`): granted, denied, forced, held open, tamper and alarm input, and their total.',
    reply: AccessEventsReply,
    run: accessEvents,
    table: accessEventsTable,
  })

  route({
    path: 'alarm-summary',
    summary: 'Alarms per class and severity with mean time to acknowledge (报警统计)',
    description:
      "Alarms raised from `from` to `to` (calendar days in each estate), per estate, class (the device's class, else the rule's kind) and severity: raised, acknowledged by asOf, mean minutes from raised to acknowledged (over the acknowledged), and still open (not closed) at asOf.",
    reply: AlarmSummaryReply,
    run: alarmSummary,
    table: alarmSummaryTable,
  })
}
