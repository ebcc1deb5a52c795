import type { Kysely } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { localDate, periodBounds, shiftPeriod } from './cutoff.ts'
import { type ComputedRead, computeRead, readSnapshot } from './meter-read-compute.ts'
import {
  loadMeters,
  loadSettings,
  type MeterForRead,
  readsOfPeriod,
  replacementsBetween,
  type StoredRead,
  samplesAround,
  silentPoints,
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
 * Fills (or re-fills) the meter-read records of one estate and period. Idempotent: a re-run
 * with the same readings changes nothing; with new readings it updates the records the hub
 * owns and logs the change (an estimate gives way to a real reading that arrived late);
 * approved and overridden records are never written over, their differences are reported.
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
  const meters = await loadMeters(db, options.estateId, options.meterIds, {
    startDate: localDate(bounds.start, settings.timeZone),
    endDate: localDate(bounds.cutoff - 1, settings.timeZone),
  })
  const ids = meters.map((m) => m.id)
  const pointIds = meters.flatMap((m) => (m.pointId === null ? [] : [m.pointId]))
  const offlineSpans = meters.flatMap((m) =>
    m.pointId === null
      ? []
      : [{ pointId: m.pointId, spanMs: settings.offlineAfterIntervals * m.pollIntervalMs }],
  )
  const [atCutoff, atStart, previous, existing, replacements, averages, silent] = await Promise.all([
    samplesAround(db, pointIds, bounds.cutoff, settings.windowMs),
    samplesAround(db, pointIds, bounds.start, settings.windowMs),
    readsOfPeriod(db, ids, shiftPeriod(options.period, -1)),
    readsOfPeriod(db, ids, options.period),
    replacementsBetween(db, ids, bounds.start, bounds.cutoff),
    trailingAverages(db, ids, options.period),
    silentPoints(db, offlineSpans, bounds.cutoff),
  ])

  const computed = new Map<string, ComputedRead>()
  for (const meter of meters) {
    const average = averages.get(meter.id)
    computed.set(
      meter.id,
      computeRead({
        meter,
        bounds,
        settings,
        atCutoff: (meter.pointId && atCutoff.get(meter.pointId)) || {},
        atStart: (meter.pointId && atStart.get(meter.pointId)) || {},
        previousRecord: previous.get(meter.id),
        replacements: replacements.get(meter.id) ?? [],
        trailingAverage: average,
        silentAtCutoff: meter.pointId !== null && silent.has(meter.pointId),
      }),
    )
  }
  await flagMastersBelowSubs(db, options.estateId, options.period, meters, computed, existing)

  let created = 0
  let updated = 0
  let unchanged = 0
  let flagged = 0
  const conflicts: RunConflict[] = []
  await db.transaction().execute(async (trx) => {
    for (const meter of meters) {
      const next = computed.get(meter.id)!
      if (next.status === 'flagged') flagged += 1
      const stored = existing.get(meter.id)
      const nextSnapshot = readSnapshot(next)
      if (stored === undefined) {
        const row = await trx
          .insertInto('meterReads')
          .values({
            estateId: options.estateId,
            meterId: meter.id,
            period: options.period,
            periodStart: new Date(bounds.start),
            cutoffAt: new Date(bounds.cutoff),
            ...next,
            flags: jsonb(next.flags),
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        await trx
          .insertInto('meterReadChanges')
          .values({ estateId: options.estateId, meterReadId: row.id, action: 'computed', new: nextSnapshot })
          .execute()
        created += 1
        continue
      }
      // An estimate stands until a real reading turns up (a gateway's outbox replayed late).
      if (stored.status === 'estimated' && next.currentReading === null) {
        unchanged += 1
        continue
      }
      const storedSnapshot = readSnapshot(stored)
      const differences = diff(storedSnapshot, nextSnapshot, settled.has(stored.status))
      if (Object.keys(differences).length === 0) {
        unchanged += 1
        continue
      }
      if (settled.has(stored.status)) {
        conflicts.push({ meterId: meter.id, meterCode: meter.code, status: stored.status, differences })
        continue
      }
      await trx
        .updateTable('meterReads')
        .set({
          ...next,
          flags: jsonb(next.flags),
          computedAt: new Date(now),
          updatedAt: new Date(now),
          version: stored.version + 1,
        })
        .where('id', '=', stored.id)
        .execute()
      await trx
        .insertInto('meterReadChanges')
        .values({
          estateId: options.estateId,
          meterReadId: stored.id,
          action: 'recomputed',
          old: storedSnapshot,
          new: nextSnapshot,
        })
        .execute()
      updated += 1
    }
  })
  return {
    estateId: options.estateId,
    period: options.period,
    periodStart: new Date(bounds.start).toISOString(),
    cutoffAt: new Date(bounds.cutoff).toISOString(),
    meters: meters.length,
    created,
    updated,
    unchanged,
    flagged,
    conflicts,
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
async function flagMastersBelowSubs(
  db: Kysely<Database>,
  estateId: string,
  period: string,
  meters: readonly MeterForRead[],
  computed: Map<string, ComputedRead>,
  existing: Map<string, StoredRead>,
) {
  const masters = meters.filter((m) => meters.some((s) => s.parentMeterId === m.id))
  if (masters.length === 0) return
  const children = await db
    .selectFrom('meters')
    .leftJoin('meterReads', (join) =>
      join.onRef('meterReads.meterId', '=', 'meters.id').on('meterReads.period', '=', period),
    )
    .select(['meters.id', 'meters.parentMeterId', 'meterReads.consumption', 'meterReads.status'])
    .where('meters.estateId', '=', estateId)
    .where('meters.status', '=', 'active')
    .where(
      'meters.parentMeterId',
      'in',
      masters.map((m) => m.id),
    )
    .execute()
  for (const master of masters) {
    const own = computed.get(master.id)
    const storedOwn = existing.get(master.id)
    const masterConsumption =
      storedOwn && settled.has(storedOwn.status) ? storedOwn.consumption : own?.consumption
    if (!own || masterConsumption === null || masterConsumption === undefined) continue
    const subs: string[] = []
    let undecided = false
    for (const child of children.filter((c) => c.parentMeterId === master.id)) {
      const fresh = computed.get(child.id)
      const value =
        child.status !== null && settled.has(child.status)
          ? child.consumption
          : (fresh?.consumption ?? child.consumption)
      if (value === null || value === undefined) undecided = true
      else subs.push(value)
    }
    if (undecided || subs.length === 0) continue
    const flag = masterBelowSubs(masterConsumption, subs)
    if (flag) {
      computed.set(master.id, {
        ...own,
        flags: [...own.flags, { code: flag.code, message: flag.message }],
        status: 'flagged',
      })
    }
  }
}

/** Exact sum of decimal strings (loss reports, tests). */
export function sumDecimals(values: readonly string[]): string {
  return values.reduce((acc, v) => acc.plus(v), Decimal.ZERO).toString()
}
