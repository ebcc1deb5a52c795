import { Type } from 'typebox'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Decimal, DecimalOut, Id, Nullable, Timestamp } from '../kernel/schema-parts.ts'

export const replacementCreate = Type.Object(
  {
    meterId: Id,
    replacedAt: Type.String({ format: 'date-time', description: 'when the old meter came off' }),
    oldFinalReading: Decimal(3, "the old meter's last reading (旧表止数)"),
    newStartReading: Decimal(3, "the new meter's first reading (新表起数)"),
    newSerialNumber: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    newMultiplier: Type.Optional(Decimal(4, 'the new multiplier, when it changes (a new CT ratio)')),
    newRegisterCapacity: Type.Optional(
      Nullable(Decimal(3, "the new meter's register capacity, when it differs")),
    ),
    reason: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
  },
  { additionalProperties: false },
)

/**
 * 换表: a meter's replacement history. Rows are never changed; a wrong one is corrected by
 * recording another, so consumption across the swap stays reproducible.
 */
export const meterReplacementResource: EstateResource = {
  path: 'meter-replacements',
  table: 'meterReplacements',
  label: 'meter replacement',
  tag: 'metering',
  writePermission: 'meters.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      meterId: Id,
      replacedAt: Timestamp,
      oldFinalReading: DecimalOut,
      newStartReading: DecimalOut,
      oldSerialNumber: Nullable(Type.String()),
      newSerialNumber: Nullable(Type.String()),
      oldMultiplier: DecimalOut,
      newMultiplier: DecimalOut,
      oldRegisterCapacity: Nullable(DecimalOut),
      newRegisterCapacity: Nullable(DecimalOut),
      reason: Nullable(Type.String()),
      recordedBy: Nullable(Id),
      createdAt: Timestamp,
    },
    { title: 'MeterReplacement' },
  ),
  create: replacementCreate,
  update: Type.Object({}),
  filters: { meterId: Id },
  search: [],
  orderBy: 'replacedAt',
  references: { meterId: { table: 'meters', label: 'meter' } },
  estateFrom: 'meterId',
  without: ['create', 'update'],
}
