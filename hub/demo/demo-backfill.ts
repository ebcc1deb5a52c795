import { setImmediate } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import type { UplinkBatch, WireReading } from '../../gateway/contract/index.ts'
import { MAX_READINGS } from '../../gateway/contract/index.ts'
import { commitBatch } from '../ingest/batch-writer.ts'
import type { GatewayEntry } from '../ingest/point-directory.ts'
import type { ReadingPartitions } from '../ingest/reading-partitions.ts'
import { lastClosedPeriod, periodBounds, shiftPeriod } from '../metering/cutoff.ts'
import { loadSettings } from '../metering/meter-read-inputs.ts'
import { runMeterReads } from '../metering/meter-read-run.ts'
import type { Database, UnitStatus } from '../store/database-schema.ts'
import {
  ANOMALY_BACKWARDS,
  ANOMALY_LEAK,
  ANOMALY_STUCK,
  DEMO_GATEWAY_CODE,
  demoHash,
  MASTER_CT_RATIO,
} from './seed-demo.ts'

/**
 * The demo's past: each meter's register, hour by hour over the last N days, generated
 * deterministically per unit and committed through the ingest's own commit path as the demo
 * gateway's historical batches; then the meter reads of every closed period the history
 * covers. The history ends at `now` on the value the simulated meter starts from, so the live
 * readings continue it without a jump.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Shanghai keeps UTC+8 all year: local hour and day without a time-zone library. */
const ZONE_OFFSET_HOURS = 8

/** The simulated meter's mean load (1.75 ± 1.25 kW) and water flow (0.03 ± 0.02 m³/h). */
export const SIM_MEAN_KW = 1.75
export const SIM_MEAN_M3_PER_HOUR = 0.03
/** What the master meter sees beyond its units: cable and transformer losses, common areas. */
export const MASTER_LOSS_FACTOR = 1.03
export const COMMON_AREA_KW = 1.2
/** The demo gateway's backfill batches take seqs from here; the live gateway's start at the clock (ms). */
export const BACKFILL_FIRST_SEQ = 1

// Relative load by local hour: a night base, a breakfast bump, an evening peak.
const homeElectricity = norm([
  0.45, 0.4, 0.38, 0.36, 0.36, 0.4, 0.6, 0.95, 0.9, 0.7, 0.65, 0.75, 0.85, 0.75, 0.65, 0.65, 0.75, 1.05, 1.5,
  1.75, 1.8, 1.7, 1.35, 0.85,
])
const homeWater = norm([
  0.1, 0.05, 0.05, 0.05, 0.05, 0.2, 1.2, 2.2, 1.8, 0.9, 0.6, 0.9, 1.2, 0.8, 0.5, 0.5, 0.6, 0.9, 1.6, 2, 1.9,
  1.6, 1.2, 0.5,
])
// Fitters at work from 8 to 18.
const workHours = norm(Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 18 ? (h === 12 ? 0.5 : 1) : 0.05)))

function norm(shape: number[]): number[] {
  const mean = shape.reduce((a, b) => a + b, 0) / shape.length
  return shape.map((v) => v / mean)
}

/** A deterministic uniform number in [0, 1) for a key. */
function uniform(key: string): number {
  return demoHash(key) / 2 ** 32
}

export interface DemoUnitInfo {
  readonly code: string
  readonly status: UnitStatus
  readonly building: number
}

/**
 * A unit's mean electric load in kW (its water use follows it): 0.3–0.65 kW lived in, a little
 * less let, fitters' tools while decorating, a fridge-less trickle when vacant.
 */
export function unitMeanKw(unit: Pick<DemoUnitInfo, 'code' | 'status'>): number {
  const u = uniform(`load:${unit.code}`)
  switch (unit.status) {
    case 'occupied':
      return 0.3 + 0.35 * u
    case 'rented':
      return 0.25 + 0.3 * u
    case 'decorating':
      return 0.3 + 0.1 * u
    case 'vacant':
      return 0.004
  }
}

/**
 * How much faster than real time a unit's simulated meter runs its clock: the simulator's own
 * profile averages SIM_MEAN_KW, the unit's history unitMeanKw.
 */
export function unitClockRate(unit: Pick<DemoUnitInfo, 'code' | 'status'>): number {
  return unitMeanKw(unit) / SIM_MEAN_KW
}

const LEAK_LITRES_PER_HOUR = 60

/** Round x to an integer up or down with probability of its fraction, deterministically. */
function roundBy(x: number, u: number): number {
  return Math.floor(x + u)
}

