/**
 * The register reading at a billing cut-off, from the good samples either side of it. Pure
 * arithmetic on exact decimals; the caller finds the samples.
 */
import { Decimal } from '../kernel/decimal.ts'

export interface CounterSample {
  /** epoch ms */
  readonly at: number
  /** exact decimal register value */
  readonly value: string
}

export type ReadMethod = 'exact' | 'interpolated' | 'nearest'

export interface CutoffReading {
  readonly value: string
  readonly at: number
  readonly method: ReadMethod
  readonly before?: CounterSample
  readonly after?: CounterSample
}

export interface CutoffArgs {
  /** the last good sample with at <= cutoff */
  readonly before?: CounterSample
  /** the first good sample with at > cutoff */
  readonly after?: CounterSample
  readonly cutoff: number
  /** a sample counts only if |at - cutoff| <= windowMs */
  readonly windowMs: number
  /** the meter's resolution: interpolated values are rounded half-up to it */
  readonly decimals: number
  /** the register wraps to 0 at this value */
  readonly registerCapacity?: string
}

export function readingAtCutoff(args: CutoffArgs): CutoffReading | undefined {
  const { before, after, cutoff, windowMs, decimals, registerCapacity } = args
  // A sample on the wrong side would silently give a wrong interpolation: that is a query bug.
  if (before && before.at > cutoff) {
    throw new RangeError(`before sample at ${before.at} is after the cut-off ${cutoff}`)
  }
  if (after && after.at <= cutoff) {
    throw new RangeError(`after sample at ${after.at} is not after the cut-off ${cutoff}`)
  }

  if (before && before.at === cutoff) {
    return { value: Decimal.of(before.value).toString(), at: cutoff, method: 'exact', before }
  }

  const useBefore = before && Math.abs(cutoff - before.at) <= windowMs ? before : undefined
  const useAfter = after && Math.abs(after.at - cutoff) <= windowMs ? after : undefined

  if (useBefore && useAfter) {
    const value = interpolate(useBefore, useAfter, cutoff, decimals, registerCapacity)
    if (value !== undefined) {
      return { value, at: cutoff, method: 'interpolated', before: useBefore, after: useAfter }
    }
  }

  // One side only, or the register went backwards: take the closer sample; a tie goes to
  // before, which the meter had actually reached by the cut-off.
  if (useBefore && (!useAfter || cutoff - useBefore.at <= useAfter.at - cutoff)) {
    return {
      value: Decimal.of(useBefore.value).toString(),
      at: useBefore.at,
      method: 'nearest',
      before: useBefore,
    }
  }
  if (useAfter) {
    return {
      value: Decimal.of(useAfter.value).toString(),
      at: useAfter.at,
      method: 'nearest',
      after: useAfter,
    }
  }
  return undefined
}

/** Linear interpolation, or undefined when the register went backwards between the samples. */
function interpolate(
  before: CounterSample,
  after: CounterSample,
  cutoff: number,
  decimals: number,
  registerCapacity: string | undefined,
): string | undefined {
  const b = Decimal.of(before.value)
  let a = Decimal.of(after.value)
  let cap: Decimal | undefined
  if (a.lt(b)) {
    cap = registerCapacity === undefined ? undefined : Decimal.of(registerCapacity)
    // Wrapped only if the advance across the wrap is under half the register; else a reset/glitch.
    if (cap?.gt(0) && a.plus(cap).minus(b).times(2).lt(cap)) a = a.plus(cap)
    else return undefined
  }
  // v = (b·(ta − tb) + (a − b)·(cutoff − tb)) / (ta − tb), divided once so there is no double rounding.
  const span = Decimal.of(after.at).minus(before.at)
  const elapsed = Decimal.of(cutoff).minus(before.at)
  let v = b.times(span).plus(a.minus(b).times(elapsed)).div(span, decimals, 'half-up')
  if (cap && v.gte(cap)) v = v.minus(cap)
  return v.toString()
}
