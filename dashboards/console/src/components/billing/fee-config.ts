/**
 * Fee configuration as the hub answers it (`/api/v1/fee-items`, `fee-standards`,
 * `fee-assignments`; hub/billing/fee-*-resource.ts) and the choices its forms offer. Money,
 * prices and rates stay the hub's decimal strings throughout.
 */

import {
  type AssignmentTarget,
  type FeeCycle,
  type FeeKind,
  feeCycles,
  feeKinds,
  feeKindTraits,
} from '../../../../../hub/billing/billing-vocabulary.ts'
import type { HubItem } from '../../api/hub.ts'

// The hub's lists, defined once (hub/billing/billing-vocabulary.ts imports nothing).
export {
  type AssignmentTarget,
  assignmentTargets,
  type FeeCycle,
  type FeeKind,
  feeCycles,
  feeKinds,
  roundingModes,
  roundingUnits,
  shareBases,
  shareSources,
  tierBases,
} from '../../../../../hub/billing/billing-vocabulary.ts'

export type FeeItem = HubItem<'/api/v1/fee-items'>

export type FeeBand = NonNullable<FeeStandard['bands']>[number]

export type FeeStandard = HubItem<'/api/v1/fee-standards'>

export type FeeAssignment = HubItem<'/api/v1/fee-assignments'>

export type Building = HubItem<'/api/v1/buildings'>

/** Kinds billed from a meter's consumption: they need a meter kind (the hub's traits of each kind). */
export const meteredKinds: readonly FeeKind[] = feeKinds.filter((k) => feeKindTraits[k].meter === 'required')

/** Kinds whose items name a meter kind: the metered ones must, a shared one may. */
export function takesMeterKind(kind: FeeKind): boolean {
  return feeKindTraits[kind].meter !== 'none'
}

/** The cycles an item of `kind` may have: one_off is the cycle of one-off kinds and only theirs. */
export function cyclesFor(kind: FeeKind): readonly FeeCycle[] {
  return feeKindTraits[kind].oneOff ? ['one_off'] : feeCycles.filter((c) => c !== 'one_off')
}

/** What a standard of each kind is priced by (the hub refuses any other field). */
export type StandardRule = 'price' | 'amount' | 'bands' | 'shared'
export function ruleOf(kind: FeeKind): StandardRule {
  const fields: readonly string[] = feeKindTraits[kind].fields
  if (fields.includes('bands')) return 'bands'
  if (fields.includes('shareSource')) return 'shared'
  return fields.includes('price') ? 'price' : 'amount'
}

/** The field naming what an assignment's target is; the whole estate needs none. */
export const targetField = {
  estate: undefined,
  building: 'buildingId',
  use: 'unitUse',
  unit: 'unitId',
  customer: 'customerId',
} as const satisfies Record<AssignmentTarget, string | undefined>

/** Today's date in the browser's calendar, `YYYY-MM-DD`. */
export function today(now = new Date()): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
}

/** The first day of the month after `now`: where a price change or an end usually falls. */
export function firstOfNextMonth(now = new Date()): string {
  const next = new Date(now.getFullYear(), now.getMonth() + 1, 1)
  return today(next)
}

/** The first day of the month of `now`. */
export function firstOfMonth(now = new Date()): string {
  return today(new Date(now.getFullYear(), now.getMonth(), 1))
}
