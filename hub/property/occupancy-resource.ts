import { sql } from 'kysely'
import { Type } from 'typebox'
import { conflict, invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { DateString, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { occupancyRoles } from './property-vocabulary.ts'

export { occupancyRoles }

const fields = {
  unitId: Id,
  customerId: Id,
  role: OneOf(occupancyRoles),
  startDate: DateString,
  endDate: Type.Optional(Nullable(DateString)),
}

/**
 * A customer's tie to a unit as owner or tenant for a date range. History is kept: a sale
 * ends one owner's range and starts another's, nothing is overwritten.
 */
export const occupancyResource: EstateResource = {
  path: 'occupancies',
  table: 'occupancies',
  label: 'occupancy',
  tag: 'customers',
  writePermission: 'customers.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      ...fields,
      endDate: Nullable(DateString),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'Occupancy' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Partial(Type.Object({ role: fields.role, startDate: DateString, endDate: fields.endDate }), {
    additionalProperties: false,
    minProperties: 1,
  }),
  filters: { unitId: Id, customerId: Id, role: OneOf(occupancyRoles) },
  search: [],
  orderBy: 'startDate',
  references: {
    unitId: { table: 'units', label: 'unit' },
    customerId: { table: 'customers', label: 'customer' },
  },
  estateFrom: 'unitId',
  async check({ db, existing, next }) {
    const start = next.startDate as string
    const end = (next.endDate as string | null | undefined) ?? null
    if (end !== null && end < start)
      throw invalid('body.endDate', 'must not be before startDate', 'range.endBeforeStart')
    // The same customer cannot hold the same role on the same unit twice at once. Locking the
    // unit row makes two concurrent writers for one unit take turns, so the check holds.
    await db
      .selectFrom('units')
      .select('id')
      .where('id', '=', next.unitId as string)
      .forUpdate()
      .execute()
    const overlapping = await db
      .selectFrom('occupancies')
      .select('id')
      .where('unitId', '=', next.unitId as string)
      .where('customerId', '=', next.customerId as string)
      .where('role', '=', next.role as 'owner' | 'tenant')
      .where('id', '!=', existing?.id ?? '00000000-0000-0000-0000-000000000000')
      .where(
        sql<boolean>`daterange(start_date, end_date, '[]') && daterange(${start}::date, ${end}::date, '[]')`,
      )
      .executeTakeFirst()
    if (overlapping)
      throw conflict(
        'body.startDate',
        'overlaps another range of this customer in this role on this unit',
        'occupancy.overlaps',
      )
  },
}
