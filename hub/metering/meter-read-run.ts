import { type Kysely, sql, type Transaction } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { localDate, type PeriodBounds, periodBounds, shiftPeriod } from './cutoff.ts'
import { type ComputedRead, computeRead, readSnapshot } from './meter-read-compute.ts'
import {
  loadMeters,
  loadSettings,
  type MeterForRead,
  type MeteringSettings,
  meterOrder,
  previousRecords,
  readsOfPeriod,
  replacementsBetween,
  type StoredRead,
  samplesAround,
  silentPoints,
  subMetersOf,
  trailingAverages,
} from './meter-read-inputs.ts'
import { masterBelowSubs } from './vee-checks.ts'

export interface RunConflict {
  readonly meterId: string
  readonly meterCode: string
  readonly status: string
  /** Fields whose computed value differs from the approved or overridden record. */
  readonly differences: Record<string, { stored: unknown; computed: unknown }>
}

export interface RunReport {
  readonly estateId: string
  readonly period: string
  readonly periodStart: string
  readonly cutoffAt: string
  readonly meters: number
  readonly created: number
  readonly updated: number
  readonly unchanged: number
  readonly flagged: number
  /** Approved or overridden records left alone although the data now says otherwise. */
  readonly conflicts: readonly RunConflict[]
}

/** Records a clerk has decided: a re-run reports differences but never writes over them. */
const settled = new Set(['approved', 'overridden'])

/**
 * Meters read, computed and written per step: bounds the run's memory (a 100,000-meter estate
 * holds one chunk's readings and records at a time) and each statement's size.
 */
export const METERS_PER_CHUNK = 10_000

/** What one run knows about its estate and period, shared by every chunk. */
interface RunContext {
  readonly estateId: string
  readonly period: string
  readonly bounds: PeriodBounds
  readonly settings: MeteringSettings
  readonly now: number
}

/** One meter of a chunk: the record as computed, and as stored before the run. */
interface Entry {
  readonly meter: MeterForRead
  next: ComputedRead
  readonly stored: StoredRead | undefined
}

interface Tally {
  created: number
  updated: number
  unchanged: number
  flagged: number
  readonly conflicts: (RunConflict & { position: number })[]
}

/**
 * Fills (or re-fills) the meter-read records of one estate and period. Idempotent: a re-run
 * with the same readings changes nothing; with new readings it updates the records the hub
 * owns and logs the change (an estimate gives way to a real reading that arrived late);
 * approved and overridden records are never written over, their differences are reported.
 *
 * Set-based at any size: the meters are taken in chunks of METERS_PER_CHUNK (code order),
 * each chunk's inputs read with one array parameter per statement, computed in JavaScript
 * (exact decimals, the VEE checks) and written by two statements (new records with their
 * audit rows; changed records with theirs) in a transaction per chunk. Masters are computed
 * last, once every sub-meter's consumption is known. Two runs of one period at once (two
 * hubs, a clerk beside the scheduler) cannot write a record twice: an insert yields to a
 * record that exists, an update applies only to the version it read; a run that fails part
 * way leaves whole chunks written, which the next run completes.
 */
