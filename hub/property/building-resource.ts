import { Type } from 'typebox'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Id, Name, Nullable, Timestamp } from '../kernel/schema-parts.ts'

const fields = {
  code: Code,
  name: Name,
  floorsAbove: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 300 }))),
  floorsBelow: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 20 }))),
}

/** 楼栋: a building of an estate. */
export const buildingResource: EstateResource = {
  path: 'buildings',
  table: 'buildings',
  label: 'building',
  tag: 'property',
  writePermission: 'property.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      ...fields,
      floorsAbove: Nullable(Type.Integer()),
      floorsBelow: Nullable(Type.Integer()),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'Building' },
  ),
  create: Type.Object({ estateId: Id, ...fields }, { additionalProperties: false }),
  update: Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }),
  filters: { code: Code },
  search: ['code', 'name'],
  orderBy: 'code',
  references: {},
  estateFrom: 'estateId',
}
