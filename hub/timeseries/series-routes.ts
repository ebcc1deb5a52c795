import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { pointKinds as kinds, qualities } from '../../gateway/contract/index.ts'
import { ApiError, detail, invalid } from '../kernel/api-error.ts'
import { DecimalOut, errorReplies, Id, IdParams, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import {
  type Bucket,
  bucketedSeries,
  buckets,
  MAX_BUCKET_SPAN_DAYS,
  RAW_LIMIT,
  rawReadings,
} from './series-query.ts'

const DEFAULT_TIME_ZONE = 'Asia/Shanghai'
const DAY_MS = 86_400_000
const DEFAULT_SPAN_MS = DAY_MS

const strict = { additionalProperties: false } as const

const NumericValue = Nullable(DecimalOut)

const LatestValue = Type.Object(
  {
    pointId: Id,
    ts: Timestamp,
    value: Type.Union([DecimalOut, Type.Null()], {
      description: 'exact decimal as stored; null for a text or missing value',
    }),
    text: Nullable(Type.String({ description: 'a value that is not a number (e.g. a state name)' })),
    quality: OneOf(qualities),
    reason: Nullable(Type.String({ description: 'why the reading is not good, as the gateway said' })),
    lastGoodAt: Nullable(Timestamp),
    receivedAt: Timestamp,
  },
  { title: 'LatestValue' },
)

const LatestValueItem = Type.Object(
  {
    pointId: Id,
    deviceId: Id,
    deviceCode: Type.String(),
    pointCode: Type.String(),
    kind: OneOf(kinds),
    unit: Nullable(Type.String()),
    ts: Nullable(Timestamp),
    value: NumericValue,
    text: Nullable(Type.String()),
    quality: Nullable(OneOf(qualities)),
    lastGoodAt: Nullable(Timestamp),
  },
  { title: 'LatestValueItem' },
)

const LatestValuesQuery = Type.Object(
  {
    estateId: Id,
    deviceId: Type.Optional(Id),
    buildingId: Type.Optional(Id),
  },
  strict,
)

const SeriesQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ format: 'date-time', description: 'inclusive; default: 24 hours before `to`' }),
    ),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive; default: now' })),
    bucket: Type.Optional(OneOf(buckets, 'raw readings, or aggregates per bucket; default raw')),
    tz: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "IANA zone for 1d buckets; default: the estate's time zone, else Asia/Shanghai",
      }),
    ),
  },
  strict,
)

const RawSeries = Type.Object(
  {
    bucket: Type.Literal('raw'),
    items: Type.Array(
      Type.Object({
        ts: Timestamp,
        value: NumericValue,
        text: Nullable(Type.String()),
        quality: OneOf(qualities),
        historical: Type.Boolean({ description: 'sent late, from the outbox of a disconnected gateway' }),
      }),
    ),
  },
  { title: 'RawSeries' },
)

const BucketedSeries = Type.Object(
  {
    bucket: OneOf(['15m', '1h', '1d'] as const),
    tz: Type.String({ description: 'the zone whose midnights start 1d buckets' }),
    items: Type.Array(
      Type.Object({
        start: Timestamp,
        first: NumericValue,
        last: NumericValue,
        min: NumericValue,
        max: NumericValue,
        avg: Type.Union([DecimalOut, Type.Null()], { description: 'rounded to 6 decimal places' }),
        count: Type.Integer({ description: 'good and uncertain numeric readings in the bucket' }),
        consumption: Type.Optional(
          Type.Union([DecimalOut, Type.Null()], {
            description:
              'counters only: last of this bucket minus last of the previous non-empty one (first bucket: last minus first); null when empty or reset',
          }),
        ),
        note: Type.Optional(Type.Literal('reset', { description: 'the counter went backwards here' })),
      }),
    ),
  },
  { title: 'BucketedSeries' },
)

/** The zone's canonical IANA name, or undefined when it is not one. Offsets such as +08:00 are refused. */
export function ianaZone(zone: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/.test(zone)) return undefined
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

async function estateZone(db: Kysely<Database>, estateId: string): Promise<string> {
  const estate = await db
    .selectFrom('orgNodes')
    .select('timezone')
    .where('id', '=', estateId)
    .executeTakeFirst()
  return (estate?.timezone ? ianaZone(estate.timezone) : undefined) ?? DEFAULT_TIME_ZONE
}

/** PostgreSQL may not know a zone the JavaScript runtime knows (older tz data). */
function isUnknownZoneError(error: unknown): boolean {
  return /time zone .* not recognized/i.test((error as Error)?.message ?? '')
}

/**
 * The latest value of every non-event point of an estate, or of one device or building (null
 * fields for a point that never reported), ordered by device and point code: the
 * latest-values list and the live stream's snapshot.
 */
export function latestValuesOf(
  db: Kysely<Database>,
  estateId: string,
  filter: { deviceId?: string; buildingId?: string } = {},
) {
  let select = db
    .selectFrom('points')
    .innerJoin('devices', 'devices.id', 'points.deviceId')
    .leftJoin('latestValues', 'latestValues.pointId', 'points.id')
    .select([
      'points.id as pointId',
      'devices.id as deviceId',
      'devices.code as deviceCode',
      'points.code as pointCode',
      'points.kind',
      'points.unit',
      'latestValues.ts',
      'latestValues.value',
      'latestValues.valueText as text',
      'latestValues.quality',
      'latestValues.lastGoodAt',
    ])
    .where('points.estateId', '=', estateId)
    .where('points.kind', '<>', 'event')
  if (filter.deviceId !== undefined) select = select.where('devices.id', '=', filter.deviceId)
  if (filter.buildingId !== undefined) select = select.where('devices.buildingId', '=', filter.buildingId)
  return select.orderBy('devices.code').orderBy('devices.id').orderBy('points.code').execute()
}