/**
 * A unit's register increments for the hour starting at `hour` (hours since the epoch):
 * electricity in 0.01 kWh, water in litres, before any planted fault.
 */
export function hourlyUse(unit: DemoUnitInfo, hour: number): { centiKwh: number; litres: number } {
  const localHour = (hour + ZONE_OFFSET_HOURS) % 24
  const day = Math.floor((hour + ZONE_OFFSET_HOURS) / 24)
  const weekday = (day + 4) % 7 // 1970-01-01 was a Thursday
  const kw = unitMeanKw(unit)
  const decorating = unit.status === 'decorating'
  const weekend = weekday === 0 || weekday === 6
  const dayFactor =
    (0.8 + 0.4 * uniform(`day:${unit.code}:${day}`)) *
    (decorating ? (weekend ? 0.3 : 1.28) : weekend ? 1.12 : 0.95)
  const noise = uniform(`h:${unit.code}:${hour}`)
  const hourFactor = 0.85 + 0.3 * noise
  const electric = decorating ? workHours : homeElectricity
  const water = decorating ? workHours : homeWater
  const m3PerHour = (kw / SIM_MEAN_KW) * SIM_MEAN_M3_PER_HOUR
  const leak = unit.code === ANOMALY_LEAK ? LEAK_LITRES_PER_HOUR : 0
  return {
    centiKwh: roundBy(kw * 100 * electric[localHour]! * dayFactor * hourFactor, noise),
    litres:
      leak + roundBy(m3PerHour * 1000 * water[localHour]! * dayFactor * (1.15 - 0.3 * noise), 1 - noise),
  }
}

/** Where a meter's register starts at the beginning of the history, in its own steps. */
function baseValue(code: string, kind: 'energy' | 'water' | 'master'): number {
  const h = demoHash(`base:${code}`)
  if (kind === 'water') return (40 + (h % 600)) * 1000 + (h % 997)
  if (kind === 'master') return (180_000 + (h % 20_000)) * 100 + (h % 97)
  return (800 + (h % 9_000)) * 100 + (h % 89)
}

export interface DemoSeries {
  /** The meter's code (E-1-101, W-1-101, E-1-MAIN). */
  readonly meter: string
  /** The wire name `<device>/<point>` the gateway reports it under. */
  readonly name: string
  /** Register step: 0.01 kWh or 0.001 m³. */
  readonly step: number
  /** Register value at each whole hour from the window's start, in steps. */
  readonly hourly: Float64Array
  /** Register value at `now`, in steps: where the simulated meter starts. */
  readonly final: number
}

export interface HistoryWindow {
  /** A whole hour: the first reading. */
  readonly from: number
  /** The last reading (any instant). */
  readonly now: number
}

export function historyWindow(days: number, now: number): HistoryWindow {
  return { from: Math.floor((now - days * DAY_MS) / HOUR_MS) * HOUR_MS, now }
}

/**
 * Every demo meter's register over the window: per unit an electricity and a water register,
 * per building a master register behind CTs that counts what its units use, plus losses and
 * common areas. Pure and deterministic: the same units and window give the same series.
 */