export async function runMeterReads(
  db: Kysely<Database>,
  options: {
    estateId: string
    period: string
    now?: number
    meterIds?: readonly string[]
    /**
     * Explicit period bounds and tolerance window instead of the estate's calendar settings:
     * for tests that run a whole period in seconds.
     */
    bounds?: { start: number; cutoff: number }
    windowMs?: number
  },
): Promise<RunReport> {
  const now = options.now ?? Date.now()
  const loaded = await loadSettings(db, options.estateId)
  const settings = options.windowMs === undefined ? loaded : { ...loaded, windowMs: options.windowMs }
  const bounds = options.bounds
    ? { period: options.period, ...options.bounds }
    : periodBounds(options.period, settings.timeZone, settings.cutoffDay)
  if (bounds.cutoff > now)
    throw new RangeError(
      `period ${options.period} is not closed yet: its cut-off is ${new Date(bounds.cutoff).toISOString()}`,
    )
  const context: RunContext = { estateId: options.estateId, period: options.period, bounds, settings, now }

  const order = await meterOrder(db, options.estateId, options.meterIds)
  const inRun = new Set(order.map((m) => m.id))
  const position = new Map(order.map((m, i) => [m.id, i]))
  const masterIds = new Set(
    order.flatMap((m) => (m.parentMeterId !== null && inRun.has(m.parentMeterId) ? [m.parentMeterId] : [])),
  )
  // Read before anything is written: a sub-meter outside the run, or settled, counts as stored.
  const subMeters = await subMetersOf(db, options.estateId, options.period, [...masterIds])
  const isSubMeter = new Set(subMeters.map((s) => s.id))
  const freshConsumption = new Map<string, string | null>()
  const tally: Tally = { created: 0, updated: 0, unchanged: 0, flagged: 0, conflicts: [] }
  const remember = (entries: readonly Entry[]) => {
    for (const e of entries)
      if (isSubMeter.has(e.meter.id)) freshConsumption.set(e.meter.id, e.next.consumption)
  }
  // One chunk's write (its own transaction) runs while the next chunk is read and computed on
  // another connection of the pool; at most one write in flight, so two chunks in memory.
  let writing: Promise<void> = Promise.resolve()
  const write = async (entries: readonly Entry[]) => {
    await writing
    writing = db.transaction().execute((trx) => writeChunk(trx, context, entries, position, tally))
    // Rejections surface at the next await of `writing`; none is left unheard meanwhile.
    writing.catch(() => {})
  }

  const plain = order.filter((m) => !masterIds.has(m.id)).map((m) => m.id)
  for (let i = 0; i < plain.length; i += METERS_PER_CHUNK) {
    const entries = await computeChunk(db, context, plain.slice(i, i + METERS_PER_CHUNK))
    remember(entries)
    await write(entries)
  }

  // Masters: all computed first (a master may be another's sub-meter), then checked, then written.
  const masters: Entry[] = []
  const masterList = order.filter((m) => masterIds.has(m.id)).map((m) => m.id)
  for (let i = 0; i < masterList.length; i += METERS_PER_CHUNK)
    masters.push(...(await computeChunk(db, context, masterList.slice(i, i + METERS_PER_CHUNK))))
  remember(masters)
  flagMastersBelowSubs(masters, subMeters, freshConsumption)
  for (let i = 0; i < masters.length; i += METERS_PER_CHUNK)
    await write(masters.slice(i, i + METERS_PER_CHUNK))
  await writing

  return {
    estateId: options.estateId,
    period: options.period,
    periodStart: new Date(bounds.start).toISOString(),
    cutoffAt: new Date(bounds.cutoff).toISOString(),
    meters: order.length,
    created: tally.created,
    updated: tally.updated,
    unchanged: tally.unchanged,
    flagged: tally.flagged,
    // In meter-code order, as a clerk reads the list.
    conflicts: tally.conflicts.sort((a, b) => a.position - b.position).map(({ position: _, ...c }) => c),
  }
}

/**
 * Reads one chunk's inputs (one statement each, the ids as one array) and computes its
 * records. The readings around the period's start are looked up only for meters that have no
 * previous reading to start from, and silence at the cut-off is judged from the samples
 * around it whenever the meter's offline span lies inside the window they were looked up in.
 */
async function computeChunk(
  db: Kysely<Database>,
  { estateId, period, bounds, settings }: RunContext,
  meterIds: readonly string[],
): Promise<Entry[]> {
  const meters = await loadMeters(db, estateId, meterIds, {
    startDate: localDate(bounds.start, settings.timeZone),
    endDate: localDate(bounds.cutoff - 1, settings.timeZone),
  })
  const ids = meters.map((m) => m.id)
  const pointIds = meters.flatMap((m) => (m.pointId === null ? [] : [m.pointId]))
  const [atCutoff, previous, existing, replacements, averages] = await Promise.all([
    samplesAround(db, pointIds, bounds.cutoff, settings.windowMs),
    previousRecords(db, ids, shiftPeriod(period, -1)),
    readsOfPeriod(db, ids, period),
    replacementsBetween(db, ids, bounds.start, bounds.cutoff),
    trailingAverages(db, ids, period),
  ])
  const startPoints: string[] = []
  const farSpans: { pointId: string; spanMs: number }[] = []
  const silent = new Set<string>()
  for (const m of meters) {
    if (m.pointId === null) continue
    if (previous.get(m.id)?.currentReading == null) startPoints.push(m.pointId)
    const spanMs = settings.offlineAfterIntervals * m.pollIntervalMs
    if (spanMs > settings.windowMs) farSpans.push({ pointId: m.pointId, spanMs })
    else {
      // samplesAround found the last good reading in [cutoff − window, cutoff] and the first
      // in (cutoff, cutoff + window]: one within the span either side means heard from.
      const { before, after } = atCutoff.get(m.pointId) ?? {}
      const heard =
        (before !== undefined && before.at >= bounds.cutoff - spanMs) ||
        (after !== undefined && after.at <= bounds.cutoff + spanMs)
      if (!heard) silent.add(m.pointId)
    }
  }
  const [atStart, silentFar] = await Promise.all([
    samplesAround(db, startPoints, bounds.start, settings.windowMs),
    silentPoints(db, farSpans, bounds.cutoff),
  ])
  for (const pointId of silentFar) silent.add(pointId)
  return meters.map((meter) => ({
    meter,
    stored: existing.get(meter.id),
    next: computeRead({
      meter,
      bounds,
      settings,
      atCutoff: (meter.pointId && atCutoff.get(meter.pointId)) || {},
      atStart: (meter.pointId && atStart.get(meter.pointId)) || {},
      previousRecord: previous.get(meter.id),
      replacements: replacements.get(meter.id) ?? [],
      trailingAverage: averages.get(meter.id),
      silentAtCutoff: meter.pointId !== null && silent.has(meter.pointId),
    }),
  }))
}

