import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Decimal, DecimalOut, Id, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { unitStatuses, unitUses } from './property-vocabulary.ts'

export { unitStatuses, unitUses }

const fields = {
  buildingId: Id,
  code: Code,
  floor: Type.Integer({ minimum: -20, maximum: 300 }),
  areaM2: Decimal(2, 'gross floor area (建筑面积) in m², up to 2 decimals'),
  use: OneOf(unitUses),
  status: OneOf(unitStatuses),
}

/** 房屋/单元: a unit of a building, the thing fees and meters attach to. */
export const unitResource: EstateResource = {
  path: 'units',
  table: 'units',
  label: 'unit',
  tag: 'property',
  writePermission: 'property.write',
  record: Type.Object(
    { id: Id, estateId: Id, ...fields, areaM2: DecimalOut, createdAt: Timestamp, updatedAt: Timestamp },
    { title: 'Unit' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }),
  filters: {
    buildingId: Id,
    code: Code,
    use: OneOf(unitUses),
    status: OneOf(unitStatuses),
    floor: Type.Integer(),
  },
  search: ['code'],
  orderBy: 'code',
  references: { buildingId: { table: 'buildings', label: 'building' } },
  estateFrom: 'buildingId',
  decimals: { areaM2: 2 },
  // The database refuses an area of 0 too (a check constraint), but without naming the field.
  async check({ next }) {
    if (next.areaM2 !== undefined && Number(next.areaM2) <= 0)
      throw invalid('body.areaM2', 'must be greater than 0', 'number.exclusiveMinimum', { limit: 0 })
  },
}
