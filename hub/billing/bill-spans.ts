/**
 * Which standards apply to a unit for a fee item in a bill run's period: assignments by level,
 * the most specific level that has any winning.
 */
import type { BillInputs } from './bill-compute.ts'
import type { AssignmentRow, BillUnit, FeeItemRow, StandardRow } from './bill-inputs.ts'
import type { BillPeriod } from './fee-types.ts'

const LEVELS = ['customer', 'unit', 'use', 'building', 'estate'] as const

// Assignments by what they target, built once per run: a 100,000-unit estate looks them up
// for every unit and item.
const assignmentIndexes = new WeakMap<readonly AssignmentRow[], Map<string, AssignmentRow[]>>()
function assignmentIndex(assignments: readonly AssignmentRow[]): Map<string, AssignmentRow[]> {
  let index = assignmentIndexes.get(assignments)
  if (index === undefined) {
    index = new Map()
    for (const a of assignments) {
      const key =
        a.target === 'estate'
          ? 'estate/'
          : `${a.target}/${a.target === 'building' ? a.buildingId : a.target === 'use' ? a.unitUse : a.target === 'unit' ? a.unitId : a.customerId}`
      const list = index.get(key) ?? []
      list.push(a)
      index.set(key, list)
    }
    assignmentIndexes.set(assignments, index)
  }
  return index
}

const later = (a: string, b: string) => (a > b ? a : b)
const earlier = (a: string, b: string) => (a < b ? a : b)

/**
 * The standards that apply to one unit (and its payer) for one item, as day spans inside the
 * period: the most specific level that has any wins (customer, unit, use, building, estate).
 */
export function spansFor(
  inputs: BillInputs,
  item: FeeItemRow,
  unit: BillUnit,
  period: BillPeriod,
): { standard: StandardRow; from: string; to: string }[] {
  const index = assignmentIndex(inputs.assignments)
  const keys: Record<(typeof LEVELS)[number], string | null> = {
    customer: unit.customerId === null ? null : `customer/${unit.customerId}`,
    unit: `unit/${unit.id}`,
    use: `use/${unit.use}`,
    building: `building/${unit.buildingId}`,
    estate: 'estate/',
  }
  for (const level of LEVELS) {
    const key = keys[level]
    const spans: { standard: StandardRow; from: string; to: string }[] = []
    for (const a of key === null ? [] : (index.get(key) ?? [])) {
      const standard = inputs.standards.get(a.feeStandardId)
      if (!standard || standard.feeItemId !== item.id) continue
      const from = later(later(a.validFrom, standard.validFrom), period.from)
      const to = earlier(earlier(a.validTo ?? '9999-12-31', standard.validTo ?? '9999-12-31'), period.to)
      if (from < to) spans.push({ standard, from, to })
    }
    if (spans.length > 0) return spans.sort((x, y) => x.from.localeCompare(y.from))
  }
  return []
}
