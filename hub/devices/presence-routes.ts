import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import { errorReplies, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'

/** Used when the estate has no metering_settings row. */
export const DEFAULT_OFFLINE_AFTER_INTERVALS = 3
/** Counters are read on the gateway's schedule.counterIntervalMs (default 15 min), whatever the device says. */
export const COUNTER_INTERVAL_MS = 900_000
/** A device with live points and no pollIntervalMs of its own. */
export const DEFAULT_POLL_INTERVAL_MS = 60_000

const PresenceParams = Type.Object({ estateId: Id }, { additionalProperties: false })
const PresenceQuery = Type.Object(
  {
    offlineAfterIntervals: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description:
          "a device is offline after this many poll intervals without a good reading; default: the estate's metering setting, else 3",
      }),
    ),
  },
  { additionalProperties: false },
)

const GatewayPresence = Type.Object({
  id: Id,
  code: Type.String(),
  name: Type.String(),
  status: OneOf(
    ['online', 'offline', 'unknown'] as const,
    'from the gateway’s retained status and last will',
  ),
  statusAt: Nullable(Timestamp),
  lastBatchAt: Nullable(Timestamp),
})

const DevicePresence = Type.Object({
  id: Id,
  code: Type.String(),
  name: Type.String(),
  gatewayId: Id,
  lastSeenAt: Nullable(Timestamp),
  online: Type.Boolean(),
  intervalMs: Type.Integer({ description: 'the poll interval the online test used' }),
  pointsBad: Type.Integer({ description: 'points whose latest reading is bad' }),
})

const Presence = Type.Object(
  {
    offlineAfterIntervals: Type.Integer(),
    gateways: Type.Array(GatewayPresence),
    devices: Type.Array(DevicePresence),
  },
  { title: 'Presence' },
)

/**
 * The interval a device's readings are expected at. Counters are read on the gateway's
 * counter schedule whatever the device's pollIntervalMs (docs/gateway.md), so a device with
 * only counter points gets that; any other device its own interval, else one minute.
 */
export function expectedIntervalMs(device: {
  pollIntervalMs: number | null
  valuePoints: number
  counterPoints: number
}): number {
  if (device.valuePoints > 0 && device.counterPoints === device.valuePoints) return COUNTER_INTERVAL_MS
  return device.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
}

export function registerPresenceRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.get(
    '/api/v1/estates/:estateId/presence',
    {
      config: { access: { estate: { from: 'params.estateId' } } },
      schema: {
        tags: ['presence'],
        summary: 'Which gateways and devices of an estate are online',
        description:
          "Gateways: the status from gateway_links ('unknown' before the hub heard one). Devices: online when the newest good reading of any of its points is at most offlineAfterIntervals × its poll interval old.",
        security: [{ bearerAuth: [] }],
        params: PresenceParams,
        querystring: PresenceQuery,
        response: { 200: Presence, ...errorReplies },
      },
    },
    async (request) => {
      const query = request.query as { offlineAfterIntervals?: number }
      return estatePresence(db, request.estateId, query.offlineAfterIntervals)
    },
  )
}

/**
 * Which gateways and devices of one estate are online (the presence route, and the overview's
 * counts): gateways by their link status, devices by the age of their newest good reading
 * against `offlineAfterIntervals` × their expected interval (default: the estate's metering
 * setting, else 3).
 */
export async function estatePresence(
  db: Kysely<Database>,
  estateId: string,
  offlineAfterIntervals?: number,
  now = Date.now(),
) {
  const settings = await db
    .selectFrom('meteringSettings')
    .select('offlineAfterIntervals')
    .where('estateId', '=', estateId)
    .executeTakeFirst()
  const intervals =
    offlineAfterIntervals ?? settings?.offlineAfterIntervals ?? DEFAULT_OFFLINE_AFTER_INTERVALS

  const [gateways, devices] = await Promise.all([
    db
      .selectFrom('gateways')
      .leftJoin('gatewayLinks', 'gatewayLinks.gatewayId', 'gateways.id')
      .select([
        'gateways.id',
        'gateways.code',
        'gateways.name',
        'gatewayLinks.status',
        'gatewayLinks.statusAt',
        'gatewayLinks.lastBatchAt',
      ])
      .where('gateways.estateId', '=', estateId)
      .orderBy('gateways.code')
      .execute(),
    db
      .selectFrom('devices')
      .leftJoin('points', 'points.deviceId', 'devices.id')
      .leftJoin('latestValues', 'latestValues.pointId', 'points.id')
      .select((eb) => [
        'devices.id',
        'devices.code',
        'devices.name',
        'devices.gatewayId',
        'devices.pollIntervalMs',
        eb.fn.max('latestValues.lastGoodAt').as('lastSeenAt'),
        sql<number>`count(points.id) filter (where points.kind <> 'event')::integer`.as('valuePoints'),
        sql<number>`count(points.id) filter (where points.kind = 'counter')::integer`.as('counterPoints'),
        sql<number>`count(latest_values.point_id) filter (where latest_values.quality = 'bad')::integer`.as(
          'pointsBad',
        ),
      ])
      .where('devices.estateId', '=', estateId)
      .groupBy('devices.id')
      .orderBy('devices.code')
      .orderBy('devices.id')
      .execute(),
  ])

  return {
    offlineAfterIntervals: intervals,
    gateways: gateways.map((g) => ({
      id: g.id,
      code: g.code,
      name: g.name,
      status: g.status ?? ('unknown' as const),
      statusAt: g.statusAt,
      lastBatchAt: g.lastBatchAt,
    })),
    devices: devices.map((d) => {
      const intervalMs = expectedIntervalMs({
        pollIntervalMs: d.pollIntervalMs,
        valuePoints: Number(d.valuePoints),
        counterPoints: Number(d.counterPoints),
      })
      const lastSeenAt = d.lastSeenAt === null ? null : new Date(d.lastSeenAt)
      return {
        id: d.id,
        code: d.code,
        name: d.name,
        gatewayId: d.gatewayId,
        lastSeenAt,
        online: lastSeenAt !== null && now - lastSeenAt.getTime() <= intervals * intervalMs,
        intervalMs,
        pointsBad: Number(d.pointsBad),
      }
    }),
  }
}
