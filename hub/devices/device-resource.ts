import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { checkShape, connectionSchemaOf, protocolNames } from './protocol-schemas.ts'

const Connection = Type.Record(Type.String(), Type.Unknown(), {
  description: 'how the gateway reaches the device; its keys depend on the protocol (docs/data-model.md)',
})
// The protocol list is the registry's (drivers/protocols.ts), read when the routes are built
// (the getters below), so a protocol registered before buildApp is accepted like the others.
const Protocol = () => OneOf(protocolNames(), 'a protocol of the registry (GET /api/v1/device-protocols)')
const fields = () => ({
  gatewayId: Id,
  code: Code,
  name: Name,
  protocol: Protocol(),
  connection: Connection,
  deviceClass: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 64, description: 'pump, lift, meter, door…' })),
  ),
  buildingId: Type.Optional(Nullable(Id)),
  unitId: Type.Optional(Nullable(Id)),
  pollIntervalMs: Type.Optional(Nullable(Type.Integer({ minimum: 100, maximum: 86_400_000 }))),
  enabled: Type.Optional(Type.Boolean()),
})

/** A device a gateway talks to: a meter, a BACnet controller, an access controller. */
export const deviceResource: EstateResource = {
  path: 'devices',
  table: 'devices',
  label: 'device',
  tag: 'devices',
  writePermission: 'devices.write',
  get record() {
    return Type.Object(
      {
        id: Id,
        estateId: Id,
        ...fields(),
        deviceClass: Nullable(Type.String()),
        buildingId: Nullable(Id),
        unitId: Nullable(Id),
        pollIntervalMs: Nullable(Type.Integer()),
        enabled: Type.Boolean(),
        createdAt: Timestamp,
        updatedAt: Timestamp,
      },
      { title: 'Device' },
    )
  },
  get create() {
    return Type.Object(fields(), { additionalProperties: false })
  },
  get update() {
    return Type.Partial(Type.Object({ ...fields(), gatewayId: Id }), {
      additionalProperties: false,
      minProperties: 1,
    })
  },
  get filters() {
    return { gatewayId: Id, protocol: Protocol(), buildingId: Id, unitId: Id, deviceClass: Type.String() }
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
      connectionSchemaOf(next.protocol as string) ?? Type.Never(),
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
          'device.protocolLocked',
        )
    }
  },
}
