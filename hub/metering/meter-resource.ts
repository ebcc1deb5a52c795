import { sql } from 'kysely'
import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import {
  Code,
  DateString,
  Decimal,
  DecimalOut,
  Id,
  Nullable,
  OneOf,
  Timestamp,
} from '../kernel/schema-parts.ts'
import { meterKinds, meterStatuses } from './metering-vocabulary.ts'

export { meterKinds }

const fields = {
  estateId: Id,
  code: Code,
  kind: OneOf(meterKinds),
  unitId: Type.Optional(Nullable(Id)),
  buildingId: Type.Optional(Nullable(Id)),
  location: Type.Optional(
    Nullable(Type.String({ maxLength: 200, description: 'for common-area meters: where it is' })),
  ),
  serialNumber: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  multiplier: Type.Optional(Decimal(4, 'multiplier (倍率), e.g. a CT ratio of 40')),
  registerCapacity: Type.Optional(
    Nullable(Decimal(3, 'the register rolls over to 0 at this value, e.g. 100000 for a 99999.9 dial')),
  ),
  installReading: Type.Optional(Decimal(3)),
  installedOn: Type.Optional(Nullable(DateString)),
  pointId: Type.Optional(Nullable(Id)),
  parentMeterId: Type.Optional(Nullable(Id)),
  billing: Type.Optional(
    Type.Boolean({ description: 'read for bills (false: a check or sub-metering meter)' }),
  ),
  status: Type.Optional(OneOf(meterStatuses)),
}
// The multiplier changes only through a replacement (换表), which records old and new, so
// consumption before and after the change stays reproducible.
const { estateId: _estate, multiplier: _multiplier, ...changeable } = fields

/**
 * 水表/电表/燃气表/热量表. A meter hangs on a unit, or on common areas when it has none; a
 * parent meter makes master/sub-meter trees (loss = master − Σ subs).
 */
export const meterResource: EstateResource = {
  path: 'meters',
  table: 'meters',
  label: 'meter',
  tag: 'metering',
  writePermission: 'meters.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      code: Code,
      kind: OneOf(meterKinds),
      unitId: Nullable(Id),
      buildingId: Nullable(Id),
      location: Nullable(Type.String()),
      serialNumber: Nullable(Type.String()),
      multiplier: DecimalOut,
      registerCapacity: Nullable(DecimalOut),
      installReading: DecimalOut,
      installedOn: Nullable(DateString),
      pointId: Nullable(Id),
      parentMeterId: Nullable(Id),
      billing: Type.Boolean(),
      status: Type.String(),
      commonArea: Type.Boolean({ description: 'true when the meter belongs to no unit (公共区域)' }),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'Meter' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Partial(Type.Object({ ...changeable, code: Code, kind: OneOf(meterKinds) }), {
    additionalProperties: false,
    minProperties: 1,
  }),
  filters: {
    kind: OneOf(meterKinds),
    unitId: Id,
    buildingId: Id,
    parentMeterId: Id,
    pointId: Id,
    billing: Type.Boolean(),
  },
  search: ['code', 'serialNumber', 'location'],
  orderBy: 'code',
  references: {
    unitId: { table: 'units', label: 'unit' },
    buildingId: { table: 'buildings', label: 'building' },
    pointId: { table: 'points', label: 'point' },
    parentMeterId: { table: 'meters', label: 'meter' },
  },
  estateFrom: 'estateId',
  decimals: { multiplier: 4, registerCapacity: 3, installReading: 3 },
  present: (row) => ({ ...row, commonArea: row.unitId === null }),
  async check({ db, existing, next, estateId }) {
    // Two concurrent re-parentings could each pass the loop check below and together make a
    // loop; one transaction-scoped lock per estate's meter tree makes them take turns.
    if (next.parentMeterId)
      await sql`select pg_advisory_xact_lock(hashtext(${`meter-tree:${estateId}`}))`.execute(db)
    if (next.unitId && next.buildingId) {
      const unit = await db
        .selectFrom('units')
        .select('buildingId')
        .where('id', '=', next.unitId as string)
        .executeTakeFirstOrThrow()
      if (unit.buildingId !== next.buildingId)
        throw invalid('body.buildingId', "must be the unit's own building", 'meter.buildingOfUnit')
    }
    if (next.registerCapacity != null && Number(next.installReading ?? 0) >= Number(next.registerCapacity)) {
      throw invalid('body.installReading', 'must be below registerCapacity', 'reading.atCapacity')
    }
    if (next.pointId) {
      const point = await db
        .selectFrom('points')
        .select('kind')
        .where('id', '=', next.pointId as string)
        .executeTakeFirstOrThrow()
      if (point.kind !== 'counter')
        throw invalid(
          'body.pointId',
          `a meter reads a counter point, this one is a ${point.kind}`,
          'meter.pointNotCounter',
          { kind: point.kind },
        )
    }
    // Walk up from the new parent: meeting this meter again would make a loop.
    let parentId = (next.parentMeterId as string | null | undefined) ?? null
    for (let depth = 0; parentId; depth++) {
      if (existing && parentId === existing.id)
        throw invalid('body.parentMeterId', 'would make the meter its own ancestor', 'meter.ancestorLoop')
      const parent = await db
        .selectFrom('meters')
        .select(['kind', 'parentMeterId'])
        .where('id', '=', parentId)
        .executeTakeFirstOrThrow()
      if (depth === 0 && parent.kind !== next.kind)
        throw invalid(
          'body.parentMeterId',
          `a ${next.kind} meter needs a ${next.kind} parent, not ${parent.kind}`,
          'meter.parentKind',
          { kind: String(next.kind), parentKind: parent.kind },
        )
      if (depth > 32)
        throw invalid('body.parentMeterId', 'the meter tree is deeper than 32 levels', 'meter.treeTooDeep', {
          max: 32,
        })
      parentId = parent.parentMeterId
    }
  },
}
