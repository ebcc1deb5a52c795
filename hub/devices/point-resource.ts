import { Type } from 'typebox'
import { byteOrders, pointKinds } from '../../gateway/contract/index.ts'
import { invalid } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import {
  Code,
  Decimal as DecimalField,
  DecimalOut,
  Id,
  Name,
  Nullable,
  OneOf,
  Timestamp,
} from '../kernel/schema-parts.ts'
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
  scale: Type.Optional(DecimalField(10, 'value = raw × scale + offset; may be negative', true)),
  offset: Type.Optional(DecimalField(10, undefined, true)),
  unit: Type.Optional(Nullable(Type.String({ maxLength: 32, description: 'kWh, m³, °C…' }))),
  kind: OneOf(pointKinds, 'counter: cumulative register billed from; gauge; state; event'),
  plausibleMin: Type.Optional(
    Nullable(DecimalField(10, 'a reading below it is stored with quality bad and the reason', true)),
  ),
  plausibleMax: Type.Optional(
    Nullable(DecimalField(10, 'a reading above it is stored with quality bad and the reason', true)),
  ),
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
      plausibleMin: Nullable(DecimalOut),
      plausibleMax: Nullable(DecimalOut),
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
  decimals: { scale: 10, offset: 10, plausibleMin: 10, plausibleMax: 10 },
  signedDecimals: ['scale', 'offset', 'plausibleMin', 'plausibleMax'],
  async check({ db, next, existing }) {
    checkPlausibleRange(next, existing === undefined || next.plausibleMax !== existing.plausibleMax)
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

/** min < max when both are set; names the bound the request changed (the max on create). */
function checkPlausibleRange(next: Record<string, unknown>, maxChanged: boolean) {
  const { plausibleMin: min, plausibleMax: max } = next
  if (min === null || min === undefined || max === null || max === undefined) return
  if (Decimal.of(String(min)).lt(String(max))) return
  const field = maxChanged ? 'body.plausibleMax' : 'body.plausibleMin'
  throw invalid(
    field,
    `the plausible maximum ${String(max)} must be above the minimum ${String(min)}`,
    'point.plausibleRange',
    { min: String(min), max: String(max) },
  )
}
