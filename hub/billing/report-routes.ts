import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Kysely } from 'kysely'
import { type TProperties, type TSchema, Type } from 'typebox'
import {
  DateString,
  DecimalOut,
  errorReplies,
  Id,
  Nullable,
  OneOf,
  Timestamp,
} from '../kernel/schema-parts.ts'
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
import { arrears, arrearsTable, buckets } from './reports/arrears.ts'
import { collectionRate, collectionRateTable } from './reports/collection-rate.ts'
import { collections, collectionsTable } from './reports/collections.ts'
import { dailyTakings, dailyTakingsTable } from './reports/daily-takings.ts'

const strict = { additionalProperties: false } as const
const Period = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' })
const Money = DecimalOut
const Text = Type.String()

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
        'Count only what was issued, paid, allocated or decided by this instant (default: now; not in the future). The same asOf always gives the same numbers.',
    }),
  ),
  format: Type.Optional(
    OneOf(['json', 'csv', 'xlsx'] as const, 'json (default); csv (UTF-8 with BOM) or xlsx as an attachment'),
  ),
}

const Header = {
  report: Text,
  node: Type.Object({ id: Id, kind: Text, code: Text, name: Text }),
  asOf: Timestamp,
  estates: Type.Array(Type.Object({ id: Id, code: Text, name: Text, timezone: Text })),
}
const EstateCols = { estateId: Id, estateCode: Text, estateName: Text }

const DailyTakingsReply = Type.Object({
  ...Header,
  date: Text,
  rows: Type.Array(
    Type.Object({
      ...EstateCols,
      cashierId: Nullable(Id),
      cashierName: Nullable(Text),
      method: Nullable(Text),
      line: OneOf(['item', 'prepayment', 'deposit', 'void', 'refund', 'deposit_refund'] as const),
      feeItemId: Nullable(Id),
      feeItemCode: Nullable(Text),
      feeItemName: Nullable(Text),
      documents: Type.Integer(),
      amount: Money,
    }),
  ),
  byCashier: Type.Array(
    Type.Object({
      ...EstateCols,
      cashierId: Nullable(Id),
      cashierName: Nullable(Text),
      method: Nullable(Text),
      documents: Type.Integer(),
      amount: Money,
    }),
  ),
  byMethod: Type.Array(Type.Object({ method: Nullable(Text), documents: Type.Integer(), amount: Money })),
  documents: Type.Integer(),
  total: Money,
})

const ItemAmount = Type.Object({ feeItemId: Id, feeItemCode: Text, feeItemName: Text, amount: Money })
const CollectionsReply = Type.Object({
  ...Header,
  from: Text,
  to: Text,
  rows: Type.Array(
    Type.Object({
      kind: OneOf(['payment', 'void', 'refund', 'deposit_refund'] as const),
      documentId: Id,
      paymentId: Nullable(Id),
      ...EstateCols,
      receiptNo: Nullable(Text),
      at: Timestamp,
      localTime: Text,
      customerId: Nullable(Id),
      customerCode: Nullable(Text),
      customerName: Nullable(Text),
      units: Type.Array(Text),
      method: Nullable(Text),
      reference: Nullable(Text),
      cashierId: Nullable(Id),
      cashierName: Nullable(Text),
      amount: Money,
      allocations: Type.Array(ItemAmount),
      toPrepayment: Money,
      toDeposit: Money,
      note: Nullable(Text),
    }),
  ),
  byMethod: Type.Array(Type.Object({ method: Nullable(Text), amount: Money })),
  byItem: Type.Array(Type.Object({ feeItemName: Text, amount: Money })),
  toPrepayment: Money,
  toDeposit: Money,
  total: Money,
})

const Bucket = OneOf(buckets)
const ArrearsReply = Type.Object({
  ...Header,
  rows: Type.Array(
    Type.Object({
      receivableId: Id,
      ...EstateCols,
      customerId: Id,
      customerCode: Text,
      customerName: Text,
      unitId: Nullable(Id),
      unitCode: Nullable(Text),
      feeItemId: Id,
      feeItemCode: Text,
      feeItemName: Text,
      kind: Text,
      period: Nullable(Text),
      dueDate: Text,
      billed: Money,
      paid: Money,
      open: Money,
      daysOverdue: Type.Integer(),
      bucket: Bucket,
    }),
  ),
  buckets: Type.Array(Type.Object({ bucket: Bucket, lines: Type.Integer(), amount: Money })),
  lines: Type.Integer(),
  total: Money,
})

