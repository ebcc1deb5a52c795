import { Type } from 'typebox'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Id, Name, Timestamp } from '../kernel/schema-parts.ts'

export const GatewayCode = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
  description: 'the gateway id it uses on MQTT (client id and username)',
})
export const GatewaySecret = Type.String({ minLength: 16, maxLength: 200 })

export const gatewayRecord = Type.Object(
  {
    id: Id,
    estateId: Id,
    code: GatewayCode,
    name: Name,
    enabled: Type.Boolean(),
    secretRotatedAt: Timestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'Gateway' },
)

/**
 * An on-site gateway. Its secret is stored only as a scrypt hash and shown once, when it is
 * created or rotated (gateway-routes.ts); the generic create is replaced for that reason.
 */
export const gatewayResource: EstateResource = {
  path: 'gateways',
  table: 'gateways',
  label: 'gateway',
  tag: 'devices',
  writePermission: 'devices.write',
  record: gatewayRecord,
  create: Type.Object(
    { estateId: Id, code: GatewayCode, name: Name, secret: Type.Optional(GatewaySecret) },
    { additionalProperties: false },
  ),
  update: Type.Partial(Type.Object({ name: Name, enabled: Type.Boolean() }), {
    additionalProperties: false,
    minProperties: 1,
  }),
  filters: { code: GatewayCode, enabled: Type.Boolean() },
  search: ['code', 'name'],
  orderBy: 'code',
  references: {},
  estateFrom: 'estateId',
  without: ['create'],
}
