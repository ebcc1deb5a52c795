import { type Kysely, sql, type Transaction } from 'kysely'
import { conflict, invalid } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { Database, MeterReadAction } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { type ComputedRead, readSnapshot } from './meter-read-compute.ts'
import { counterSamples, replacementsBetween, type StoredRead } from './meter-read-inputs.ts'
import { periodConsumption } from './period-consumption.ts'
import { dailyAverage, estimateFromDailyAverage } from './vee-checks.ts'

const DAY_MS = 86_400_000
/** How far back an estimate looks for the meter’s daily average (two periods). */
const ESTIMATE_HISTORY_MS = 60 * DAY_MS

export interface Actor {
  readonly userId: string
}

type Change = Partial<ComputedRead> & { approvedBy?: string | null; approvedAt?: Date | null }

/**
 * Applies one clerk action to one record: locks it, checks the expected version (when the
 * caller sent one), writes the change and its audit row (who, when, why, old and new).
 */
async function mutate(
  db: Kysely<Database>,
  id: string,
  action: MeterReadAction,
  actor: Actor,
  reason: string | null,
  expectedVersion: number | undefined,
  decide: (read: StoredRead, trx: Transaction<Database>) => Promise<Change>,
): Promise<StoredRead> {
  return db.transaction().execute(async (trx) => {
    const read = await trx
      .selectFrom('meterReads')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirstOrThrow()
    if (expectedVersion !== undefined && expectedVersion !== read.version)
      throw conflict(
        'body.version',
        `the record changed meanwhile (version ${read.version}, you sent ${expectedVersion}); reload it`,
        'record.stale',
        { version: read.version, sent: expectedVersion },
      )
    const change = await decide(read, trx)
    const now = new Date()
    const updated = await trx
      .updateTable('meterReads')
      .set({ ...change, updatedAt: now, version: read.version + 1 })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
    await trx
      .insertInto('meterReadChanges')
      .values({
        estateId: read.estateId,
        meterReadId: id,
        action,
        reason,
        changedBy: actor.userId,
        old: jsonb({ ...readSnapshot(read), approvedBy: read.approvedBy }),
        new: jsonb({ ...readSnapshot(updated), approvedBy: updated.approvedBy }),
      })
      .execute()
    return updated
  })
}

/** Consumption of a record with a new current (or previous) reading, replacements included. */
async function consumptionFor(
  trx: Transaction<Database>,
  read: StoredRead,
  previous: string | null,
  current: string,
): Promise<Pick<ComputedRead, 'consumption' | 'rollover'>> {
  if (previous === null) return { consumption: null, rollover: false }
  const meter = await trx
    .selectFrom('meters')
    .select(['multiplier', 'registerCapacity'])
    .where('id', '=', read.meterId)
    .executeTakeFirstOrThrow()
  const replacements =
    (
      await replacementsBetween(
        trx,
        [read.meterId],
        new Date(read.periodStart).getTime(),
        new Date(read.cutoffAt).getTime(),
      )
    ).get(read.meterId) ?? []
  const result = periodConsumption({
    previous,
    current,
    multiplier: read.multiplier ?? meter.multiplier,
    ...(meter.registerCapacity === null ? {} : { registerCapacity: meter.registerCapacity }),
    replacements,
  })
  if (result.consumption === undefined)
    throw invalid(
      'body.currentReading',
      `${current} is below the previous reading ${previous} without rollover or replacement`,
      'reading.belowPrevious',
      { current: String(current), previous: String(previous) },
    )
  return { consumption: result.consumption, rollover: result.rollover }
}

export async function approveRead(
  db: Kysely<Database>,
  id: string,
  actor: Actor,
  body: { reason?: string; version?: number },
): Promise<StoredRead> {
  const reason = body.reason?.trim() || null
  return mutate(db, id, 'approved', actor, reason, body.version, async (read) => {
    if (read.status === 'approved')
      throw conflict('params.id', 'is already approved', 'meterRead.alreadyApproved')
    if (read.consumption === null)
      throw conflict(
        'params.id',
        'has no consumption to approve: override or estimate the reading first',
        'meterRead.noConsumption',
      )
    if (read.status === 'flagged' && reason === null)
      throw invalid(
        'body.reason',
        `is required to approve a flagged read (${read.flags.map((f) => f.code).join(', ')})`,
        'meterRead.flaggedNeedsReason',
        { flags: read.flags.map((f) => f.code).join(', ') },
      )
    return { status: 'approved', approvedBy: actor.userId, approvedAt: new Date() }
  })
}