/** The record's columns as jsonb_to_recordset reads them (decimals as strings: exact). */
const recordColumns = `previous_reading numeric, previous_at timestamptz, previous_source text,
  current_reading numeric, current_at timestamptz, method text, multiplier numeric, consumption numeric,
  rollover boolean, replacements integer, trues_up boolean, flags jsonb, status text`

function recordRow(read: ComputedRead) {
  return {
    previous_reading: read.previousReading,
    previous_at: read.previousAt,
    previous_source: read.previousSource,
    current_reading: read.currentReading,
    current_at: read.currentAt,
    method: read.method,
    multiplier: read.multiplier,
    consumption: read.consumption,
    rollover: read.rollover,
    replacements: read.replacements,
    trues_up: read.truesUp,
    flags: read.flags,
    status: read.status,
  }
}

/**
 * Decides each meter of a chunk (new, unchanged, changed, or a conflict with a clerk's record)
 * and writes it set-based: one statement inserts the new records and their 'computed' audit
 * rows, one updates the changed ones and logs 'recomputed' with the old and new values.
 */
async function writeChunk(
  trx: Transaction<Database>,
  { estateId, period, bounds, now }: RunContext,
  entries: readonly Entry[],
  position: ReadonlyMap<string, number>,
  tally: Tally,
) {
  const inserts: object[] = []
  const updates: object[] = []
  for (const { meter, next, stored } of entries) {
    if (next.status === 'flagged') tally.flagged += 1
    const nextSnapshot = readSnapshot(next)
    if (stored === undefined) {
      inserts.push({ meter_id: meter.id, ...recordRow(next), snapshot: nextSnapshot })
      continue
    }
    // An estimate stands until a real reading turns up (a gateway's outbox replayed late).
    if (stored.status === 'estimated' && next.currentReading === null) {
      tally.unchanged += 1
      continue
    }
    const storedSnapshot = readSnapshot(stored)
    const differences = diff(storedSnapshot, nextSnapshot, settled.has(stored.status))
    if (Object.keys(differences).length === 0) {
      tally.unchanged += 1
      continue
    }
    if (settled.has(stored.status)) {
      tally.conflicts.push({
        meterId: meter.id,
        meterCode: meter.code,
        status: stored.status,
        differences,
        position: position.get(meter.id) ?? 0,
      })
      continue
    }
    updates.push({
      id: stored.id,
      version: stored.version,
      ...recordRow(next),
      old_snapshot: storedSnapshot,
      new_snapshot: nextSnapshot,
    })
  }

  if (inserts.length > 0) {
    // Another writer's record for the same meter and period (none while the run holds its
    // lock) is left as it is rather than failing the run.
    const result = await sql<{
      written: number
    }>`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(inserts)}::jsonb)
          as r(meter_id uuid, ${sql.raw(recordColumns)}, snapshot jsonb)
      ), inserted as (
        insert into meter_reads (estate_id, meter_id, period, period_start, cutoff_at, previous_reading,
          previous_at, previous_source, current_reading, current_at, method, multiplier, consumption,
          rollover, replacements, trues_up, flags, status)
        select ${estateId}::uuid, meter_id, ${period}, ${new Date(bounds.start).toISOString()}::timestamptz,
          ${new Date(bounds.cutoff).toISOString()}::timestamptz, previous_reading, previous_at, previous_source,
          current_reading, current_at, method, multiplier, consumption, rollover, replacements, trues_up,
          flags, status
        from input
        on conflict (meter_id, period) do nothing
        returning id, meter_id
      ), logged as (
        insert into meter_read_changes (estate_id, meter_read_id, action, new)
        select ${estateId}::uuid, inserted.id, 'computed', input.snapshot
        from inserted join input using (meter_id)
        returning 1
      )
      select count(*)::int as written from logged`.execute(trx)
    tally.created += result.rows[0]?.written ?? 0
  }

  if (updates.length > 0) {
    // Only the version read: a record a clerk changed meanwhile stays as the clerk left it.
    const nowIso = new Date(now).toISOString()
    const result = await sql<{ written: number }>`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb)
          as r(id uuid, version integer, ${sql.raw(recordColumns)}, old_snapshot jsonb, new_snapshot jsonb)
      ), updated as (
        update meter_reads m set previous_reading = i.previous_reading, previous_at = i.previous_at,
          previous_source = i.previous_source, current_reading = i.current_reading, current_at = i.current_at,
          method = i.method, multiplier = i.multiplier, consumption = i.consumption, rollover = i.rollover,
          replacements = i.replacements, trues_up = i.trues_up, flags = i.flags, status = i.status,
          computed_at = ${nowIso}::timestamptz, updated_at = ${nowIso}::timestamptz, version = m.version + 1
        from input i
        where m.id = i.id and m.version = i.version
        returning m.id
      ), logged as (
        insert into meter_read_changes (estate_id, meter_read_id, action, old, new)
        select ${estateId}::uuid, updated.id, 'recomputed', input.old_snapshot, input.new_snapshot
        from updated join input using (id)
        returning 1
      )
      select count(*)::int as written from logged`.execute(trx)
    const written = result.rows[0]?.written ?? 0
    tally.updated += written
    tally.unchanged += updates.length - written
  }
}

