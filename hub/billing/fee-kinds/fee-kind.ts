/**
 * What a fee kind (收费方式) contributes, so that a new kind is one file here, one line in the
 * registry and its traits in billing-vocabulary.ts (the standard fields it takes, whether its
 * items bill a meter, whether it is a one-off charged at the desk rather than by bill runs,
 * which the console reads too): its part of the bill run's engine.
 * Its catalogue keys are its name under `pages.feeItems.kinds` in the console's catalogues
 * (a test fails when one is missing).
 */
import type { BillInputs } from '../bill-compute.ts'
import type { BillUnit, FeeItemRow, StandardRow } from '../bill-inputs.ts'
import type { FeeKindTraits } from '../billing-vocabulary.ts'
import type { BillPeriod, MoneyRounding } from '../fee-types.ts'

export { type RuleField, ruleFields } from '../billing-vocabulary.ts'

/** A standard in force over [from, to) inside the period, for one unit. */
export interface StandardSpan {
  readonly standard: StandardRow
  readonly from: string
  readonly to: string
}

/** One fee item of a bill run: what the whole item needs before its units are billed. */
export interface ItemRun {
  readonly inputs: BillInputs
  readonly item: FeeItemRow
  readonly period: BillPeriod
  readonly rounding: MoneyRounding
}

/** One unit that has a payer and at least one standard of the item in the period. */
export interface UnitRun {
  readonly unit: BillUnit
  /** sorted by `from` */
  readonly spans: readonly StandardSpan[]
}

/**
 * A unit's line: an amount with its explanation, or held with the reason; undefined: no line
 * (e.g. a metered item and a unit without that meter).
 */
export type UnitCharge =
  | { readonly amount: string; readonly explanation: Record<string, unknown>; readonly heldReason: null }
  | { readonly amount: null; readonly explanation: Record<string, unknown>; readonly heldReason: string }
  | undefined

export interface FeeKindDefinition extends FeeKindTraits {
  /** The value of `fee_items.kind`: lower case, words joined by '_'. */
  readonly name: string
  /**
   * The engine's part for this kind: prepares the item's run (a shared item splits its quantity
   * over every unit here) and returns each unit's charge. A thrown error holds the unit's line
   * with "cannot apply the standard: …".
   */
  billItem(run: ItemRun): (unit: UnitRun) => UnitCharge
}

/** A charged line of a unit, with the standards it came from. */
export function charged(
  line: { readonly amount: string; readonly explanation: object },
  spans: readonly StandardSpan[],
  extra: Record<string, unknown> = {},
): UnitCharge {
  const standards = [...new Set(spans.map((s) => s.standard.name))]
  return { amount: line.amount, explanation: { ...line.explanation, standards, ...extra }, heldReason: null }
}

export const held = (reason: string): UnitCharge => ({ amount: null, explanation: {}, heldReason: reason })
