import { Decimal } from '../kernel/decimal.ts'
import type { AssignmentRow, BillUnit, FeeItemRow, ReadState, StandardRow } from './bill-inputs.ts'
import { areaCharge, consumptionCharge, fixedCharge, sharedCharge, tieredCharge } from './fee-calc.ts'
import type { BillPeriod, MoneyRounding, RuleSpan, StandardRule } from './fee-types.ts'

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

const LEVELS = ['customer', 'unit', 'use', 'building', 'estate'] as const

/** The billing period of an item in this month, or undefined when the item is not due now. */
export function itemPeriod(item: FeeItemRow, period: string): BillPeriod | undefined {
  const [y, m] = period.split('-').map(Number) as [number, number]
  const months = item.cycle === 'quarterly' ? 3 : item.cycle === 'yearly' ? 12 : 1
  if ((m - 1) % months !== 0) return undefined
  const end = m - 1 + months
  const to = `${y + Math.floor(end / 12)}-${String((end % 12) + 1).padStart(2, '0')}-01`
  return { from: `${period}-01`, to, months }
}

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

function ruleOf(item: FeeItemRow, s: StandardRow): StandardRule {
  switch (item.kind) {
    case 'area':
      return { kind: 'area', price: s.price ?? '0' }
    case 'consumption':
      return { kind: 'consumption', price: s.price ?? '0' }
    case 'fixed':
      return { kind: 'fixed', amount: s.amount ?? '0' }
    case 'tiered':
      return { kind: 'tiered', bands: s.bands ?? [], basis: s.tierBasis ?? 'period' }
    case 'shared':
      return { kind: 'shared', price: s.price ?? '0', basis: s.shareBasis ?? 'area' }
    default:
      return { kind: 'one_off', amount: s.amount ?? '0' }
  }
}

// Reads looked up per unit and kind 100,000 times in a large estate: index them once.
const readIndex = new WeakMap<readonly ReadState[], Map<string, ReadState[]>>()
function unitReads(inputs: BillInputs, unitId: string, kind: string): ReadState[] {
  let index = readIndex.get(inputs.reads)
  if (index === undefined) {
    index = new Map()
    for (const r of inputs.reads) {
      if (r.unitId === null) continue
      const key = `${r.unitId}/${r.kind}`
      const list = index.get(key) ?? []
      list.push(r)
      index.set(key, list)
    }
    readIndex.set(inputs.reads, index)
  }
  return index.get(`${unitId}/${kind}`) ?? []
}

/** Why reads cannot be billed, or undefined when every one is approved with a consumption. */
function unbillable(reads: readonly ReadState[], period: string): string | undefined {
  const bad = reads.filter((r) => r.status !== 'approved' || r.consumption === null)
  if (bad.length === 0) return undefined
  return bad
    .map((r) =>
      r.status === null
        ? `meter ${r.meterCode} has no read for ${period}`
        : `meter ${r.meterCode} read for ${period} is ${r.status}${r.flags.length > 0 ? ` (${r.flags.map((f) => f.code).join(', ')})` : ''}`,
    )
    .join('; ')
}

const sum = (values: readonly string[]) => values.reduce((s, v) => s.plus(v), Decimal.ZERO).toString()

/**
 * Every line of a bill run: per unit in `scope` and fee item due this month, the amount with
 * its explanation, or a held line with the reason (a flagged or missing meter read, no payer, a
 * standard that cannot be applied). Shared charges are split over every unit the standard
 * applies to, whatever the scope, so a one-unit run bills that unit its true share.
 */
export function computeBill(inputs: BillInputs, inScope: (unit: BillUnit) => boolean): ComputedLine[] {
  const lines: ComputedLine[] = []
  for (const item of inputs.items) {
    const period = itemPeriod(item, inputs.period)
    if (period === undefined) continue
    const rounding: MoneyRounding = { unit: item.roundingUnit, mode: item.roundingMode }
    const shares = item.kind === 'shared' ? sharedLines(inputs, item, period, rounding) : undefined
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
        if (shares) {
          const share = shares.get(unit.id)
          if (share) lines.push({ ...base, ...share })
          continue
        }
        const ruleSpans: RuleSpan[] = spans.map((s) => ({
          from: s.from,
          to: s.to,
          rule: ruleOf(item, s.standard),
        }))
        const standards = [...new Set(spans.map((s) => s.standard.name))]
        if (item.kind === 'area') {
          const line = areaCharge({ areaM2: unit.areaM2, spans: ruleSpans, period, rounding })
          lines.push({
            ...base,
            amount: line.amount,
            explanation: { ...line.explanation, standards },
            heldReason: null,
          })
        } else if (item.kind === 'fixed') {
          const line = fixedCharge({ spans: ruleSpans, period, rounding })
          lines.push({
            ...base,
            amount: line.amount,
            explanation: { ...line.explanation, standards },
            heldReason: null,
          })
        } else if (item.kind === 'consumption' || item.kind === 'tiered') {
          const reads = unitReads(inputs, unit.id, item.meterKind ?? '')
          if (reads.length === 0) continue
          const why = unbillable(reads, inputs.period)
          if (why !== undefined) {
            lines.push(held(why))
            continue
          }
          const consumption = sum(reads.map((r) => r.consumption ?? '0'))
          const meters = reads.map((r) => r.meterCode)
          if (item.kind === 'consumption') {
            const line = consumptionCharge({ consumption, spans: ruleSpans, period, rounding })
            lines.push({
              ...base,
              amount: line.amount,
              explanation: { ...line.explanation, standards, meters },
              heldReason: null,
            })
          } else {
            // A tiered price is the one in force at the period's end (no proration of bands).
            const rule = ruleSpans[ruleSpans.length - 1]!.rule as Extract<StandardRule, { kind: 'tiered' }>
            const line = tieredCharge({
              consumption,
              bands: rule.bands,
              basis: rule.basis,
              yearToDateBefore:
                rule.basis === 'annual'
                  ? (inputs.yearToDate.get(`${unit.id}/${item.meterKind}`) ?? '0')
                  : '0',
              rounding,
            })
            lines.push({
              ...base,
              amount: line.amount,
              explanation: { ...line.explanation, standards, meters },
              heldReason: null,
            })
          }
        }
      } catch (error) {
        lines.push(held(`cannot apply the standard: ${(error as Error).message}`))
      }
    }
  }
  return lines
}

/** Each unit's share of a shared (公摊) item, per standard, over every unit the standard applies to. */
function sharedLines(
  inputs: BillInputs,
  item: FeeItemRow,
  period: BillPeriod,
  rounding: MoneyRounding,
): Map<string, Pick<ComputedLine, 'amount' | 'explanation' | 'heldReason'>> {
  const result = new Map<string, Pick<ComputedLine, 'amount' | 'explanation' | 'heldReason'>>()
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