function diff(
  stored: Record<string, unknown>,
  next: Record<string, unknown>,
  settledRecord: boolean,
): Record<string, { stored: unknown; computed: unknown }> {
  const result: Record<string, { stored: unknown; computed: unknown }> = {}
  for (const [key, value] of Object.entries(next)) {
    // A settled record's status and flags are the clerk's, not the data's.
    if (settledRecord && (key === 'status' || key === 'flags' || key === 'method')) continue
    if (JSON.stringify(stored[key]) !== JSON.stringify(value))
      result[key] = { stored: stored[key], computed: value }
  }
  return result
}

/**
 * A master meter that measured less than its sub-meters together is wrong somewhere (or a
 * sub-meter is): flag the master's record. Sub-meters outside this run count with their
 * stored consumption; a sub-meter without consumption leaves the check undecided.
 */
function flagMastersBelowSubs(
  masters: Entry[],
  subMeters: readonly {
    id: string
    parentMeterId: string | null
    consumption: string | null
    status: string | null
  }[],
  freshConsumption: ReadonlyMap<string, string | null>,
) {
  const byMaster = new Map<string, (typeof subMeters)[number][]>()
  for (const sub of subMeters) {
    if (sub.parentMeterId === null) continue
    const list = byMaster.get(sub.parentMeterId) ?? []
    list.push(sub)
    byMaster.set(sub.parentMeterId, list)
  }
  for (const master of masters) {
    const own = master.next
    const storedOwn = master.stored
    const masterConsumption =
      storedOwn && settled.has(storedOwn.status) ? storedOwn.consumption : own.consumption
    if (masterConsumption === null) continue
    const subs: string[] = []
    let undecided = false
    for (const child of byMaster.get(master.meter.id) ?? []) {
      const value =
        child.status !== null && settled.has(child.status)
          ? child.consumption
          : (freshConsumption.get(child.id) ?? child.consumption)
      if (value === null || value === undefined) undecided = true
      else subs.push(value)
    }
    if (undecided || subs.length === 0) continue
    const flag = masterBelowSubs(masterConsumption, subs)
    if (flag)
      master.next = {
        ...own,
        flags: [...own.flags, { code: flag.code, message: flag.message }],
        status: 'flagged',
      }
  }
}

/** Exact sum of decimal strings (loss reports, tests). */
export function sumDecimals(values: readonly string[]): string {
  return values.reduce((acc, v) => acc.plus(v), Decimal.ZERO).toString()
}