export async function overrideRead(
  db: Kysely<Database>,
  id: string,
  actor: Actor,
  body: { currentReading: string; previousReading?: string; reason: string; version?: number },
): Promise<StoredRead> {
  const reason = body.reason.trim()
  if (reason === '')
    throw invalid('body.reason', 'is required: say why the reading is overridden', 'meterRead.reasonRequired')
  return mutate(db, id, 'overridden', actor, reason, body.version, async (read, trx) => {
    const previous = body.previousReading ?? read.previousReading
    const { consumption, rollover } = await consumptionFor(trx, read, previous, body.currentReading)
    return {
      ...(body.previousReading === undefined
        ? {}
        : { previousReading: body.previousReading, previousSource: 'read' as const }),
      currentReading: body.currentReading,
      currentAt: new Date(read.cutoffAt),
      method: 'manual',
      consumption,
      rollover,
      status: 'overridden',
      approvedBy: null,
      approvedAt: null,
    }
  })
}

/**
 * Estimates a missing reading at the cut-off from the meter's trailing daily average: the last
 * good reading before the cut-off plus the average times the days since. The next real reading
 * trues it up (the next period starts from the estimate).
 */
export async function estimateRead(
  db: Kysely<Database>,
  id: string,
  actor: Actor,
  body: { reason?: string; version?: number },
): Promise<StoredRead> {
  const reason = body.reason?.trim() || 'estimated from the trailing daily average'
  return mutate(db, id, 'estimated', actor, reason, body.version, async (read, trx) => {
    if (read.status === 'approved')
      throw conflict('params.id', 'is approved; override it instead', 'meterRead.approvedOverride')
    if (read.previousReading === null)
      throw conflict(
        'params.id',
        'has no previous reading to estimate from: override it with a reading instead',
        'meterRead.noPrevious',
      )
    const meter = await trx
      .selectFrom('meters')
      .leftJoin('points', 'points.id', 'meters.pointId')
      .select(['meters.pointId', 'meters.registerCapacity', 'points.scale'])
      .where('meters.id', '=', read.meterId)
      .executeTakeFirstOrThrow()
    const cutoff = new Date(read.cutoffAt).getTime()
    const samples =
      meter.pointId === null
        ? []
        : await counterSamples(trx, meter.pointId, cutoff - ESTIMATE_HISTORY_MS, cutoff)
    const capacity = meter.registerCapacity ?? undefined
    const average = dailyAverage(samples, capacity)
    if (average === undefined)
      throw conflict(
        'params.id',
        'the meter has too few readings in the last 60 days to estimate from; override it instead',
        'meterRead.tooFewSamples',
      )
    const last = samples[samples.length - 1]!
    const days = Decimal.of(cutoff - last.at)
      .div(DAY_MS, 6, 'half-up')
      .toString()
    const decimals = Math.min(3, (meter.scale ?? '0.001').split('.')[1]?.replace(/0+$/, '').length ?? 0)
    const current = estimateFromDailyAverage({
      previous: last.value,
      dailyAverage: average,
      days,
      decimals,
      ...(capacity === undefined ? {} : { registerCapacity: capacity }),
    })
    const { consumption, rollover } = await consumptionFor(trx, read, read.previousReading, current)
    return {
      currentReading: current,
      currentAt: new Date(cutoff),
      method: 'estimated',
      consumption,
      rollover,
      status: 'estimated',
      approvedBy: null,
      approvedAt: null,
    }
  })
}

/**
 * Approves every clean (auto) record of an estate's period, or of one building: one statement
 * updates them and logs each approval, however many there are (no parameter per record).
 */
export async function approveClean(
  db: Kysely<Database>,
  actor: Actor,
  options: { estateId: string; period: string; buildingId?: string },
): Promise<number> {
  const now = new Date().toISOString()
  const inBuilding =
    options.buildingId === undefined
      ? sql``
      : sql`and exists (select 1 from meters m where m.id = r.meter_id and m.building_id = ${options.buildingId}::uuid)`
  // The update re-checks its condition on a row another transaction changed meanwhile (read
  // committed), so a record a clerk flagged or approved a moment ago is not approved twice.
  const result = await sql<{ approved: number }>`
    with approved as (
      update meter_reads r set status = 'approved', approved_by = ${actor.userId}::uuid,
        approved_at = ${now}::timestamptz, updated_at = ${now}::timestamptz, version = r.version + 1
      where r.estate_id = ${options.estateId}::uuid and r.period = ${options.period} and r.status = 'auto'
        and r.consumption is not null ${inBuilding}
      returning r.id, r.estate_id
    ), logged as (
      insert into meter_read_changes (estate_id, meter_read_id, action, reason, changed_by, old, new)
      select estate_id, id, 'approved', 'bulk approval of clean reads', ${actor.userId}::uuid,
        '{"status": "auto"}'::jsonb, '{"status": "approved"}'::jsonb
      from approved
      returning 1
    )
    select count(*)::int as approved from logged`.execute(db)
  return result.rows[0]?.approved ?? 0
}
