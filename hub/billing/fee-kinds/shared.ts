import { Decimal } from '../../kernel/decimal.ts'
import type { BillUnit, StandardRow } from '../bill-inputs.ts'
import { sum, unbillable, unitReads } from '../bill-reads.ts'
import { spansFor } from '../bill-spans.ts'
import { feeKindTraits } from '../billing-vocabulary.ts'
import { sharedCharge } from '../fee-calc.ts'
import type { FeeKindDefinition, ItemRun, UnitCharge } from './fee-kind.ts'

/**
 * 公摊: a meter's consumption or loss (master − Σ sub-meters) × price, split over every unit the
 * standard applies to by area or by their own consumption, whatever the run's scope, so a
 * one-unit run bills that unit its true share.
 */
export const sharedKind: FeeKindDefinition = {
  name: 'shared',
  ...feeKindTraits.shared,
  billItem(run) {
    const shares = sharedLines(run)
    return ({ unit }) => shares.get(unit.id)
  },
}

/** Each unit's share of a shared (公摊) item, per standard, over every unit the standard applies to. */
function sharedLines({ inputs, item, period, rounding }: ItemRun): Map<string, UnitCharge> {
  const result = new Map<string, UnitCharge>()
  const byStandard = new Map<string, { standard: StandardRow; units: BillUnit[] }>()
  for (const unit of inputs.units) {
    const spans = spansFor(inputs, item, unit, period)
    const standard = spans[spans.length - 1]?.standard
    if (!standard) continue
    const entry = byStandard.get(standard.id) ?? { standard, units: [] }
    entry.units.push(unit)
    byStandard.set(standard.id, entry)
  }
  for (const { standard, units } of byStandard.values()) {
    const holdAll = (reason: string) => {
      for (const u of units) result.set(u.id, { amount: null, explanation: {}, heldReason: reason })
    }
    const source = inputs.reads.find((r) => r.meterId === standard.shareMeterId)
    if (!source) {
      holdAll(`shared standard ${standard.name} names no meter`)
      continue
    }
    let quantity: string
    const sourceWhy = unbillable([source], inputs.period)
    if (sourceWhy !== undefined) {
      holdAll(`the shared quantity is not billable: ${sourceWhy}`)
      continue
    }
    if (standard.shareSource === 'loss') {
      // The master's own sub-meters only: another building's meters are another master's loss.
      const subs = inputs.reads.filter((r) => r.parentMeterId === source.meterId)
      const subWhy = unbillable(subs, inputs.period)
      if (subWhy !== undefined) {
        holdAll(`the loss cannot be measured yet: ${subWhy}`)
        continue
      }
      const loss = Decimal.of(source.consumption ?? '0').minus(sum(subs.map((s) => s.consumption ?? '0')))
      quantity = (loss.isNegative() ? Decimal.ZERO : loss).toString()
    } else quantity = source.consumption ?? '0'
    const parts: { id: string; weight: string }[] = []
    let weightWhy: string | undefined
    for (const u of units) {
      if (standard.shareBasis === 'consumption') {
        const reads = unitReads(inputs, u.id, source.kind)
        weightWhy ??= unbillable(reads, inputs.period)
        parts.push({ id: u.id, weight: sum(reads.map((r) => r.consumption ?? '0')) })
      } else parts.push({ id: u.id, weight: u.areaM2 })
    }
    if (weightWhy !== undefined) {
      holdAll(`a share by consumption needs every unit's read: ${weightWhy}`)
      continue
    }
    try {
      const shares = sharedCharge({ quantity, price: standard.price ?? '0', parts, rounding })
      for (const s of shares)
        result.set(s.id, {
          amount: s.amount,
          explanation: {
            ...s.explanation,
            standards: [standard.name],
            source: source.meterCode,
            sharedOver: units.length,
          },
          heldReason: null,
        })
    } catch (error) {
      holdAll(`cannot share: ${(error as Error).message}`)
    }
  }
  return result
}
