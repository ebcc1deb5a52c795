import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { describeProtocols } from '../../gateway/contract/index.ts'
import { errorReplies } from '../kernel/schema-parts.ts'

const DeviceProtocol = Type.Object(
  {
    name: Type.String({ description: 'as a device record and a gateway config spell it: modbus-tcp' }),
    family: Type.String({ description: 'one driver serves every protocol of a family: modbus' }),
    title: Type.String(),
    connection: Type.Unknown({ description: "JSON schema of a device's connection" }),
    address: Type.Unknown({ description: "JSON schema of a point's address" }),
  },
  { title: 'DeviceProtocol' },
)

/**
 * The protocols the hub accepts, from the registry (drivers/protocols.ts), with the JSON
 * schemas of their connection and point address: the console draws its device form from it,
 * so a new protocol needs no console change.
 */
export function registerProtocolRoutes(app: FastifyInstance) {
  app.get(
    '/api/v1/device-protocols',
    {
      // Not estate data: the same list for everyone signed in.
      config: { access: { self: true } },
      schema: {
        tags: ['devices'],
        summary: 'Device protocols and the schemas of their connection and point address',
        security: [{ bearerAuth: [] }],
        response: { 200: Type.Object({ items: Type.Array(DeviceProtocol) }), ...errorReplies },
      },
    },
    async () => ({ items: describeProtocols() }),
  )
}
