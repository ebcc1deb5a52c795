/**
 * VEE (validation, estimation, editing) for a meter-read record: flags that hold a record back
 * for a person to look at, and the daily-average estimate used when a reading is missing.
 */
import { Decimal } from '../kernel/decimal.ts'
import { registerAdvance } from './period-consumption.ts'
import type { CounterSample, CutoffReading } from './read-at-cutoff.ts'

export type VeeCode =
  | 'reverse'
  | 'spike'
  | 'zero_occupied'
  | 'stale'
  | 'offline'
  | 'master_below_subs'
  | 'no_previous'

export interface VeeFlag {
  readonly code: VeeCode
  /** English, with the numbers that tripped the check */
  readonly message: string
}

export interface VeeInput {
  readonly consumption?: string
  readonly backwards: boolean
  /** undefined: no reading inside the window around the cut-off */
  readonly reading?: CutoffReading
  readonly meterOnline: boolean
  /** average consumption per period of the previous approved periods */
  readonly trailingAverage?: string
  /** spike threshold factor k for the meter kind, e.g. "3" */
  readonly spikeFactor: string
  readonly occupiedWholePeriod: boolean
  readonly hasPrevious: boolean
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
/** Digits kept in a daily average: far below any register resolution, so estimates are not skewed. */
export const DAILY_AVERAGE_SCALE = 6

/** The flags for one record, in a fixed order (reverse, stale, offline, spike, zero_occupied, no_previous). */
export function veeFlags(input: VeeInput): VeeFlag[] {
  const flags: VeeFlag[] = []
  if (input.backwards) {
    flags.push({ code: 'reverse', message: 'the register went backwards during the period' })
  }
  if (input.reading === undefined) {
    flags.push({ code: 'stale', message: 'no reading inside the window around the cut-off' })
  }
  if (!input.meterOnline) {
    flags.push({ code: 'offline', message: 'the meter is offline' })
  }
  const consumption = input.consumption === undefined ? undefined : Decimal.of(input.consumption)
  if (consumption !== undefined && input.trailingAverage !== undefined) {
    const average = Decimal.of(input.trailingAverage)
    const k = Decimal.of(input.spikeFactor)
    // No history worth comparing with when the average is 0: anything would be a spike.
    if (average.gt(0) && consumption.gt(k.times(average))) {
      flags.push({
        code: 'spike',
        message: `consumption ${consumption} is above ${k} × the trailing average ${average}`,
      })
    }
  }
  if (input.occupiedWholePeriod && consumption?.isZero()) {
    flags.push({
      code: 'zero_occupied',
      message: 'consumption 0 although the unit was occupied the whole period',
    })
  }
  if (!input.hasPrevious) {
    flags.push({ code: 'no_previous', message: 'no previous reading to compute consumption from' })
  }
  return flags
}

/** A master meter that measured less than its sub-meters together points at a wiring or reading fault. */
export function masterBelowSubs(master: string, subs: readonly string[]): VeeFlag | undefined {
  const m = Decimal.of(master)
  const sum = subs.reduce((acc: Decimal, s) => acc.plus(s), Decimal.ZERO)
  if (!m.lt(sum)) return undefined
  const meters = subs.length === 1 ? '1 sub-meter' : `${subs.length} sub-meters`
  return {
    code: 'master_below_subs',
    message: `master consumption ${m} is below the sum ${sum} of its ${meters}`,
  }
}

/** previous + dailyAverage × days, rounded half-up to the meter's resolution, wrapped at capacity. */
export function estimateFromDailyAverage(args: {
  previous: string
  dailyAverage: string
  days: string
  decimals: number
  registerCapacity?: string
}): string {
  // Round before wrapping, so a value that rounds up to the capacity becomes 0, not the capacity.
  let v = Decimal.of(args.previous)
    .plus(Decimal.of(args.dailyAverage).times(args.days))
    .round(args.decimals, 'half-up')
  if (args.registerCapacity !== undefined) {
    const cap = Decimal.of(args.registerCapacity)
    if (cap.gt(0) && v.gte(cap)) v = v.minus(v.div(cap, 0, 'down').times(cap))
  }
  return v.toString()
}

/**
 * Register advance per day between the earliest and the latest sample, or undefined with fewer
 * than 2 samples, a span under 1 h, or a register that went backwards. Only the end points are
 * compared, so one rollover is recognised (when the advance is under half the capacity).
 */
export function dailyAverage(
  samples: readonly CounterSample[],
  registerCapacity?: string,
): string | undefined {
  if (samples.length < 2) return undefined
  let first = samples[0]!
  let last = samples[0]!
  for (const s of samples) {
    if (s.at < first.at) first = s
    if (s.at > last.at) last = s
  }
  const spanMs = last.at - first.at
  if (spanMs < HOUR_MS) return undefined
  const { advance } = registerAdvance(first.value, last.value, registerCapacity)
  if (advance === undefined) return undefined
  return Decimal.of(advance).times(DAY_MS).div(spanMs, DAILY_AVERAGE_SCALE, 'half-up').toString()
}
