import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import { decimalString, type EstateResource } from '../kernel/estate-resource.ts'
import {
  DateString,
  Decimal,
  DecimalOut,
  Id,
  Name,
  Nullable,
  OneOf,
  Timestamp,
} from '../kernel/schema-parts.ts'
import type { FeeBand } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { shareBases, shareSources, tierBases } from './billing-vocabulary.ts'
import { withArticle } from './fee-item-resource.ts'
import { ruleFields } from './fee-kinds/fee-kind.ts'
import { feeKindOf } from './fee-kinds/fee-kind-registry.ts'
import { checkBands } from './fee-tiered.ts'

const Band = Type.Object(
  {
    upTo: Nullable(
      Decimal(3, 'upper limit of the band in consumption units (cumulative); null: the open last band'),
    ),
    price: Decimal(4, 'yuan per consumption unit inside the band'),
  },
  { additionalProperties: false },
)

const fields = {
  feeItemId: Id,
  name: Name,
  price: Type.Optional(
    Nullable(
      Decimal(
        4,
        'yuan, up to 4 places: per m² per month (area), per unit used (consumption), per unit shared (shared)',
      ),
    ),
  ),
  amount: Type.Optional(Nullable(Decimal(2, 'yuan per period (fixed) or once (one_off)'))),
  bands: Type.Optional(
    Nullable(
      Type.Array(Band, {
        minItems: 1,
        maxItems: 20,
        description: '阶梯 (tiered only): ascending by upTo, only the last band open (upTo null)',
      }),
    ),
  ),
  tierBasis: Type.Optional(
    Nullable(OneOf(tierBases, 'tiered only: band limits per billing period, or over the calendar year')),
  ),
  shareBasis: Type.Optional(
    Nullable(OneOf(shareBases, "shared only: split by the units' area or by their own consumption")),
  ),
  shareSource: Type.Optional(
    Nullable(
      OneOf(shareSources, "shared only: the meter's consumption, or its loss (master − Σ sub-meters)"),
    ),
  ),
  shareMeterId: Type.Optional(Nullable(Id)),
  validFrom: DateString,
  validTo: Type.Optional(Nullable(DateString)),
}

/** Bands as the engine takes them: decimal strings, checked like a bill run would check them. */
function normaliseBands(value: unknown): FeeBand[] {
  const bands = (value as { upTo: unknown; price: unknown }[]).map((band, i) => ({
    upTo: band.upTo === null ? null : decimalString(band.upTo, 3, `body.bands.${i}.upTo`),
    price: decimalString(band.price, 4, `body.bands.${i}.price`),
  }))
  try {
    checkBands(bands)
  } catch (error) {
    if (error instanceof RangeError)
      throw invalid('body.bands', error.message, 'feeStandard.bands', { reason: error.message })
    throw error
  }
  return bands
}

/**
 * 收费标准: the price of a fee item over a validity range [validFrom, validTo). Standards are
 * not changed once made (a bill issued from one stays explainable): a new price is a new
 * standard from the day it applies.
 */
export const feeStandardResource: EstateResource = {
  path: 'fee-standards',
  table: 'feeStandards',
  label: 'fee standard',
  tag: 'billing',
  writePermission: 'billing.configure',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      feeItemId: Id,
      name: Name,
      price: Nullable(DecimalOut),
      amount: Nullable(DecimalOut),
      bands: Nullable(
        Type.Array(Type.Object({ upTo: Nullable(DecimalOut), price: DecimalOut }), { minItems: 1 }),
      ),
      tierBasis: Nullable(OneOf(tierBases)),
      shareBasis: Nullable(OneOf(shareBases)),
      shareSource: Nullable(OneOf(shareSources)),
      shareMeterId: Nullable(Id),
      validFrom: DateString,
      validTo: Nullable(DateString),
      createdAt: Timestamp,
    },
    { title: 'FeeStandard' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  // A standard's terms are fixed once bills may use them; ending it (validTo) is the change.
  update: Type.Object(
    { name: Type.Optional(Name), validTo: Type.Optional(Nullable(DateString)) },
    { additionalProperties: false },
  ),
  filters: { feeItemId: Id },
  search: ['name'],
  orderBy: 'validFrom',
  references: {
    feeItemId: { table: 'feeItems', label: 'fee item' },
    shareMeterId: { table: 'meters', label: 'meter' },
  },
  estateFrom: 'feeItemId',
  decimals: { price: 4, amount: 2 },
  async check({ db, next }) {
    const item = await db
      .selectFrom('feeItems')
      .select(['kind', 'meterKind'])
      .where('id', '=', next.feeItemId as string)
      .executeTakeFirstOrThrow()
    // Which fields a standard takes is its item's kind's to say.
    const wanted = feeKindOf(item.kind).fields
    for (const field of ruleFields) {
      const given = next[field] !== undefined && next[field] !== null
      if (wanted.includes(field) && !given)
        throw invalid(
          `body.${field}`,
          `is required for a standard of ${withArticle(item.kind)} item`,
          'feeStandard.fieldRequired',
          { kind: item.kind },
        )
      if (!wanted.includes(field) && given)
        throw invalid(
          `body.${field}`,
          `is not used by ${withArticle(item.kind)} item (its standards take ${wanted.join(', ')})`,
          'feeStandard.fieldNotUsed',
          { kind: item.kind, wanted: wanted.join(', ') },
        )
    }
    if (next.validTo != null && (next.validTo as string) <= (next.validFrom as string))
      throw invalid(
        'body.validTo',
        'must be after validFrom (validTo is the first day no longer covered)',
        'range.validToAfterFrom',
      )
    if (next.bands != null) {
      // node-postgres would send a JS array as a PostgreSQL array, which jsonb refuses. `next`
      // is the very object the create route inserts, so the checked bands go in as jsonb.
      next.bands = jsonb(normaliseBands(next.bands))
    }
    if (typeof next.shareMeterId === 'string') {
      const meter = await db
        .selectFrom('meters')
        .select(['kind', 'code'])
        .where('id', '=', next.shareMeterId)
        .executeTakeFirstOrThrow()
      if (item.meterKind !== null && meter.kind !== item.meterKind)
        throw invalid(
          'body.shareMeterId',
          `the item shares ${item.meterKind}, meter ${meter.code} is ${withArticle(meter.kind)} meter`,
          'feeStandard.shareMeterKind',
          {
            meterKind: String(item.meterKind),
            code: meter.code,
            kind: meter.kind,
          },
        )
      if (next.shareSource === 'loss') {
        const sub = await db
          .selectFrom('meters')
          .select('id')
          .where('parentMeterId', '=', next.shareMeterId)
          .executeTakeFirst()
        if (!sub)
          throw invalid(
            'body.shareMeterId',
            `a loss is measured on a master meter; meter ${meter.code} has no sub-meters`,
            'feeStandard.lossNeedsMaster',
            { code: meter.code },
          )
      }
    }
  },
}