export function demoHistory(units: readonly DemoUnitInfo[], window: HistoryWindow): DemoSeries[] {
  const firstHour = window.from / HOUR_MS
  const hours = Math.floor((window.now - window.from) / HOUR_MS)
  const fraction = (window.now - window.from) / HOUR_MS - hours
  // The backwards step: halfway through the window, whole hour.
  const resetAt = Math.floor(hours / 2)
  const buildings = new Map<number, Float64Array>()
  const series: DemoSeries[] = []
  for (const unit of units) {
    const energy = new Float64Array(hours + 1)
    const water = new Float64Array(hours + 1)
    let primary = buildings.get(unit.building)
    if (!primary) {
      primary = new Float64Array(hours + 1)
      buildings.set(unit.building, primary)
    }
    const stuck = unit.code === ANOMALY_STUCK
    const reset = unit.code === ANOMALY_BACKWARDS
    let e = baseValue(`E-${unit.code}`, 'energy')
    let w = baseValue(`W-${unit.code}`, 'water')
    let lastUse = { centiKwh: 0, litres: 0 }
    for (let i = 0; i <= hours; i++) {
      if (reset && i === resetAt) w = 1_234
      energy[i] = e
      water[i] = w
      // The hour starting at i (the last one only partly, up to now).
      lastUse = hourlyUse(unit, firstHour + i)
      if (i < hours) {
        if (!stuck) e += lastUse.centiKwh
        w += lastUse.litres
        primary[i]! += lastUse.centiKwh
      }
    }
    primary[hours]! += lastUse.centiKwh * fraction
    series.push({
      meter: `E-${unit.code}`,
      name: `meter-${unit.code}/energy`,
      step: 0.01,
      hourly: energy,
      final: stuck ? e : e + Math.floor(lastUse.centiKwh * fraction),
    })
    series.push({
      meter: `W-${unit.code}`,
      name: `meter-${unit.code}/water`,
      step: 0.001,
      hourly: water,
      final: w + Math.floor(lastUse.litres * fraction),
    })
  }
  for (const [building, primary] of [...buildings].sort((a, b) => a[0] - b[0])) {
    const code = `E-${building}-MAIN`
    const base = baseValue(code, 'master')
    const hourly = new Float64Array(hours + 1)
    // Primary energy in 0.01 kWh; the register counts it divided by the CT ratio.
    let total = 0
    for (let i = 0; i <= hours; i++) {
      hourly[i] = base + Math.floor(total / MASTER_CT_RATIO)
      if (i < hours) total += Math.round(primary[i]! * MASTER_LOSS_FACTOR + COMMON_AREA_KW * 100)
    }
    total += Math.round((primary[hours]! * MASTER_LOSS_FACTOR + COMMON_AREA_KW * 100) * fraction)
    series.push({
      meter: code,
      name: `meter-${building}-main/energy`,
      step: 0.01,
      hourly,
      final: base + Math.floor(total / MASTER_CT_RATIO),
    })
  }
  return series
}

/** A series' register value at a whole hour of the window (or at `now`), as the decimal stored. */
export function seriesValueAt(series: DemoSeries, window: HistoryWindow, at: number): number {
  const steps = at === window.now ? series.final : series.hourly[(at - window.from) / HOUR_MS]
  if (steps === undefined || (at !== window.now && (at - window.from) % HOUR_MS !== 0))
    throw new RangeError(`no reading of ${series.meter} at ${new Date(at).toISOString()}`)
  return steps / (series.step === 0.01 ? 100 : 1000)
}

/**
 * The instants readings are generated for: every multiple of `stepMs` since the epoch inside
 * the window (aligned as the gateway's poll ticks are, so a cut-off at a whole hour of the
 * step is read exactly), and `now`.
 */
export function readingTimes(window: HistoryWindow, stepMs: number): number[] {
  const times: number[] = []
  for (let t = Math.ceil(window.from / stepMs) * stepMs; t < window.now; t += stepMs) times.push(t)
  times.push(window.now)
  return times
}

export interface PeriodSummary {
  readonly period: string
  readonly auto: number
  readonly flagged: number
  readonly other: number
}

export interface BackfillReport {
  /** Set when nothing was written, with the reason. */
  readonly skipped?: string
  readonly from: number
  readonly now: number
  readonly readings: number
  readonly batches: number
  /** Wall time of the whole backfill, meter reads included. */
  readonly ms: number
  readonly periods: readonly PeriodSummary[]
}

export interface BackfillOptions {
  readonly estateId: string
  /** The demo gateway as the ingest knows it (PointDirectory). */
  readonly gateway: GatewayEntry
  readonly partitions: ReadingPartitions
  readonly days: number
  /** Default Date.now(). */
  readonly now?: number
  /** Spacing of the generated readings; default 1 h (whole hours only). */
  readonly stepMs?: number
  /** Stops between batches (Ctrl-C during a long backfill). */
  readonly signal?: AbortSignal
}

/** Closed periods lying wholly inside the window (a period starting before it would have no previous reading). */
export function periodsCovered(window: HistoryWindow, timeZone: string, cutoffDay: number | null): string[] {
  const periods: string[] = []
  let period = lastClosedPeriod(window.now, timeZone, cutoffDay)
  for (;;) {
    const bounds = periodBounds(period, timeZone, cutoffDay)
    if (bounds.start < window.from || bounds.cutoff > window.now) break
    periods.unshift(period)
    period = shiftPeriod(period, -1)
  }
  return periods
}

/** Days of history that cover the last closed period with a day to spare, and at least `atLeast`. */
export function daysCoveringLastPeriod(
  now: number,
  timeZone: string,
  cutoffDay: number | null,
  atLeast = 40,
): number {
  const start = periodBounds(lastClosedPeriod(now, timeZone, cutoffDay), timeZone, cutoffDay).start
  return Math.max(atLeast, Math.ceil((now - start) / DAY_MS) + 1)
}