const Rate = Nullable(
  Type.String({ pattern: '^-?\\d+\\.\\d{4}$', description: 'collected ÷ billed, 4 places' }),
)
const RateFigures = {
  receivables: Type.Integer(),
  billed: Money,
  collected: Money,
  outstanding: Money,
  rate: Rate,
}
const CollectionRateReply = Type.Object({
  ...Header,
  period: Text,
  rows: Type.Array(Type.Object({ ...EstateCols, ...RateFigures })),
  total: Type.Object(RateFigures),
})

interface CommonQuery {
  nodeId: string
  asOf?: string
  format?: 'json' | ExportFormat
}

interface ReportSpec<Q extends CommonQuery, R extends object> {
  readonly path: string
  readonly summary: string
  readonly description: string
  readonly query: TProperties
  readonly reply: TSchema
  run(db: Kysely<Database>, scope: ReportScope, query: Q): Promise<R>
  table(scope: ReportScope, report: R): ReportTable
}

/**
 * Finance reports (统计分析) at estate, company and group level, each as JSON for the console or
 * as a CSV/XLSX download, and each reproducible for a past instant (`asOf`). Reading a report
 * needs only that the caller can see the node: every role may read.
 */
export function registerReportRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const route = <Q extends CommonQuery, R extends object>(spec: ReportSpec<Q, R>) =>
    app.get(
      `/api/v1/reports/${spec.path}`,
      {
        config: { access: { node: { from: 'query.nodeId' } } },
        schema: {
          tags: ['reports'],
          summary: spec.summary,
          description: spec.description,
          security: [{ bearerAuth: [] }],
          querystring: Type.Object({ ...common, ...spec.query }, strict),
          response: { 200: spec.reply, ...errorReplies },
        },
      },
      async (request, reply) => {
        const query = request.query as Q
        const scope = await reportScope(db, request, query.asOf)
        const report = await spec.run(db, scope, query)
        const format = query.format ?? 'json'
        if (format === 'json')
          return {
            report: spec.path,
            node: scope.node,
            asOf: scope.asOf.toISOString(),
            estates: scope.estates,
            ...report,
          }
        return sendFile(reply, spec.table(scope, report), format)
      },
    )

  route({
    path: 'daily-takings',
    summary: 'Daily takings by cashier, method and fee item (日收费明细)',
    description:
      "The money taken on `date` (each estate's calendar day in its time zone) per cashier, method and fee item; what a payment left over is 预存款, a deposit 押金; voids (红冲) and refunds approved that day are negative lines. `byCashier` is the hand-over (交款) per method.",
    query: { date: DateString },
    reply: DailyTakingsReply,
    run: (database, scope, q: CommonQuery & { date: string }) => dailyTakings(database, scope, q.date),
    table: dailyTakingsTable,
  })

  route({
    path: 'collections',
    summary: 'Collections detail, one row per payment (收款明细表)',
    description:
      'Payments taken from `from` to `to` (calendar days in each estate, inclusive, at most 366 days) with customer, units, method, reference, cashier and the amount paid per fee item; voids and refunds approved in the range are negative rows.',
    query: { from: DateString, to: DateString },
    reply: CollectionsReply,
    run: (database, scope, q: CommonQuery & { from: string; to: string }) =>
      collections(database, scope, q.from, q.to),
    table: collectionsTable,
  })

  route({
    path: 'arrears',
    summary: 'Arrears detail with ageing (欠费明细表)',
    description:
      'Every receivable with an open balance at `asOf`, with days past due and the ageing bucket (0-30, 31-90, 91-180, 181-365, >365 days; not yet due: `not due`), and totals per bucket.',
    query: {},
    reply: ArrearsReply,
    run: (database, scope) => arrears(database, scope),
    table: arrearsTable,
  })

  route({
    path: 'collection-rate',
    summary: 'Collection rate for a period (收缴率)',
    description:
      "Per estate and in total: billed (the period's receivables with their corrections and adjustments, issued by asOf; late fees excluded), collected (allocated to them by asOf) and rate = collected ÷ billed to 4 places (null if nothing was billed).",
    query: { period: Period },
    reply: CollectionRateReply,
    run: (database, scope, q: CommonQuery & { period: string }) => collectionRate(database, scope, q.period),
    table: collectionRateTable,
  })
}

async function sendFile(reply: FastifyReply, table: ReportTable, format: ExportFormat) {
  const body = format === 'csv' ? toCsv(table) : await toXlsx(table)
  return reply
    .header('content-type', contentTypes[format])
    .header('content-disposition', contentDisposition(table, format))
    .header('cache-control', 'private, no-store')
    .send(body)
}
