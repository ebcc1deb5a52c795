import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import { decimalString } from '../kernel/estate-resource.ts'
import {
  DecimalOut,
  errorReplies,
  Id,
  IdParams,
  Nullable,
  OneOf,
  Page,
  PageQuery,
  Timestamp,
} from '../kernel/schema-parts.ts'
import type { Database, MeterReadStatus } from '../store/database-schema.ts'
import { approveClean, approveRead, estimateRead, overrideRead } from './meter-read-actions.ts'
import { counterSamples, type StoredRead } from './meter-read-inputs.ts'
import { runMeterReadsBesideOthers } from './meter-read-scheduler.ts'
import { registerMeterUsageRoutes } from './meter-usage-routes.ts'
import { meterReadStatuses as statuses } from './metering-vocabulary.ts'

const Period = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' })
const Flag = Type.Object({ code: Type.String(), message: Type.String() })

export const MeterReadRecord = Type.Object({
  id: Id,
  estateId: Id,
  meterId: Id,
  meterCode: Type.String(),
  meterKind: Type.String(),
  unitId: Nullable(Id),
  unitCode: Nullable(Type.String()),
  buildingId: Nullable(Id),
  period: Type.String(),
  periodStart: Timestamp,
  cutoffAt: Timestamp,
  previousReading: Nullable(DecimalOut),
  previousAt: Nullable(Timestamp),
  previousSource: Nullable(Type.String()),
  currentReading: Nullable(DecimalOut),
  currentAt: Nullable(Timestamp),
  method: Type.String(),
  multiplier: DecimalOut,
  consumption: Nullable(DecimalOut),
  rollover: Type.Boolean(),
  replacements: Type.Integer(),
  truesUp: Type.Boolean(),
  flags: Type.Array(Flag),
  status: OneOf(statuses),
  approvedBy: Nullable(Id),
  approvedAt: Nullable(Timestamp),
  computedAt: Timestamp,
  updatedAt: Timestamp,
  version: Type.Integer(),
})

const StatusCounts = Type.Object({
  all: Type.Integer(),
  ...Object.fromEntries(statuses.map((s) => [s, Type.Integer()])),
})

const Change = Type.Object({
  id: Type.Integer(),
  action: Type.String(),
  reason: Nullable(Type.String()),
  changedBy: Nullable(Id),
  changedByName: Nullable(Type.String()),
  changedAt: Timestamp,
  old: Nullable(Type.Record(Type.String(), Type.Unknown())),
  new: Type.Record(Type.String(), Type.Unknown()),
})

