import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import type { DeviceProtocol } from '../store/database-schema.ts'
import { checkShape, connectionSchemas } from './protocol-schemas.ts'

export const protocols = [
  'modbus-tcp',
  'modbus-rtu',
  'modbus-rtu-over-tcp',
  'bacnet-ip',
  'access-webhook',
] as const

const Connection = Type.Record(Type.String(), Type.Unknown(), {
  description: 'how the gateway reaches the device; its keys depend on the protocol (docs/data-model.md)',
})
const fields = {
  gatewayId: Id,
  code: Code,
  name: Name,
  protocol: OneOf(protocols),
  connection: Connection,
  deviceClass: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 64, description: 'pump, lift, meter, door…' })),
  ),
  buildingId: Type.Optional(Nullable(Id)),
  unitId: Type.Optional(Nullable(Id)),
  pollIntervalMs: Type.Optional(Nullable(Type.Integer({ minimum: 100, maximum: 86_400_000 }))),
  enabled: Type.Optional(Type.Boolean()),
}

/** A device a gateway talks to: a meter, a BACnet controller, an access controller. */
export const deviceResource: EstateResource = {
  path: 'devices',
  table: 'devices',
  label: 'device',
  tag: 'devices',
  writePermission: 'devices.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      ...fields,
      deviceClass: Nullable(Type.String()),
      buildingId: Nullable(Id),
      unitId: Nullable(Id),
      pollIntervalMs: Nullable(Type.Integer()),
      enabled: Type.Boolean(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'Device' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Partial(Type.Object({ ...fields, gatewayId: Id }), {
    additionalProperties: false,
    minProperties: 1,
  }),
  filters: {
    gatewayId: Id,
    protocol: OneOf(protocols),
    buildingId: Id,
    unitId: Id,
    deviceClass: Type.String(),
  },
  search: ['code', 'name'],
  orderBy: 'code',
  references: {
    gatewayId: { table: 'gateways', label: 'gateway' },
    buildingId: { table: 'buildings', label: 'building' },
    unitId: { table: 'units', label: 'unit' },
  },
  estateFrom: 'gatewayId',
  async check({ db, existing, next }) {
    checkShape(
      connectionSchemas[next.protocol as DeviceProtocol],
      next.connection,
      'body.connection',
      `${next.protocol} device`,
    )
    if (existing && next.protocol !== existing.protocol) {
      const points = await db
        .selectFrom('points')
        .select('id')
        .where('deviceId', '=', existing.id)
        .executeTakeFirst()
      if (points)
        throw invalid(
          'body.protocol',
          'cannot change while the device has points addressed for the old protocol',
        )
    }
  },
}