export async function loadDemoUnits(db: Kysely<Database>, estateId: string): Promise<DemoUnitInfo[]> {
  const rows = await db
    .selectFrom('units')
    .innerJoin('buildings', 'buildings.id', 'units.buildingId')
    .select(['units.code', 'units.status', 'buildings.code as building'])
    .where('units.estateId', '=', estateId)
    .orderBy('buildings.code')
    .orderBy('units.floor')
    .orderBy('units.code')
    .execute()
  return rows.map((r) => ({ code: r.code, status: r.status, building: Number(r.building.replace(/^B/, '')) }))
}

/**
 * Writes the demo's history through commitBatch as the demo gateway's historical batches
 * (≤ MAX_READINGS each, seqs from BACKFILL_FIRST_SEQ, below the live gateway's clock-based
 * ones), then runs the meter reads of every closed period wholly inside the window. Skipped
 * when the demo gateway has committed batches before: its seqs are taken, and the history
 * would not join the readings already there.
 */
export async function backfillDemo(db: Kysely<Database>, options: BackfillOptions): Promise<BackfillReport> {
  const started = performance.now()
  const now = options.now ?? Date.now()
  const stepMs = options.stepMs ?? HOUR_MS
  if (stepMs % HOUR_MS !== 0 || stepMs <= 0) throw new RangeError('backfill step must be whole hours')
  const window = historyWindow(options.days, now)
  const nothing = (skipped: string): BackfillReport => ({
    skipped,
    from: window.from,
    now,
    readings: 0,
    batches: 0,
    ms: performance.now() - started,
    periods: [],
  })
  const link = await db
    .selectFrom('gatewayLinks')
    .select('committedSeq')
    .where('gatewayId', '=', options.gateway.id)
    .executeTakeFirst()
  if (link && Number(link.committedSeq) >= BACKFILL_FIRST_SEQ)
    return nothing(
      `${DEMO_GATEWAY_CODE} has reported before; history is only generated for a fresh demo store`,
    )

  const units = await loadDemoUnits(db, options.estateId)
  const series = demoHistory(units, window).filter((s) => options.gateway.points.has(s.name))
  const times = readingTimes(window, stepMs)
  let seq = BACKFILL_FIRST_SEQ
  let readings = 0
  let batches = 0
  let pending: WireReading[] = []
  const flush = async () => {
    if (pending.length === 0) return
    options.signal?.throwIfAborted()
    const batch: UplinkBatch = {
      v: 1,
      gateway: options.gateway.code,
      session: 'demo-backfill',
      seq,
      oldest: seq,
      sentAt: now,
      historical: true,
      readings: pending,
      events: [],
    }
    const result = await commitBatch(db, options.partitions, options.gateway, batch, { now })
    readings += result.stored.length
    batches += 1
    seq += 1
    pending = []
    // Let the process breathe between batches: signals, the API, the gateway's broker.
    await setImmediate()
  }
  // Meter by meter, oldest first: a meter's whole series in as few batches as possible.
  for (const s of series) {
    const divisor = s.step === 0.01 ? 100 : 1000
    for (const t of times) {
      const steps = t === now ? s.final : s.hourly[(t - window.from) / HOUR_MS]!
      pending.push({ p: s.name, t, v: steps / divisor, q: 'good' })
      if (pending.length === MAX_READINGS) await flush()
    }
  }
  await flush()

  const settings = await loadSettings(db, options.estateId)
  const periods: PeriodSummary[] = []
  for (const period of periodsCovered(window, settings.timeZone, settings.cutoffDay)) {
    options.signal?.throwIfAborted()
    await runMeterReads(db, { estateId: options.estateId, period, now })
    const counts = await db
      .selectFrom('meterReads')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .where('estateId', '=', options.estateId)
      .where('period', '=', period)
      .groupBy('status')
      .execute()
    const of = (status: string) => Number(counts.find((c) => c.status === status)?.n ?? 0)
    const total = counts.reduce((sum, c) => sum + Number(c.n), 0)
    periods.push({
      period,
      auto: of('auto'),
      flagged: of('flagged'),
      other: total - of('auto') - of('flagged'),
    })
  }
  return { from: window.from, now, readings, batches, ms: performance.now() - started, periods }
}
