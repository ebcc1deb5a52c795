import { Type } from 'typebox'
import { type DataType, registerSpan } from '../../gateway/contract/index.ts'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Decimal, DecimalOut, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import type { DeviceProtocol } from '../store/database-schema.ts'
import { checkShape, dataTypes, pointAddressSchemas } from './protocol-schemas.ts'

export const pointKinds = ['counter', 'gauge', 'state', 'event'] as const
export const byteOrders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const

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
      pointAddressSchemas[device.protocol as DeviceProtocol],
      next.address,
      'body.address',
      `${device.protocol} point`,
    )
    const address = next.address as { table?: string; register?: number; bit?: number; length?: number }
    if (
      address.table &&
      (address.table === 'coil' || address.table === 'discrete-input') !== (next.dataType === 'bool')
    ) {
      throw invalid(
        'body.dataType',
        `a ${address.table} holds ${address.table.includes('register') ? 'registers, not a bool' : 'one bool'}`,
      )
    }
    if (next.dataType === 'bit' && address.bit === undefined)
      throw invalid('body.address.bit', 'is required for dataType bit')
    const words = registerSpan(next.dataType as DataType, address.length)
    if (address.register !== undefined && address.register + words - 1 > 65535) {
      throw invalid(
        'body.address.register',
        `a ${next.dataType} needs ${words} registers and would run past 65535`,
      )
    }
    if (words > 1 && address.table && !next.byteOrder)
      throw invalid('body.byteOrder', `is required for ${next.dataType} (ABCD, CDAB, BADC or DCBA)`)
  },
}
