import { Type } from 'typebox'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { customerKinds } from './property-vocabulary.ts'

export { customerKinds }

const optionalText = (maxLength: number) => Type.Optional(Nullable(Type.String({ maxLength })))
const fields = {
  code: Code,
  kind: OneOf(customerKinds),
  name: Name,
  phone: Type.Optional(Nullable(Type.String({ pattern: '^[+0-9][0-9 ()-]{4,31}$' }))),
  email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 200 }))),
  idDocument: optionalText(64),
  notes: optionalText(2000),
}

/** 客户: an owner or tenant, a person or a company. */
export const customerResource: EstateResource = {
  path: 'customers',
  table: 'customers',
  label: 'customer',
  tag: 'customers',
  writePermission: 'customers.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      code: Code,
      kind: OneOf(customerKinds),
      name: Name,
      phone: Nullable(Type.String()),
      email: Nullable(Type.String()),
      idDocument: Nullable(Type.String()),
      notes: Nullable(Type.String()),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'Customer' },
  ),
  create: Type.Object({ estateId: Id, ...fields }, { additionalProperties: false }),
  update: Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }),
  filters: { code: Code, kind: OneOf(customerKinds) },
  search: ['code', 'name', 'phone'],
  orderBy: 'code',
  references: {},
  estateFrom: 'estateId',
}
