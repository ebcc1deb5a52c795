/**
 * Consumption over a billing period: register advance × multiplier, per segment of one physical
 * meter, across register rollover and mid-period meter replacements (换表). Exact decimals only.
 */
import { Decimal } from '../kernel/decimal.ts'

export interface Replacement {
  readonly at: number
  readonly oldFinal: string
  readonly newStart: string
  readonly oldMultiplier: string
  readonly newMultiplier: string
  readonly oldCapacity?: string
  readonly newCapacity?: string
}

export interface Segment {
  readonly from: string
  readonly to: string
  /** register advance (before the multiplier); undefined when the register went backwards */
  readonly advance: string | undefined
  readonly multiplier: string
  readonly rollover: boolean
  readonly backwards: boolean
}

export interface PeriodConsumption {
  /** undefined when any segment went backwards */
  readonly consumption: string | undefined
  readonly rollover: boolean
  readonly backwards: boolean
  readonly segments: readonly Segment[]
}

export interface PeriodConsumptionArgs {
  readonly previous: string
  readonly current: string
  readonly multiplier: string
  readonly registerCapacity?: string
  /** replacements inside the period */
  readonly replacements: readonly Replacement[]
  /** consumption scale, rounded half-up; default 3 */
  readonly decimals?: number
}

export const DEFAULT_CONSUMPTION_DECIMALS = 3

/**
 * from → to on one register. A drop counts as a rollover only with a known capacity and when the
 * advance across the wrap is under half of it; anything else is a reset, swap or glitch.
 */
export function registerAdvance(
  from: string,
  to: string,
  capacity?: string,
): { advance: string | undefined; rollover: boolean; backwards: boolean } {
  const f = Decimal.of(from)
  const t = Decimal.of(to)
  if (t.gte(f)) {
    // An advance of half the register or more is a register that ran back below zero and
    // wrapped to the top (the mirror of a rollover), not consumption.
    const advance = t.minus(f)
    if (capacity !== undefined && Decimal.of(capacity).gt(0) && advance.times(2).gte(capacity))
      return { advance: undefined, rollover: false, backwards: true }
    return { advance: advance.toString(), rollover: false, backwards: false }
  }
  if (capacity !== undefined) {
    const cap = Decimal.of(capacity)
    const wrapped = t.plus(cap).minus(f)
    if (cap.gt(0) && wrapped.times(2).lt(cap)) {
      return { advance: wrapped.toString(), rollover: true, backwards: false }
    }
  }
  return { advance: undefined, rollover: false, backwards: true }
}

export function periodConsumption(args: PeriodConsumptionArgs): PeriodConsumption {
  const decimals = args.decimals ?? DEFAULT_CONSUMPTION_DECIMALS
  // Order matters for chaining old/new registers; sort a copy rather than trust the caller.
  const replacements = [...args.replacements].sort((x, y) => x.at - y.at)

  const segments: Segment[] = []
  // Each replaced meter is billed with its own multiplier and capacity: r1.old* for the first
  // segment, then r(i).new* until r(i+1) came off. The last segment is the meter in place now.
  let from = args.previous
  let multiplier = replacements[0]?.oldMultiplier ?? args.multiplier
  let capacity = replacements[0]?.oldCapacity
  for (const r of replacements) {
    segments.push(segment(from, r.oldFinal, multiplier, capacity))
    from = r.newStart
    multiplier = r.newMultiplier
    capacity = r.newCapacity
  }
  segments.push(segment(from, args.current, args.multiplier, args.registerCapacity))

  const backwards = segments.some((x) => x.backwards)
  const rollover = segments.some((x) => x.rollover)
  let total = Decimal.ZERO
  for (const x of segments) {
    if (x.advance !== undefined) total = total.plus(Decimal.of(x.advance).times(x.multiplier))
  }
  return {
    consumption: backwards ? undefined : total.round(decimals, 'half-up').toString(),
    rollover,
    backwards,
    segments,
  }
}

function segment(from: string, to: string, multiplier: string, capacity: string | undefined): Segment {
  const { advance, rollover, backwards } = registerAdvance(from, to, capacity)
  return {
    from: Decimal.of(from).toString(),
    to: Decimal.of(to).toString(),
    advance,
    multiplier: Decimal.of(multiplier).toString(),
    rollover,
    backwards,
  }
}
