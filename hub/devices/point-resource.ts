import { Type } from 'typebox'
import { byteOrders, pointKinds } from '../../gateway/contract/index.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Decimal, DecimalOut, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import {
  checkPointRecord,
  checkShape,
  dataTypes,
  pointAddressSchemaOf,
  protocolProblem,
} from './protocol-schemas.ts'

export { byteOrders, pointKinds }

const fields = {
  deviceId: Id,
  code: Code,
  name: Name,
  address: Type.Record(Type.String(), Type.Unknown(), {
    description: 'protocol address (docs/data-model.md)',
  }),
  dataType: OneOf(dataTypes),
  byteOrder: Type.Optional(Nullable(OneOf(byteOrders, 'byte/word order of multi-register values'))),
  scale: Type.Optional(Decimal(10, 'value = raw × scale + offset; may be negative', true)),
  offset: Type.Optional(Decimal(10, undefined, true)),
  unit: Type.Optional(Nullable(Type.String({ maxLength: 32, description: 'kWh, m³, °C…' }))),
  kind: OneOf(pointKinds, 'counter: cumulative register billed from; gauge; state; event'),
}

/** A value a device offers: one register (or group of registers) or one BACnet property. */
export const pointResource: EstateResource = {
  path: 'points',
  table: 'points',
  label: 'point',
  tag: 'devices',
  writePermission: 'devices.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      ...fields,
      byteOrder: Nullable(Type.String()),
      scale: DecimalOut,
      offset: DecimalOut,
      unit: Nullable(Type.String()),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'Point' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Partial(Type.Object({ ...fields, deviceId: Id }), {
    additionalProperties: false,
    minProperties: 1,
  }),
  filters: { deviceId: Id, kind: OneOf(pointKinds), code: Code },
  search: ['code', 'name'],
  orderBy: 'code',
  references: { deviceId: { table: 'devices', label: 'device' } },
  estateFrom: 'deviceId',
  decimals: { scale: 10, offset: 10 },
  signedDecimals: ['scale', 'offset'],
  async check({ db, next }) {
    const device = await db
      .selectFrom('devices')
      .select('protocol')
      .where('id', '=', next.deviceId as string)
      .executeTakeFirstOrThrow()
    checkShape(
      pointAddressSchemaOf(device.protocol) ?? Type.Never(),
      next.address,
      'body.address',
      `${device.protocol} point`,
    )
    // The protocol's own rules (a Modbus coil holds a bool, a float32 needs a byte order).
    const problem = checkPointRecord(device.protocol, {
      address: next.address as Record<string, unknown>,
      dataType: next.dataType as string,
      byteOrder: next.byteOrder as string | null | undefined,
    })
    if (problem) throw protocolProblem(problem)
  },
}
