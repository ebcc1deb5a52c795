import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { hashPassword } from '../auth/password.ts'
import { errorReplies, IdParams } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { gatewayRecord, gatewayResource } from './gateway-resource.ts'

const WithSecret = Type.Object({
  gateway: gatewayRecord,
  secret: Type.String({ description: 'shown once: put it in the gateway config (gateway.secret)' }),
})

const newSecret = () => randomBytes(24).toString('base64url')

export function registerGatewayRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const security = [{ bearerAuth: [] }]
  app.post(
    '/api/v1/gateways',
    {
      config: { access: { estate: { from: 'body.estateId' }, permission: 'devices.write' } },
      schema: {
        tags: ['devices'],
        summary: 'Register a gateway; the reply holds its secret, shown only this once',
        security,
        body: gatewayResource.create,
        response: { 201: WithSecret, ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as { estateId: string; code: string; name: string; secret?: string }
      const estateId = request.estateId
      const secret = body.secret ?? newSecret()
      const gateway = await db
        .insertInto('gateways')
        .values({
          estateId,
          code: body.code,
          name: body.name,
          secretHash: await hashPassword(secret),
          enabled: true,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return reply.status(201).send({ gateway, secret })
    },
  )

  app.post(
    '/api/v1/gateways/:id/rotate-secret',
    {
      config: {
        access: {
          estate: { from: 'params.id', record: { table: 'gateways', label: 'gateway' } },
          permission: 'devices.write',
        },
      },
      schema: {
        tags: ['devices'],
        summary: "Replace a gateway's secret; the old one stops working at once",
        security,
        params: IdParams,
        response: { 200: WithSecret, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const secret = newSecret()
      const gateway = await db
        .updateTable('gateways')
        .set({ secretHash: await hashPassword(secret), secretRotatedAt: new Date(), updatedAt: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      return { gateway, secret }
    },
  )
}
