/**
 * The fee kinds the hub knows: the built-in ones (one line each, typed against the vocabulary's
 * `feeKinds` so neither can lack the other) and any registered by a plugin or a test before the
 * store is migrated and the app built. The bill run's engine, the fee item and standard checks
 * and the database CHECK on fee_items.kind look kinds up here.
 */
import { type FeeKind, feeKinds } from '../billing-vocabulary.ts'
import { areaKind } from './area.ts'
import { consumptionKind } from './consumption.ts'
import type { FeeKindDefinition } from './fee-kind.ts'
import { fixedKind } from './fixed.ts'
import { oneOffKind } from './one-off.ts'
import { sharedKind } from './shared.ts'
import { tieredKind } from './tiered.ts'

const builtIn: Record<FeeKind, FeeKindDefinition> = {
  area: areaKind,
  consumption: consumptionKind,
  tiered: tieredKind,
  fixed: fixedKind,
  shared: sharedKind,
  one_off: oneOffKind,
}

const kinds = new Map<string, FeeKindDefinition>(feeKinds.map((name) => [name, builtIn[name]]))

/**
 * Adds a fee kind. Register it before the store is migrated (the CHECK on fee_items.kind is
 * written from the registry) and before the app is built (its route schemas list the kinds).
 */
export function registerFeeKind(kind: FeeKindDefinition): void {
  if (!/^[a-z][a-z0-9_]*$/.test(kind.name))
    throw new RangeError(`a fee kind's name is lower case with '_' between words, got ${kind.name}`)
  if (kinds.has(kind.name)) throw new RangeError(`fee kind ${kind.name} is already registered`)
  kinds.set(kind.name, kind)
}

/** The definition of a kind; a RangeError for a kind nobody registered. */
export function feeKindOf(name: string): FeeKindDefinition {
  const kind = kinds.get(name)
  if (kind === undefined) throw new RangeError(`unknown fee kind ${name}`)
  return kind
}

/** Every registered kind's name: the built-in ones in the vocabulary's order, then the others. */
export function feeKindNames(): readonly string[] {
  return [...kinds.keys()]
}

/** The kinds that satisfy `test`, e.g. the ones whose items bill a meter. */
export function feeKindsWhere(test: (kind: FeeKindDefinition) => boolean): string[] {
  return [...kinds.values()].filter(test).map((k) => k.name)
}
