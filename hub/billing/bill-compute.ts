import type { AssignmentRow, BillUnit, FeeItemRow, ReadState, StandardRow } from './bill-inputs.ts'
import { spansFor } from './bill-spans.ts'
import { feeKindOf } from './fee-kinds/fee-kind-registry.ts'
import type { BillPeriod, MoneyRounding } from './fee-types.ts'

export { spansFor } from './bill-spans.ts'

export interface ComputedLine {
  readonly unitId: string
  readonly customerId: string | null
  readonly feeItemId: string
  /** null when held */
  readonly amount: string | null
  readonly explanation: Record<string, unknown>
  readonly heldReason: string | null
}

export interface BillInputs {
  readonly period: string
  readonly units: readonly BillUnit[]
  readonly items: readonly FeeItemRow[]
  readonly standards: ReadonlyMap<string, StandardRow>
  readonly assignments: readonly AssignmentRow[]
  readonly reads: readonly ReadState[]
  /** `${unitId}/${meterKind}` → approved consumption earlier this calendar year */
  readonly yearToDate: ReadonlyMap<string, string>
}

/** The billing period of an item in this month, or undefined when the item is not due now. */
export function itemPeriod(item: FeeItemRow, period: string): BillPeriod | undefined {
  const [y, m] = period.split('-').map(Number) as [number, number]
  const months = item.cycle === 'quarterly' ? 3 : item.cycle === 'yearly' ? 12 : 1
  if ((m - 1) % months !== 0) return undefined
  const end = m - 1 + months
  const to = `${y + Math.floor(end / 12)}-${String((end % 12) + 1).padStart(2, '0')}-01`
  return { from: `${period}-01`, to, months }
}

/**
 * Every line of a bill run: per unit in `scope` and fee item due this month, the amount with
 * its explanation, or a held line with the reason (a flagged or missing meter read, no payer, a
 * standard that cannot be applied). What a line charges is its fee kind's part
 * (fee-kinds/, looked up in the registry); the frame here is the same for every kind.
 */
export function computeBill(inputs: BillInputs, inScope: (unit: BillUnit) => boolean): ComputedLine[] {
  const lines: ComputedLine[] = []
  for (const item of inputs.items) {
    const period = itemPeriod(item, inputs.period)
    if (period === undefined) continue
    const rounding: MoneyRounding = { unit: item.roundingUnit, mode: item.roundingMode }
    const chargeUnit = feeKindOf(item.kind).billItem({ inputs, item, period, rounding })
    for (const unit of inputs.units) {
      if (!inScope(unit)) continue
      const base = { unitId: unit.id, customerId: unit.customerId, feeItemId: item.id }
      const held = (reason: string): ComputedLine => ({
        ...base,
        amount: null,
        explanation: {},
        heldReason: reason,
      })
      const spans = spansFor(inputs, item, unit, period)
      if (spans.length === 0) continue
      if (unit.customerId === null) {
        lines.push(held(`unit ${unit.code} has no owner or tenant for the period`))
        continue
      }
      try {
        const charge = chargeUnit({ unit, spans })
        if (charge !== undefined) lines.push({ ...base, ...charge })
      } catch (error) {
        lines.push(held(`cannot apply the standard: ${(error as Error).message}`))
      }
    }
  }
  return lines
}
