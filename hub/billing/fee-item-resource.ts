import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import { Decimal as Exact } from '../kernel/decimal.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Code, Decimal, DecimalOut, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { meterKinds } from '../metering/meter-resource.ts'
import { feeCycles, roundingModes, roundingUnits } from './billing-vocabulary.ts'
import { DUE_DAYS_MEANING } from './due-dates.ts'
import { feeKindNames, feeKindOf, feeKindsWhere } from './fee-kinds/fee-kind-registry.ts'

// The registered kinds when the app is built (built-in ones and any a plugin or test added).
const feeKinds = feeKindNames()

/** 'a fixed', 'an area', 'a one_off', 'an electricity'. */
export const withArticle = (word: string) => `${/^([aeiu]|o(?!ne))/.test(word) ? 'an' : 'a'} ${word}`
const kindItem = (kind: string) => `${withArticle(kind)} item`

const fields = {
  estateId: Id,
  code: Code,
  name: Name,
  kind: OneOf(
    feeKinds,
    'area: price per m² per month; consumption: price per unit used; tiered: 阶梯 bands; fixed: amount per period; shared: 公摊 of a meter or a loss; one_off: amount once',
  ),
  meterKind: Type.Optional(
    Nullable(OneOf(meterKinds, 'required for consumption and tiered items, allowed for shared')),
  ),
  roundingUnit: Type.Optional(OneOf(roundingUnits, 'round amounts to 分 (fen) or 角 (jiao); default fen')),
  roundingMode: Type.Optional(
    OneOf(roundingModes, 'half-up: 四舍五入; down: 舍去 toward zero; default half-up'),
  ),
  cycle: Type.Optional(OneOf(feeCycles, 'billing cycle; default monthly; one_off exactly for one_off items')),
  dueDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365, description: DUE_DAYS_MEANING })),
  lateFeeDailyRate: Type.Optional(
    Decimal(6, '滞纳金 per day as a share of the principal, 0 to 0.01 (1%); default 0 (none)'),
  ),
  lateFeeGraceDays: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 3650, description: 'days after the due date before late fees run' }),
  ),
  lateFeeCapRatio: Type.Optional(
    Nullable(Decimal(4, 'late fees stop at this share of the principal, e.g. 1 for 100%; null: no cap')),
  ),
  active: Type.Optional(Type.Boolean({ description: 'false: bill runs skip the item' })),
}
const { estateId: _estate, ...changeable } = fields

/** 收费项目: what an estate charges for (物业费, 水费, 电费, 公摊, 停车费 …) and how it is billed. */
export const feeItemResource: EstateResource = {
  path: 'fee-items',
  table: 'feeItems',
  label: 'fee item',
  tag: 'billing',
  writePermission: 'billing.configure',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      code: Code,
      name: Name,
      kind: OneOf(feeKinds),
      meterKind: Nullable(OneOf(meterKinds)),
      roundingUnit: OneOf(roundingUnits),
      roundingMode: OneOf(roundingModes),
      cycle: OneOf(feeCycles),
      dueDays: Type.Integer({ description: DUE_DAYS_MEANING }),
      lateFeeDailyRate: DecimalOut,
      lateFeeGraceDays: Type.Integer(),
      lateFeeCapRatio: Nullable(DecimalOut),
      active: Type.Boolean(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'FeeItem' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Partial(Type.Object({ ...changeable, meterKind: Nullable(OneOf(meterKinds)) }), {
    additionalProperties: false,
    minProperties: 1,
  }),
  filters: {
    code: Code,
    kind: OneOf(feeKinds),
    meterKind: OneOf(meterKinds),
    cycle: OneOf(feeCycles),
    active: Type.Boolean(),
  },
  search: ['code', 'name'],
  orderBy: 'code',
  references: {},
  estateFrom: 'estateId',
  decimals: { lateFeeDailyRate: 6, lateFeeCapRatio: 4 },
  async check({ db, existing, next }) {
    const kind = next.kind as string
    const { meter, oneOff } = feeKindOf(kind)
    const meterKind = (next.meterKind as string | null | undefined) ?? null
    if (meter === 'required' && meterKind === null)
      throw invalid(
        'body.meterKind',
        `is required for ${kindItem(kind)} (which meters it bills)`,
        'feeItem.meterKindRequired',
        { kind: String(kind) },
      )
    if (meter === 'none' && meterKind !== null)
      throw invalid(
        'body.meterKind',
        `must be null for ${kindItem(kind)} (only ${feeKindsWhere((k) => k.meter !== 'none').join(', ')})`,
        'feeItem.meterKindNotUsed',
        { kind: String(kind) },
      )
    // bill-compute takes the months of a period from the cycle: a recurring kind billed 'one_off'
    // would be billed monthly, and a one_off item never recurs.
    const cycle = (next.cycle as string | undefined) ?? 'monthly'
    if (oneOff !== (cycle === 'one_off'))
      throw invalid(
        'body.cycle',
        oneOff
          ? `${kindItem(kind)} has cycle one_off`
          : `one_off is the cycle of one_off items only, not of ${kindItem(kind)}`,
        oneOff ? 'feeItem.oneOffCycle' : 'feeItem.cycleOnlyOneOff',
        { kind: String(kind) },
      )
    if (next.lateFeeDailyRate != null && Exact.of(next.lateFeeDailyRate as string).gt('0.01'))
      throw invalid('body.lateFeeDailyRate', 'must be at most 0.01 (1% a day)', 'number.maximum', {
        limit: '0.01',
      })
    if (next.lateFeeCapRatio != null && Exact.of(next.lateFeeCapRatio as string).gte('100'))
      throw invalid('body.lateFeeCapRatio', 'must be below 100', 'number.exclusiveMaximum', { limit: 100 })
    // A standard's fields follow its item's kind (price, amount or bands) and its meters the
    // item's meter kind: once standards exist, neither may change.
    if (existing && (existing.kind !== kind || (existing.meterKind ?? null) !== meterKind)) {
      const standard = await db
        .selectFrom('feeStandards')
        .select('id')
        .where('feeItemId', '=', existing.id)
        .executeTakeFirst()
      if (standard) {
        const field = existing.kind !== kind ? 'kind' : 'meterKind'
        throw invalid(
          `body.${field}`,
          `cannot change: the item has standards (its ${field} is ${String(existing[field])})`,
          'feeItem.lockedByStandards',
          { field, value: String(existing[field]) },
        )
      }
    }
  },
}
