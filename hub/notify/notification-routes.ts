import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { Type } from 'typebox'
import { conflict, notFound } from '../kernel/api-error.ts'
import { loose, type Row } from '../kernel/estate-resource.ts'
import {
  errorReplies,
  Id,
  IdParams,
  Nullable,
  OneOf,
  Page,
  PageQuery,
  Timestamp,
} from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import {
  channelKinds,
  checkChannel,
  notificationChannelResource,
  notificationChannelUpdate,
  notificationTopics,
  toColumns,
} from './notification-channel-resource.ts'
import { notificationDeliveryStatuses as statuses } from './notify-vocabulary.ts'

const Delivery = Type.Object(
  {
    id: Type.String({ description: 'delivery id (a number, as text): the x-estatehub-delivery header' }),
    channelId: Id,
    channelName: Type.String(),
    kind: OneOf(channelKinds),
    estateId: Id,
    topic: OneOf(notificationTopics),
    status: OneOf(statuses),
    attempts: Type.Integer(),
    nextAttemptAt: Timestamp,
    lastError: Nullable(Type.String()),
    createdAt: Timestamp,
    sentAt: Nullable(Timestamp),
    payload: Type.Object({}, { additionalProperties: true }),
  },
  { title: 'NotificationDelivery' },
)

const DeliveryParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9]{1,18}$', description: 'delivery id' }) },
  { additionalProperties: false },
)

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString())

function selectDeliveries(db: Kysely<Database>) {
  return db
    .selectFrom('notificationDeliveries as d')
    .innerJoin('notificationChannels as c', 'c.id', 'd.channelId')
    .select([
      'd.id',
      'd.channelId',
      'c.name as channelName',
      'c.kind',
      'c.estateId',
      'd.topic',
      'd.status',
      'd.attempts',
      'd.nextAttemptAt',
      'd.lastError',
      'd.createdAt',
      'd.sentAt',
      'd.payload',
    ])
}

type DeliveryRow = Awaited<ReturnType<ReturnType<typeof selectDeliveries>['executeTakeFirstOrThrow']>>

const presentDelivery = (row: DeliveryRow) => ({
  ...row,
  id: String(row.id),
  nextAttemptAt: iso(row.nextAttemptAt),
  createdAt: iso(row.createdAt),
  sentAt: iso(row.sentAt),
})

/**
 * Notifications beyond the generic channel routes: changing a channel (its recipients and
 * topics are jsonb), the outbox of deliveries so staff see what failed and why, and putting a
 * failed delivery back in the queue. `dispatcher`, when given, is poked to send it at once.
 */
export function registerNotificationRoutes(
  app: FastifyInstance,
  db: Kysely<Database>,
  dispatcher?: { poke(): void },
) {
  const tags = ['notifications']
  const security = [{ bearerAuth: [] }]
  const resource = notificationChannelResource
  const present = (row: Row) => (resource.present ? resource.present(row) : row)
  const channel = { table: 'notificationChannels', label: 'notification channel' } as const
  // A delivery has no estate of its own: it is its channel's.
  const delivery = {
    label: 'notification delivery',
    estateOf: async (database: Kysely<Database>, id: string) =>
      (
        await database
          .selectFrom('notificationDeliveries as d')
          .innerJoin('notificationChannels as c', 'c.id', 'd.channelId')
          .select('c.estateId')
          .where('d.id', '=', id as never)
          .executeTakeFirst()
      )?.estateId,
  }

  app.patch(
    '/api/v1/notification-channels/:id',
    {
      config: {
        access: { estate: { from: 'params.id', record: channel }, permission: resource.writePermission },
      },
      schema: {
        tags,
        summary:
          'Change a notification channel (its kind and estate stay; a secret given replaces the old one)',
        security,
        params: IdParams,
        body: notificationChannelUpdate,
        response: { 200: resource.record, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const body = request.body as Record<string, unknown>
      const row = await db.transaction().execute(async (trx) => {
        const existing = (await loose(trx)
          .selectFrom('notificationChannels')
          .selectAll()
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst()) as Row | undefined
        if (!existing) throw notFound(resource.label)
        checkChannel({ ...existing, ...body })
        return loose(trx)
          .updateTable('notificationChannels')
          .set({ ...toColumns({ ...body }), updatedAt: new Date() })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow()
      })
      return present(row as Row)
    },
  )

  app.get(
    '/api/v1/notification-deliveries',
    {
      config: {
        access: {
          estate: { from: 'query.estateId', optional: true },
          references: { 'query.channelId': channel },
        },
      },
      schema: {
        tags,
        summary: 'Notification deliveries of the estates you may see, newest first (what failed, and why)',
        security,
        querystring: Type.Object(
          {
            ...PageQuery,
            estateId: Type.Optional(Id),
            channelId: Type.Optional(Id),
            status: Type.Optional(OneOf(statuses)),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Delivery), ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as {
        limit?: number
        offset?: number
        estateId?: string
        channelId?: string
        status?: (typeof statuses)[number]
      }
      const limit = q.limit ?? 50
      const offset = q.offset ?? 0
      const estates = request.estateIds
      if (estates.length === 0) return { items: [], total: 0, limit, offset }
      let select = selectDeliveries(db).where('c.estateId', '=', anyUuid(estates))
      if (q.channelId !== undefined) select = select.where('d.channelId', '=', q.channelId)
      if (q.status !== undefined) select = select.where('d.status', '=', q.status)
      const [rows, count] = await Promise.all([
        select.orderBy('d.createdAt', 'desc').orderBy('d.id', 'desc').limit(limit).offset(offset).execute(),
        select.clearSelect().select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow(),
      ])
      return { items: rows.map(presentDelivery), total: Number(count.total), limit, offset }
    },
  )

  app.post(
    '/api/v1/notification-deliveries/:id/retry',
    {
      config: {
        access: { estate: { from: 'params.id', record: delivery }, permission: 'workOrders.manage' },
      },
      schema: {
        tags,
        summary: 'Put a failed delivery back in the queue, its attempts reset',
        security,
        params: DeliveryParams,
        response: { 200: Delivery, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const row = await db.transaction().execute(async (trx) => {
        const found = await selectDeliveries(trx)
          .where('d.id', '=', id as never)
          .forUpdate()
          .executeTakeFirst()
        if (!found) throw notFound('notification delivery')
        if (found.status !== 'failed')
          throw conflict(
            'params.id',
            `the delivery is ${found.status}; only a failed one is tried again`,
            'delivery.notFailed',
            { status: found.status },
          )
        await trx
          .updateTable('notificationDeliveries')
          .set({ status: 'pending', attempts: 0, nextAttemptAt: new Date() })
          .where('id', '=', id as never)
          .execute()
        return { ...found, status: 'pending' as const, attempts: 0, nextAttemptAt: new Date() }
      })
      dispatcher?.poke()
      return presentDelivery(row)
    },
  )
}