export function registerSeriesRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const security = [{ bearerAuth: [] }]

  app.get(
    '/api/v1/points/:id/latest',
    {
      config: { access: { estate: { from: 'params.id', record: { table: 'points', label: 'point' } } } },
      schema: {
        tags: ['timeseries'],
        summary: "A point's latest value; 404 when it has never reported",
        security,
        params: IdParams,
        response: { 200: LatestValue, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const row = await db
        .selectFrom('latestValues')
        .select(['pointId', 'ts', 'value', 'valueText', 'quality', 'reason', 'lastGoodAt', 'receivedAt'])
        .where('pointId', '=', id)
        .executeTakeFirst()
      if (!row) {
        throw new ApiError('EH_ERR_NOT_FOUND', 'the point has not reported a value yet', [
          detail('params.id', 'has no latest value', 'point.noValue'),
        ])
      }
      const { valueText, ...rest } = row
      return { ...rest, text: valueText }
    },
  )

  app.get(
    '/api/v1/latest-values',
    {
      config: {
        access: {
          estate: { from: 'query.estateId' },
          references: {
            'query.deviceId': { table: 'devices', label: 'device', same: true },
            'query.buildingId': { table: 'buildings', label: 'building', same: true },
          },
        },
      },
      schema: {
        tags: ['timeseries'],
        summary: 'The latest value of every point of an estate (a device, a building)',
        description:
          'Event points are left out (they have no values). A point that has never reported is listed with nulls.',
        security,
        querystring: LatestValuesQuery,
        response: { 200: Type.Object({ items: Type.Array(LatestValueItem) }), ...errorReplies },
      },
    },
    async (request) => {
      const query = request.query as { estateId: string; deviceId?: string; buildingId?: string }
      const items = await latestValuesOf(db, request.estateId, query)
      return { items }
    },
  )

  app.get(
    '/api/v1/points/:id/series',
    {
      config: { access: { estate: { from: 'params.id', record: { table: 'points', label: 'point' } } } },
      schema: {
        tags: ['timeseries'],
        summary: "A point's readings, raw or aggregated per 15 min, hour or local day",
        description: `Readings in [from, to). raw: every reading (all qualities), at most ${RAW_LIMIT.toLocaleString('en')}; more is a 400. Buckets: aggregates of good and uncertain numeric readings, at most ${MAX_BUCKET_SPAN_DAYS} days; 15m/1h align to the Unix epoch, 1d to local midnight in tz.`,
        security,
        params: IdParams,
        querystring: SeriesQuery,
        response: { 200: Type.Union([RawSeries, BucketedSeries]), ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const query = request.query as { from?: string; to?: string; bucket?: Bucket; tz?: string }
      const estateId = request.estateId
      const to = query.to === undefined ? new Date() : new Date(query.to)
      const from = query.from === undefined ? new Date(to.getTime() - DEFAULT_SPAN_MS) : new Date(query.from)
      if (Number.isNaN(from.getTime()))
        throw invalid('query.from', 'must be an ISO 8601 date-time', 'date.dateTime')
      if (Number.isNaN(to.getTime()))
        throw invalid('query.to', 'must be an ISO 8601 date-time', 'date.dateTime')
      if (from.getTime() >= to.getTime()) {
        throw invalid(
          'query.from',
          `must be before query.to (${to.toISOString()})`,
          'range.fromNotBeforeTo',
          { to: to.toISOString() },
        )
      }
      let tz: string | undefined
      if (query.tz !== undefined) {
        tz = ianaZone(query.tz)
        if (tz === undefined)
          throw invalid(
            'query.tz',
            `must be an IANA time zone such as Asia/Shanghai, got ${JSON.stringify(query.tz)}`,
            'timezone.unknown',
            { timezone: String(query.tz) },
          )
      }
      const bucket = query.bucket ?? 'raw'

      if (bucket === 'raw') {
        const items = await rawReadings(db, { pointId: id, from, to })
        if (items.length > RAW_LIMIT) {
          throw invalid(
            'query.bucket',
            `more than ${RAW_LIMIT} readings between ${from.toISOString()} and ${to.toISOString()}; ask for a bucket (15m, 1h, 1d) or a shorter range`,
            'series.tooManyReadings',
            { limit: RAW_LIMIT },
          )
        }
        return { bucket, items }
      }

      if (to.getTime() - from.getTime() > MAX_BUCKET_SPAN_DAYS * DAY_MS) {
        throw invalid(
          'query.to',
          `must be at most ${MAX_BUCKET_SPAN_DAYS} days after query.from`,
          'range.maxDays',
          { max: MAX_BUCKET_SPAN_DAYS },
        )
      }
      const point = await db
        .selectFrom('points')
        .select('kind')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      const zone = tz ?? (await estateZone(db, estateId))
      try {
        const items = await bucketedSeries(db, {
          pointId: id,
          from,
          to,
          bucket,
          tz: zone,
          counter: point.kind === 'counter',
        })
        return { bucket, tz: zone, items }
      } catch (error) {
        if (isUnknownZoneError(error))
          throw invalid('query.tz', `the database does not know the time zone ${zone}`, 'timezone.unknown', {
            timezone: zone,
          })
        throw error
      }
    },
  )
}
