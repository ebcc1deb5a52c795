import { Type } from 'typebox'
import { conflict, invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { DateString, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { unitUses } from '../property/unit-resource.ts'
import type { UnitUse } from '../store/database-schema.ts'
import { assignmentTargets } from './billing-vocabulary.ts'

export { assignmentTargets }

type Target = (typeof assignmentTargets)[number]

/** The field that names what a target is; the estate target has none. */
const targetFields = {
  estate: undefined,
  building: 'buildingId',
  use: 'unitUse',
  unit: 'unitId',
  customer: 'customerId',
} as const satisfies Record<Target, string | undefined>
const allTargetFields = ['buildingId', 'unitUse', 'unitId', 'customerId'] as const

const END = '9999-12-31'
const later = (a: string, b: string) => (a > b ? a : b)
const earlier = (a: string, b: string) => (a < b ? a : b)

const fields = {
  feeStandardId: Id,
  target: OneOf(
    assignmentTargets,
    'who the standard applies to; the most specific wins: customer > unit > use > building > estate',
  ),
  buildingId: Type.Optional(Nullable(Id)),
  unitUse: Type.Optional(Nullable(OneOf(unitUses, 'target use: every unit of this use'))),
  unitId: Type.Optional(Nullable(Id)),
  customerId: Type.Optional(Nullable(Id)),
  validFrom: DateString,
  validTo: Type.Optional(Nullable(DateString)),
}

/**
 * Which units (and payers) a standard applies to, over [validFrom, validTo): the whole estate,
 * a building, every unit of a use, one unit, or one named customer. Not changed once made.
 */
export const feeAssignmentResource: EstateResource = {
  path: 'fee-assignments',
  table: 'feeAssignments',
  label: 'fee assignment',
  tag: 'billing',
  writePermission: 'billing.configure',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      feeStandardId: Id,
      target: OneOf(assignmentTargets),
      buildingId: Nullable(Id),
      unitUse: Nullable(OneOf(unitUses)),
      unitId: Nullable(Id),
      customerId: Nullable(Id),
      validFrom: DateString,
      validTo: Nullable(DateString),
      createdAt: Timestamp,
    },
    { title: 'FeeAssignment' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  // A standard's terms are fixed once bills may use them; ending it (validTo) is the change.
  update: Type.Object({ validTo: Type.Optional(Nullable(DateString)) }, { additionalProperties: false }),
  filters: {
    feeStandardId: Id,
    target: OneOf(assignmentTargets),
    buildingId: Id,
    unitUse: OneOf(unitUses),
    unitId: Id,
    customerId: Id,
  },
  search: [],
  orderBy: 'validFrom',
  references: {
    feeStandardId: { table: 'feeStandards', label: 'fee standard' },
    buildingId: { table: 'buildings', label: 'building' },
    unitId: { table: 'units', label: 'unit' },
    customerId: { table: 'customers', label: 'customer' },
  },
  estateFrom: 'feeStandardId',
  async check({ db, existing, next }) {
    const target = next.target as Target
    const wanted = targetFields[target]
    for (const field of allTargetFields) {
      const given = next[field] !== undefined && next[field] !== null
      if (field === wanted && !given)
        throw invalid(`body.${field}`, `is required for target ${target}`, 'feeAssignment.fieldRequired', {
          target,
        })
      if (field !== wanted && given)
        throw invalid(
          `body.${field}`,
          `is not used by target ${target}${wanted ? ` (it takes ${wanted})` : ' (the whole estate)'}`,
          'feeAssignment.fieldNotUsed',
          { target, ...(wanted ? { wanted } : {}) },
        )
    }
    const validFrom = next.validFrom as string
    const validTo = (next.validTo as string | null | undefined) ?? null
    if (validTo !== null && validTo <= validFrom)
      throw invalid(
        'body.validTo',
        'must be after validFrom (validTo is the first day no longer covered)',
        'range.validToAfterFrom',
      )

    const standard = await db
      .selectFrom('feeStandards')
      .select(['feeItemId', 'name', 'validFrom', 'validTo'])
      .where('id', '=', next.feeStandardId as string)
      .executeTakeFirstOrThrow()
    // What bill runs apply: the days both the assignment and its standard are valid.
    const from = later(validFrom, standard.validFrom)
    const to = earlier(validTo ?? END, standard.validTo ?? END)
    if (from >= to)
      throw invalid(
        'body.validFrom',
        `the assignment never applies: standard ${standard.name} is valid from ${standard.validFrom}${standard.validTo ? ` until ${standard.validTo}` : ''}`,
        'feeAssignment.neverApplies',
        {
          standard: standard.name,
          from: String(standard.validFrom),
          ...(standard.validTo ? { to: String(standard.validTo) } : {}),
        },
      )

    // Two standards of one item for the same target on the same day would charge that day
    // twice; a bill run holds such lines, so they are refused here. Locking the item makes
    // concurrent assignments of its standards take turns.
    await db.selectFrom('feeItems').select('id').where('id', '=', standard.feeItemId).forUpdate().execute()
    let others = db
      .selectFrom('feeAssignments as a')
      .innerJoin('feeStandards as s', 's.id', 'a.feeStandardId')
      .select([
        'a.id',
        'a.validFrom',
        'a.validTo',
        's.name',
        's.validFrom as standardFrom',
        's.validTo as standardTo',
      ])
      .where('s.feeItemId', '=', standard.feeItemId)
      .where('a.target', '=', target)
      .where('a.id', '!=', existing?.id ?? '00000000-0000-0000-0000-000000000000')
    if (wanted === 'unitUse') others = others.where('a.unitUse', '=', next.unitUse as UnitUse)
    else if (wanted) others = others.where(`a.${wanted}`, '=', next[wanted] as string)
    for (const other of await others.execute()) {
      const otherFrom = later(other.validFrom, other.standardFrom)
      const otherTo = earlier(other.validTo ?? END, other.standardTo ?? END)
      if (otherFrom < to && from < otherTo)
        throw conflict(
          'body.validFrom',
          `overlaps the assignment of standard ${other.name} to the same target (${otherFrom} to ${otherTo === END ? 'open' : otherTo}); end one before the other starts`,
          'feeAssignment.overlaps',
          {
            standard: other.name,
            from: String(otherFrom),
            to: otherTo === END ? 'open' : String(otherTo),
          },
        )
    }
  },
}