const RunReport = Type.Object({
  estateId: Id,
  period: Type.String(),
  periodStart: Timestamp,
  cutoffAt: Timestamp,
  meters: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  flagged: Type.Integer(),
  conflicts: Type.Array(
    Type.Object({
      meterId: Id,
      meterCode: Type.String(),
      status: Type.String(),
      differences: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
})

const Version = Type.Optional(
  Type.Integer({ minimum: 1, description: 'the version you saw; a mismatch is 409' }),
)
const strict = { additionalProperties: false } as const

function readQuery(db: Kysely<Database>) {
  return db
    .selectFrom('meterReads')
    .innerJoin('meters', 'meters.id', 'meterReads.meterId')
    .leftJoin('units', 'units.id', 'meters.unitId')
    .selectAll('meterReads')
    .select([
      'meters.code as meterCode',
      'meters.kind as meterKind',
      'meters.unitId',
      'units.code as unitCode',
      'meters.buildingId',
    ])
}

type ReadRow = StoredRead & {
  meterCode: string
  meterKind: string
  unitId: string | null
  unitCode: string | null
  buildingId: string | null
}

function present(row: ReadRow) {
  const time = (d: Date | null) => (d === null ? null : new Date(d).toISOString())
  return {
    ...row,
    periodStart: new Date(row.periodStart).toISOString(),
    cutoffAt: new Date(row.cutoffAt).toISOString(),
    previousAt: time(row.previousAt),
    currentAt: time(row.currentAt),
    approvedAt: time(row.approvedAt),
    computedAt: row.computedAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

interface ReadFilters {
  readonly period?: string
  readonly status?: MeterReadStatus
  readonly buildingId?: string
  readonly meterId?: string
}

/** An estate's reads narrowed by the list's filters: the list and its counts share it, so they agree. */
function filteredReads(db: Kysely<Database>, estateId: string, q: ReadFilters) {
  let query = readQuery(db).where('meterReads.estateId', '=', estateId)
  if (q.period !== undefined) query = query.where('meterReads.period', '=', q.period)
  if (q.status !== undefined) query = query.where('meterReads.status', '=', q.status)
  if (q.buildingId !== undefined) query = query.where('meters.buildingId', '=', q.buildingId)
  if (q.meterId !== undefined) query = query.where('meterReads.meterId', '=', q.meterId)
  return query
}

async function loadRead(db: Kysely<Database>, id: string) {
  return present((await readQuery(db).where('meterReads.id', '=', id).executeTakeFirstOrThrow()) as ReadRow)
}

export function registerMeterReadRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const readRule = { table: 'meterReads' as const, label: 'meter read' }

  app.post(
    '/api/v1/meter-reads/runs',
    {
      config: { access: { estate: { from: 'body.estateId' }, permission: 'meterReads.review' } },
      schema: {
        tags: ['meter reads'],
        summary: 'Fill the meter-read records (抄表记录) of an estate for a closed period; safe to repeat',
        security: [{ bearerAuth: [] }],
        body: Type.Object({ estateId: Id, period: Period }, strict),
        response: { 200: RunReport, ...errorReplies },
      },
    },
    async (request) => {
      const body = request.body as { estateId: string; period: string }
      const estateId = request.estateId
      try {
        // A scheduled run (or another click) of the same period may be going on: not a 409.
        return await runMeterReadsBesideOthers(db, { estateId, period: body.period })
      } catch (error) {
        if (error instanceof RangeError)
          throw invalid('body.period', error.message, 'meterRead.period', { reason: error.message })
        throw error
      }
    },
  )

  app.get(
    '/api/v1/meter-reads',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags: ['meter reads'],
        summary: 'Meter-read records of an estate, by period, status, building or meter',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object(
          {
            estateId: Id,
            period: Type.Optional(Period),
            status: Type.Optional(OneOf(statuses)),
            buildingId: Type.Optional(Id),
            meterId: Type.Optional(Id),
            ...PageQuery,
          },
          strict,
        ),
        response: { 200: Page(MeterReadRecord), ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as {
        estateId: string
        period?: string
        status?: MeterReadStatus
        buildingId?: string
        meterId?: string
        limit?: number
        offset?: number
      }
      const estateId = request.estateId
      const query = filteredReads(db, estateId, q)
      const limit = q.limit ?? 50
      const offset = q.offset ?? 0
      const [rows, total] = await Promise.all([
        query
          .orderBy('meterReads.period', 'desc')
          .orderBy('meters.code')
          .limit(limit)
          .offset(offset)
          .execute(),
        query
          .clearSelect()
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow(),
      ])
      return { items: rows.map((r) => present(r as ReadRow)), total: Number(total.n), limit, offset }
    },
  )

  app.get(
    '/api/v1/meter-reads/counts',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags: ['meter reads'],
        summary:
          'How many meter-read records a period has, in all and per status (the list’s totals per status filter)',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object({ estateId: Id, period: Period, buildingId: Type.Optional(Id) }, strict),
        response: { 200: StatusCounts, ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as { estateId: string; period: string; buildingId?: string }
      const estateId = request.estateId
      // One grouped query, not one count per status: the page's tabs ask on every change.
      const rows = await filteredReads(db, estateId, q)
        .clearSelect()
        .select((eb) => ['meterReads.status', eb.fn.countAll().as('n')])
        .groupBy('meterReads.status')
        .execute()
      const counts = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<MeterReadStatus, number>
      for (const row of rows) counts[row.status] = Number(row.n)
      return { all: statuses.reduce((sum, s) => sum + counts[s], 0), ...counts }
    },
  )

  app.get(
    '/api/v1/meter-reads/:id',
    {
      config: { access: { estate: { from: 'params.id', record: readRule } } },
      schema: {
        tags: ['meter reads'],
        summary: 'One meter read with its history of changes and the readings around its cut-off',
        security: [{ bearerAuth: [] }],
        params: IdParams,
        response: {
          200: Type.Object({
            read: MeterReadRecord,
            changes: Type.Array(Change),
            readings: Type.Array(Type.Object({ ts: Timestamp, value: DecimalOut })),
          }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const read = await loadRead(db, id)
      const changes = await db
        .selectFrom('meterReadChanges')
        .leftJoin('users', 'users.id', 'meterReadChanges.changedBy')
        .selectAll('meterReadChanges')
        .select('users.displayName as changedByName')
        .where('meterReadId', '=', id)
        .orderBy('meterReadChanges.id')
        .execute()
      const meter = await db
        .selectFrom('meters')
        .select('pointId')
        .where('id', '=', read.meterId)
        .executeTakeFirstOrThrow()
      const cutoff = Date.parse(read.cutoffAt)
      const readings =
        meter.pointId === null
          ? []
          : await counterSamples(db, meter.pointId, cutoff - 86_400_000, cutoff + 86_400_000, 500)
      return {
        read,
        changes: changes.map((c) => ({ ...c, changedAt: c.changedAt.toISOString() })),
        readings: readings.map((s) => ({ ts: new Date(s.at).toISOString(), value: s.value })),
      }
    },
  )

  const action = (
    path: string,
    summary: string,
    permission: 'meterReads.review' | 'meterReads.approve',
    body: ReturnType<typeof Type.Object>,
    run: (id: string, userId: string, body: Record<string, unknown>) => Promise<unknown>,
  ) =>
    app.post(
      `/api/v1/meter-reads/:id/${path}`,
      {
        config: {
          access: {
            estate: { from: 'params.id', record: readRule },
            // Changing an approved read un-approves it: only an approver may do that.
            permission: async (request) => {
              const { id } = request.params as { id: string }
              const current = await db
                .selectFrom('meterReads')
                .select('status')
                .where('id', '=', id)
                .executeTakeFirstOrThrow()
              return current.status === 'approved' ? 'meterReads.approve' : permission
            },
          },
        },
        schema: {
          tags: ['meter reads'],
          summary,
          security: [{ bearerAuth: [] }],
          params: IdParams,
          body,
          response: { 200: MeterReadRecord, ...errorReplies },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        await run(id, request.scope.userId, request.body as Record<string, unknown>)
        return loadRead(db, id)
      },
    )

  action(
    'approve',
    'Approve a meter read for billing (a flagged one needs a reason)',
    'meterReads.approve',
    Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })), version: Version }, strict),
    (id, userId, body) => approveRead(db, id, { userId }, body as { reason?: string; version?: number }),
  )
  action(
    'override',
    'Override the reading at the cut-off (and optionally the previous one), with a reason',
    'meterReads.review',
    Type.Object(
      {
        currentReading: Type.Union([Type.String(), Type.Number()]),
        previousReading: Type.Optional(Type.Union([Type.String(), Type.Number()])),
        reason: Type.String({ minLength: 1, maxLength: 500 }),
        version: Version,
      },
      strict,
    ),
    (id, userId, body) =>
      overrideRead(
        db,
        id,
        { userId },
        {
          currentReading: decimalString(body.currentReading, 3, 'body.currentReading'),
          ...(body.previousReading === undefined
            ? {}
            : { previousReading: decimalString(body.previousReading, 3, 'body.previousReading') }),
          reason: body.reason as string,
          ...(body.version === undefined ? {} : { version: body.version as number }),
        },
      ),
  )
  action(
    'estimate',
    'Estimate a missing reading from the meter’s trailing daily average',
    'meterReads.review',
    Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })), version: Version }, strict),
    (id, userId, body) => estimateRead(db, id, { userId }, body as { reason?: string; version?: number }),
  )

  app.post(
    '/api/v1/meter-reads/approve-clean',
    {
      config: {
        access: {
          estate: { from: 'body.estateId' },
          permission: 'meterReads.approve',
          references: { 'body.buildingId': { table: 'buildings', label: 'building' } },
        },
      },
      schema: {
        tags: ['meter reads'],
        summary: 'Approve every clean (auto) read of an estate’s period, or of one building',
        security: [{ bearerAuth: [] }],
        body: Type.Object({ estateId: Id, period: Period, buildingId: Type.Optional(Id) }, strict),
        response: { 200: Type.Object({ approved: Type.Integer() }), ...errorReplies },
      },
    },
    async (request) => {
      const body = request.body as { estateId: string; period: string; buildingId?: string }
      const estateId = request.estateId
      return { approved: await approveClean(db, { userId: request.scope.userId }, { ...body, estateId }) }
    },
  )

  registerSettingsRoutes(app, db)
  registerMeterUsageRoutes(app, db)
}

