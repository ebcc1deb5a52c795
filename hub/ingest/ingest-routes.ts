import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import { errorReplies, Id, Nullable, Timestamp } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'

const strict = { additionalProperties: false } as const

/**
 * What reached the hub from an estate's gateways but could not be stored as readings: the
 * "reported" half of "kept and reported". Engineers use it to find a point configured on a
 * gateway but not on the hub, or a gateway sending what the protocol refuses.
 */
export function registerIngestRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.get(
    '/api/v1/estates/:estateId/ingest-problems',
    {
      config: { access: { estate: { from: 'params.estateId' } } },
      schema: {
        tags: ['presence'],
        summary:
          'Readings and events set aside (by gateway and name, with the latest reason) and dead-lettered payloads of the estate’s gateways',
        security: [{ bearerAuth: [] }],
        params: Type.Object({ estateId: Id }, strict),
        querystring: Type.Object(
          { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 400, default: 7 })) },
          strict,
        ),
        response: {
          200: Type.Object({
            unmatched: Type.Array(
              Type.Object({
                gatewayId: Id,
                gatewayCode: Type.String(),
                name: Type.String(),
                count: Type.Integer(),
                reason: Type.String(),
                lastAt: Timestamp,
              }),
            ),
            deadLetters: Type.Array(
              Type.Object({
                id: Type.Integer(),
                gatewayCode: Nullable(Type.String()),
                topic: Type.String(),
                reason: Type.String(),
                payloadBytes: Type.Integer(),
                receivedAt: Timestamp,
              }),
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const days = (request.query as { days?: number }).days ?? 7
      const estateId = request.estateId
      const since = new Date(Date.now() - days * 86_400_000)
      const unmatched = await sql<{
        gatewayId: string
        gatewayCode: string
        name: string
        count: number
        reason: string
        lastAt: Date
      }>`
        select u.gateway_id, g.code as gateway_code, u.name, count(*)::int as count,
          (array_agg(u.reason order by u.id desc))[1] as reason, max(u.received_at) as last_at
        from unmatched_readings u join gateways g on g.id = u.gateway_id
        where g.estate_id = ${estateId} and u.received_at >= ${since}
        group by u.gateway_id, g.code, u.name
        order by last_at desc limit 500`.execute(db)
      const deadLetters = await db
        .selectFrom('deadLetters')
        .innerJoin('gateways', 'gateways.code', 'deadLetters.gatewayCode')
        .select([
          'deadLetters.id',
          'deadLetters.gatewayCode',
          'deadLetters.topic',
          'deadLetters.reason',
          'deadLetters.payloadBytes',
          'deadLetters.receivedAt',
        ])
        .where('gateways.estateId', '=', estateId)
        .where('deadLetters.receivedAt', '>=', since)
        .orderBy('deadLetters.id', 'desc')
        .limit(200)
        .execute()
      return {
        unmatched: unmatched.rows.map((r) => ({ ...r, lastAt: new Date(r.lastAt).toISOString() })),
        deadLetters: deadLetters.map((d) => ({ ...d, receivedAt: d.receivedAt.toISOString() })),
      }
    },
  )
}
