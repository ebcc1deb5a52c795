import { Decimal } from '../kernel/decimal.ts'
import type { MeterReadFlag, MeterReadMethod, MeterReadStatus } from '../store/database-schema.ts'
import type { PeriodBounds } from './cutoff.ts'
import type {
  Around,
  MeterForRead,
  MeteringSettings,
  PreviousRecord,
  StoredRead,
} from './meter-read-inputs.ts'
import { periodConsumption, type Replacement } from './period-consumption.ts'
import { type CutoffReading, readingAtCutoff } from './read-at-cutoff.ts'
import { veeFlags } from './vee-checks.ts'

/** The values of one meter-read record, as computed (compared with the stored one on re-runs). */
export interface ComputedRead {
  readonly previousReading: string | null
  readonly previousAt: Date | null
  readonly previousSource: 'read' | 'install' | 'series' | null
  readonly currentReading: string | null
  readonly currentAt: Date | null
  readonly method: MeterReadMethod
  readonly multiplier: string
  readonly consumption: string | null
  readonly rollover: boolean
  readonly replacements: number
  readonly truesUp: boolean
  readonly flags: MeterReadFlag[]
  readonly status: MeterReadStatus
}

export interface ComputeInputs {
  readonly meter: MeterForRead
  readonly bounds: PeriodBounds
  readonly settings: MeteringSettings
  /** Samples around this period's cut-off. */
  readonly atCutoff: Around
  /** Samples around the period's start, used when there is no previous record. */
  readonly atStart: Around
  /** Last period's record: where this one starts (and whether it trues up an estimate). */
  readonly previousRecord: PreviousRecord | undefined
  readonly replacements: readonly Replacement[]
  readonly trailingAverage: string | undefined
  /**
   * The meter's point sent no good reading within `offlineAfterIntervals` poll intervals either
   * side of the cut-off. From the readings, not the clock: a re-run gives the same record.
   */
  readonly silentAtCutoff: boolean
}

/** A reading taken from one side of a replacement belongs to another register: drop it. */
function sameRegister(around: Around, at: number, replacements: readonly Replacement[]): Around {
  let { before, after } = around
  for (const r of replacements) {
    if (before && before.at < r.at && r.at <= at) before = undefined
    if (after && at < r.at && r.at <= after.at) after = undefined
  }
  return { ...(before ? { before } : {}), ...(after ? { after } : {}) }
}

function readingAt(
  around: Around,
  at: number,
  meter: MeterForRead,
  windowMs: number,
): CutoffReading | undefined {
  return readingAtCutoff({
    ...around,
    cutoff: at,
    windowMs,
    decimals: meter.decimals,
    ...(meter.registerCapacity === null ? {} : { registerCapacity: meter.registerCapacity }),
  })
}

function previousOf(
  inputs: ComputeInputs,
): Pick<ComputedRead, 'previousReading' | 'previousAt' | 'previousSource'> {
  const { meter, bounds, previousRecord } = inputs
  if (previousRecord && previousRecord.currentReading !== null) {
    return {
      previousReading: previousRecord.currentReading,
      previousAt: previousRecord.currentAt,
      previousSource: 'read',
    }
  }
  // A meter installed during this period starts from its install reading.
  if (
    meter.installedOn !== null &&
    Date.parse(`${meter.installedOn}T00:00:00Z`) >= bounds.start - 86_400_000
  ) {
    return {
      previousReading: meter.installReading,
      previousAt: new Date(bounds.start),
      previousSource: 'install',
    }
  }
  const start = readingAt(inputs.atStart, bounds.start, meter, inputs.settings.windowMs)
  if (start) return { previousReading: start.value, previousAt: new Date(start.at), previousSource: 'series' }
  return { previousReading: null, previousAt: null, previousSource: null }
}

/**
 * One meter's record for one period: the reading at the cut-off, the consumption across
 * rollover and replacement, and the VEE flags. Pure: everything it needs is in `inputs`.
 */
export function computeRead(inputs: ComputeInputs): ComputedRead {
  const { meter, bounds, settings, replacements } = inputs
  const previous = previousOf(inputs)
  const around = sameRegister(inputs.atCutoff, bounds.cutoff, replacements)
  const current = readingAt(around, bounds.cutoff, meter, settings.windowMs)
  const multiplier = meter.multiplier

  let consumption: string | null = null
  let rollover = false
  let backwards = false
  if (previous.previousReading !== null && current) {
    const result = periodConsumption({
      previous: previous.previousReading,
      current: current.value,
      multiplier,
      ...(meter.registerCapacity === null ? {} : { registerCapacity: meter.registerCapacity }),
      replacements,
    })
    consumption = result.consumption ?? null
    rollover = result.rollover
    backwards = result.backwards
  }
  const meterOnline = meter.pointId === null || !inputs.silentAtCutoff
  const flags: MeterReadFlag[] = veeFlags({
    ...(consumption === null ? {} : { consumption }),
    backwards,
    ...(current ? { reading: current } : {}),
    meterOnline,
    ...(inputs.trailingAverage === undefined ? {} : { trailingAverage: inputs.trailingAverage }),
    spikeFactor: settings.spikeFactor[meter.kind],
    occupiedWholePeriod: meter.unitOccupied,
    hasPrevious: previous.previousReading !== null,
  }).map((f) => ({ code: f.code, message: f.message }))
  if (meter.pointId === null)
    flags.unshift({ code: 'no_point', message: 'the meter is bound to no device point' })
  return {
    ...previous,
    currentReading: current?.value ?? null,
    currentAt: current ? new Date(current.at) : null,
    method: current?.method ?? 'missing',
    multiplier,
    consumption,
    rollover,
    replacements: replacements.length,
    truesUp: inputs.previousRecord?.method === 'estimated' && current !== undefined,
    flags,
    status: flags.length > 0 ? 'flagged' : 'auto',
  }
}

/** The fields compared to decide whether a re-run changed a record. */
export function readSnapshot(read: ComputedRead | StoredRead): Record<string, unknown> {
  const time = (d: Date | null) => (d === null ? null : new Date(d).toISOString())
  // numeric(17,3) comes back as '1000.010': compare decimals by value, not by text.
  const num = (v: string | null) => (v === null ? null : Decimal.of(v).toString())
  return {
    previousReading: num(read.previousReading),
    previousAt: time(read.previousAt),
    previousSource: read.previousSource,
    currentReading: num(read.currentReading),
    currentAt: time(read.currentAt),
    method: read.method,
    multiplier: num(read.multiplier),
    consumption: num(read.consumption),
    rollover: read.rollover,
    replacements: read.replacements,
    truesUp: read.truesUp,
    flags: read.flags,
    status: read.status,
  }
}
