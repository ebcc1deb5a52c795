import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import { errorReplies, Id, Nullable, Page, PageQuery, Timestamp } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'

const DeviceEvent = Type.Object(
  {
    id: Type.String({ description: 'event id (a number, as text)' }),
    ts: Timestamp,
    type: Type.String(),
    source: Type.String({ description: '`<device>/<door>` for access events, the device code otherwise' }),
    deviceId: Nullable(Id),
    deviceCode: Nullable(Type.String()),
    data: Type.Object({}, { additionalProperties: true }),
    historical: Type.Boolean({ description: 'replayed from the gateway buffer after an outage' }),
    buildingId: Nullable(Id),
    buildingCode: Nullable(Type.String({ description: "the building of the event's device" })),
    customerId: Nullable(Id),
    customerCode: Nullable(Type.String()),
    customerName: Nullable(
      Type.String({
        description: 'the person whose registered credential (card, face, QR, PIN) the event carries',
      }),
    ),
  },
  { title: 'DeviceEvent' },
)

/** `a/b` as a LIKE pattern for the sources below it: `a/b/…`; the caller's % and _ match themselves. */
const below = (source: string) => `${source.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`

/**
 * Device events (door granted / denied / forced, alarm inputs, state changes) as stored by
 * the ingest, searchable by time, type, source, device and person, newest first.
 *
 * The customer is the one whose credential the event carried, when that credential was
 * registered (customer-credentials) at the time the hub stored the event; null otherwise.
 * The building is the one of the event's device.
 */
export function registerEventRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.get(
    '/api/v1/device-events',
    {
      config: {
        access: {
          estate: { from: 'query.estateId', optional: true },
          references: {
            'query.deviceId': { table: 'devices', label: 'device' },
            'query.customerId': { table: 'customers', label: 'customer' },
          },
        },
      },
      schema: {
        tags: ['events'],
        summary: 'Search device events of the estates you may see, newest first',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object(
          {
            ...PageQuery,
            estateId: Type.Optional(Id),
            from: Type.Optional(
              Type.String({ format: 'date-time', description: 'from this time (inclusive)' }),
            ),
            to: Type.Optional(
              Type.String({ format: 'date-time', description: 'before this time (exclusive)' }),
            ),
            type: Type.Optional(
              Type.String({ minLength: 1, maxLength: 32, description: 'granted, forced…' }),
            ),
            source: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 200,
                description: 'a source and everything below it: `ctl-1` (every door of ctl-1), `ctl-1/east`',
              }),
            ),
            deviceId: Type.Optional(Id),
            customerId: Type.Optional(Id),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(DeviceEvent), ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as {
        limit?: number
        offset?: number
        estateId?: string
        from?: string
        to?: string
        type?: string
        source?: string
        deviceId?: string
        customerId?: string
      }
      const limit = q.limit ?? 50
      const offset = q.offset ?? 0
      if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) >= Date.parse(q.to))
        throw invalid('query.to', 'must be after from', 'range.toBeforeFrom')
      const estates = request.estateIds
      if (estates.length === 0) return { items: [], total: 0, limit, offset }

      let select = db.selectFrom('deviceEvents as e').where('e.estateId', '=', anyUuid(estates))
      if (q.from !== undefined) select = select.where('e.ts', '>=', new Date(q.from))
      if (q.to !== undefined) select = select.where('e.ts', '<', new Date(q.to))
      if (q.type !== undefined) select = select.where('e.type', '=', q.type)
      if (q.deviceId !== undefined) select = select.where('e.deviceId', '=', q.deviceId)
      if (q.customerId !== undefined) select = select.where('e.customerId', '=', q.customerId)
      const source = q.source
      if (source !== undefined)
        select = select.where((eb) =>
          eb.or([eb('e.source', '=', source), eb('e.source', 'like', below(source))]),
        )
      const [rows, count] = await Promise.all([
        select
          .leftJoin('devices as d', 'd.id', 'e.deviceId')
          .leftJoin('buildings as b', 'b.id', 'd.buildingId')
          .leftJoin('customers as c', 'c.id', 'e.customerId')
          .select([
            'e.id',
            'e.ts',
            'e.type',
            'e.source',
            'e.deviceId',
            'd.code as deviceCode',
            'e.data',
            'e.historical',
            'd.buildingId',
            'b.code as buildingCode',
            'e.customerId',
            'c.code as customerCode',
            'c.name as customerName',
          ])
          .orderBy('e.ts', 'desc')
          .orderBy('e.id', 'desc')
          .limit(limit)
          .offset(offset)
          .execute(),
        select.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow(),
      ])
      return {
        items: rows.map((row) => ({
          ...row,
          id: String(row.id),
          ts: new Date(row.ts).toISOString(),
          deviceCode: row.deviceCode ?? null,
          buildingId: row.buildingId ?? null,
          buildingCode: row.buildingCode ?? null,
          customerCode: row.customerCode ?? null,
          customerName: row.customerName ?? null,
        })),
        total: Number(count.total),
        limit,
        offset,
      }
    },
  )
}