const Settings = Type.Object({
  estateId: Id,
  cutoffDay: Nullable(Type.Integer({ minimum: 1, maximum: 28 })),
  windowHours: Type.Integer({ minimum: 1, maximum: 720 }),
  estimateMissing: Type.Boolean(),
  spikeFactorWater: DecimalOut,
  spikeFactorElectricity: DecimalOut,
  spikeFactorGas: DecimalOut,
  spikeFactorHeat: DecimalOut,
  offlineAfterIntervals: Type.Integer({ minimum: 1 }),
})

function registerSettingsRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const defaults = {
    cutoffDay: null,
    windowHours: 24,
    estimateMissing: false,
    spikeFactorWater: '3',
    spikeFactorElectricity: '3',
    spikeFactorGas: '3',
    spikeFactorHeat: '3',
    offlineAfterIntervals: 3,
  }
  const load = async (estateId: string) => {
    const row = await db
      .selectFrom('meteringSettings')
      .selectAll()
      .where('estateId', '=', estateId)
      .executeTakeFirst()
    const { updatedAt: _updatedAt, ...settings } = row ?? { ...defaults, estateId, updatedAt: null }
    return settings
  }
  const Params = Type.Object({ estateId: Id }, strict)
  app.get(
    '/api/v1/estates/:estateId/metering-settings',
    {
      config: { access: { estate: { from: 'params.estateId' } } },
      schema: {
        tags: ['meter reads'],
        summary: 'The estate’s meter-read cut-off and validation settings',
        security: [{ bearerAuth: [] }],
        params: Params,
        response: { 200: Settings, ...errorReplies },
      },
    },
    async (request) => {
      return load(request.estateId)
    },
  )
  const spike = Type.Optional(Type.Union([Type.String(), Type.Number()]))
  app.put(
    '/api/v1/estates/:estateId/metering-settings',
    {
      config: { access: { estate: { from: 'params.estateId' }, permission: 'meterReads.approve' } },
      schema: {
        tags: ['meter reads'],
        summary:
          'Change the cut-off day (null = month end), tolerance window, spike factors, offline threshold',
        security: [{ bearerAuth: [] }],
        params: Params,
        body: Type.Object(
          {
            cutoffDay: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 28 }))),
            windowHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720 })),
            estimateMissing: Type.Optional(Type.Boolean()),
            spikeFactorWater: spike,
            spikeFactorElectricity: spike,
            spikeFactorGas: spike,
            spikeFactorHeat: spike,
            offlineAfterIntervals: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          strict,
        ),
        response: { 200: Settings, ...errorReplies },
      },
    },
    async (request) => {
      const estateId = request.estateId
      const body = { ...(request.body as Record<string, unknown>) }
      for (const key of ['spikeFactorWater', 'spikeFactorElectricity', 'spikeFactorGas', 'spikeFactorHeat']) {
        if (body[key] === undefined) continue
        const value = decimalString(body[key], 2, `body.${key}`)
        if (Number(value) <= 1)
          throw invalid(`body.${key}`, 'must be above 1', 'number.exclusiveMinimum', { limit: 1 })
        body[key] = value
      }
      const next = { ...(await load(estateId)), ...body, estateId }
      await db
        .insertInto('meteringSettings')
        .values(next)
        .onConflict((oc) => oc.column('estateId').doUpdateSet({ ...body, updatedAt: sql`now()` }))
        .execute()
      return load(estateId)
    },
  )
}
