import type { Selectable } from 'kysely'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database, MeterKind } from '../store/database-schema.ts'
import type { MeterReadTable } from './metering-tables.ts'
import type { Replacement } from './period-consumption.ts'
import type { CounterSample } from './read-at-cutoff.ts'

/** `= any($1::uuid[])`: a set of ids as one parameter, never one parameter per id. */
export function anyId(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`any(${ids}::uuid[])`
}

/** One meter as the meter-read run needs it. */
export interface MeterForRead {
  readonly id: string
  readonly code: string
  readonly kind: MeterKind
  readonly unitId: string | null
  readonly buildingId: string | null
  readonly pointId: string | null
  readonly parentMeterId: string | null
  readonly multiplier: string
  readonly registerCapacity: string | null
  readonly installReading: string
  readonly installedOn: string | null
  /** Digits after the point of the bound point's scale (0.01 → 2), at most 3. */
  readonly decimals: number
  /** The unit is occupied or rented, and nobody moved in or out during the period. */
  readonly unitOccupied: boolean
  readonly pollIntervalMs: number
}

export interface MeteringSettings {
  readonly cutoffDay: number | null
  readonly windowMs: number
  readonly estimateMissing: boolean
  readonly spikeFactor: Record<MeterKind, string>
  readonly offlineAfterIntervals: number
  readonly timeZone: string
}

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai'
const DEFAULT_COUNTER_INTERVAL_MS = 900_000

function scaleDecimals(scale: string | null): number {
  if (scale === null) return 3
  const dot = scale.indexOf('.')
  const places = dot < 0 ? 0 : scale.replace(/0+$/, '').length - dot - 1
  return Math.min(3, Math.max(0, places))
}

export async function loadSettings(db: Kysely<Database>, estateId: string): Promise<MeteringSettings> {
  const estate = await db
    .selectFrom('orgNodes')
    .select('timezone')
    .where('id', '=', estateId)
    .executeTakeFirstOrThrow()
  const row = await db
    .selectFrom('meteringSettings')
    .selectAll()
    .where('estateId', '=', estateId)
    .executeTakeFirst()
  return {
    cutoffDay: row?.cutoffDay ?? null,
    windowMs: (row?.windowHours ?? 24) * 3_600_000,
    estimateMissing: row?.estimateMissing ?? false,
    spikeFactor: {
      water: row?.spikeFactorWater ?? '3',
      electricity: row?.spikeFactorElectricity ?? '3',
      gas: row?.spikeFactorGas ?? '3',
      heat: row?.spikeFactorHeat ?? '3',
    },
    offlineAfterIntervals: row?.offlineAfterIntervals ?? 3,
    timeZone: estate.timezone ?? DEFAULT_TIME_ZONE,
  }
}

/** Every active meter of the estate (or the given ones), with what the run needs to know. */
export async function loadMeters(
  db: Kysely<Database>,
  estateId: string,
  meterIds?: readonly string[],
  period?: { startDate: string; endDate: string },
): Promise<MeterForRead[]> {
  let query = db
    .selectFrom('meters')
    .leftJoin('points', 'points.id', 'meters.pointId')
    .leftJoin('devices', 'devices.id', 'points.deviceId')
    .leftJoin('units', 'units.id', 'meters.unitId')
    .select([
      'meters.id',
      'meters.code',
      'meters.kind',
      'meters.unitId',
      'meters.buildingId',
      'meters.pointId',
      'meters.parentMeterId',
      'meters.multiplier',
      'meters.registerCapacity',
      'meters.installReading',
      'meters.installedOn',
      'points.scale',
      'units.status as unitStatus',
      'devices.pollIntervalMs',
      // An occupancy that began or ended inside the period: the unit was not occupied all of it.
      (eb) =>
        eb
          .exists(
            eb
              .selectFrom('occupancies')
              .select('occupancies.id')
              .whereRef('occupancies.unitId', '=', 'meters.unitId')
              .where((w) =>
                w.or([
                  w.and([
                    w('occupancies.startDate', '>', period?.startDate ?? '9999-12-31'),
                    w('occupancies.startDate', '<=', period?.endDate ?? '0001-01-01'),
                  ]),
                  w.and([
                    w('occupancies.endDate', '>=', period?.startDate ?? '9999-12-31'),
                    w('occupancies.endDate', '<', period?.endDate ?? '0001-01-01'),
                  ]),
                ]),
              ),
          )
          .as('moved'),
    ])
    .where('meters.estateId', '=', estateId)
    .where('meters.status', '=', 'active')
    .orderBy('meters.code')
  // One array parameter, however many meters (a Bind message holds at most 65,535 parameters).
  if (meterIds !== undefined) query = query.where('meters.id', '=', anyId(meterIds))
  const rows = await query.execute()
  return rows.map((r) => ({
    id: r.id,
    code: r.code,
    kind: r.kind,
    unitId: r.unitId,
    buildingId: r.buildingId,
    pointId: r.pointId,
    parentMeterId: r.parentMeterId,
    multiplier: r.multiplier,
    registerCapacity: r.registerCapacity,
    installReading: r.installReading,
    installedOn: r.installedOn,
    decimals: scaleDecimals(r.scale),
    unitOccupied: (r.unitStatus === 'occupied' || r.unitStatus === 'rented') && !r.moved,
    pollIntervalMs: r.pollIntervalMs ?? DEFAULT_COUNTER_INTERVAL_MS,
  }))
}

export interface Around {
  readonly before?: CounterSample
  readonly after?: CounterSample
}

/**
 * For each point, the last good reading at or before `at` and the first after it, both within
 * `windowMs`: one statement for all points (a lateral join per point, on the primary key).
 */
export async function samplesAround(
  db: Kysely<Database>,
  pointIds: readonly string[],
  at: number,
  windowMs: number,
): Promise<Map<string, Around>> {
  const result = new Map<string, Around>()
  if (pointIds.length === 0) return result
  const atIso = new Date(at).toISOString()
  const fromIso = new Date(at - windowMs).toISOString()
  const toIso = new Date(at + windowMs).toISOString()
  const rows = await sql<{
    pointId: string
    beforeTs: Date | null
    beforeValue: string | null
    afterTs: Date | null
    afterValue: string | null
  }>`
    select p.id as point_id, b.ts as before_ts, b.value as before_value, a.ts as after_ts, a.value as after_value
    from unnest(${pointIds}::uuid[]) as p(id)
    left join lateral (
      select ts, value from readings r
      where r.point_id = p.id and r.counter and r.quality = 'good' and r.value is not null
        and r.ts <= ${atIso}::timestamptz and r.ts >= ${fromIso}::timestamptz
      order by r.ts desc limit 1) b on true
    left join lateral (
      select ts, value from readings r
      where r.point_id = p.id and r.counter and r.quality = 'good' and r.value is not null
        and r.ts > ${atIso}::timestamptz and r.ts <= ${toIso}::timestamptz
      order by r.ts asc limit 1) a on true`.execute(db)
  for (const row of rows.rows) {
    result.set(row.pointId, {
      ...(row.beforeTs && row.beforeValue !== null
        ? { before: { at: new Date(row.beforeTs).getTime(), value: row.beforeValue } }
        : {}),
      ...(row.afterTs && row.afterValue !== null
        ? { after: { at: new Date(row.afterTs).getTime(), value: row.afterValue } }
        : {}),
    })
  }
  return result
}

/**
 * The points with no good reading within their own span either side of `at`: silent at the
 * cut-off. Judged from the readings, never from the clock, so a re-run with the same readings
 * gives the same answer however late it runs. One statement for all points (an index probe each).
 */
export async function silentPoints(
  db: Kysely<Database>,
  points: readonly { readonly pointId: string; readonly spanMs: number }[],
  at: number,
): Promise<Set<string>> {
  const spans = new Map(points.map((p) => [p.pointId, p.spanMs]))
  if (spans.size === 0) return new Set()
  const ids = [...spans.keys()]
  const froms = ids.map((id) => new Date(at - spans.get(id)!).toISOString())
  const tos = ids.map((id) => new Date(at + spans.get(id)!).toISOString())
  const rows = await sql<{ pointId: string }>`
    select p.id as point_id
    from unnest(${ids}::uuid[], ${froms}::timestamptz[], ${tos}::timestamptz[]) as p(id, from_ts, to_ts)
    where not exists (
      select 1 from readings r
      where r.point_id = p.id and r.counter and r.quality = 'good' and r.value is not null
        and r.ts >= p.from_ts and r.ts <= p.to_ts)`.execute(db)
  return new Set(rows.rows.map((r) => r.pointId))
}

/** Good readings of one counter point between two instants, oldest first (for estimates). */
export async function counterSamples(
  db: Kysely<Database>,
  pointId: string,
  from: number,
  to: number,
  limit = 20_000,
): Promise<CounterSample[]> {
  const rows = await db
    .selectFrom('readings')
    .select(['ts', 'value'])
    .where('pointId', '=', pointId)
    .where('counter', '=', true)
    .where('quality', '=', 'good')
    .where('value', 'is not', null)
    .where('ts', '>=', new Date(from))
    .where('ts', '<=', new Date(to))
    .orderBy('ts')
    .limit(limit)
    .execute()
  return rows.map((r) => ({ at: new Date(r.ts).getTime(), value: r.value as string }))
}

export async function replacementsBetween(
  db: Kysely<Database>,
  meterIds: readonly string[],
  from: number,
  to: number,
): Promise<Map<string, Replacement[]>> {
  const result = new Map<string, Replacement[]>()
  if (meterIds.length === 0) return result
  const rows = await db
    .selectFrom('meterReplacements')
    .selectAll()
    .where('meterId', '=', anyId(meterIds))
    .where('replacedAt', '>', new Date(from))
    .where('replacedAt', '<=', new Date(to))
    .orderBy('replacedAt')
    .execute()
  for (const r of rows) {
    const list = result.get(r.meterId) ?? []
    list.push({
      at: new Date(r.replacedAt).getTime(),
      oldFinal: r.oldFinalReading,
      newStart: r.newStartReading,
      oldMultiplier: r.oldMultiplier,
      newMultiplier: r.newMultiplier,
      ...(r.oldRegisterCapacity === null ? {} : { oldCapacity: r.oldRegisterCapacity }),
      ...(r.newRegisterCapacity === null ? {} : { newCapacity: r.newRegisterCapacity }),
    })
    result.set(r.meterId, list)
  }
  return result
}

export type StoredRead = Selectable<MeterReadTable>

export async function readsOfPeriod(
  db: Kysely<Database>,
  meterIds: readonly string[],
  period: string,
): Promise<Map<string, StoredRead>> {
  const result = new Map<string, StoredRead>()
  if (meterIds.length === 0) return result
  const rows = await db
    .selectFrom('meterReads')
    .selectAll()
    .where('meterId', '=', anyId(meterIds))
    .where('period', '=', period)
    .execute()
  for (const row of rows) result.set(row.meterId, row)
  return result
}

/** What a period's record hands on to the next one. */
export type PreviousRecord = Pick<StoredRead, 'currentReading' | 'currentAt' | 'method'>

/** The records of a period with only what the next period's run needs from them. */
export async function previousRecords(
  db: Kysely<Database>,
  meterIds: readonly string[],
  period: string,
): Promise<Map<string, PreviousRecord>> {
  const result = new Map<string, PreviousRecord>()
  if (meterIds.length === 0) return result
  const rows = await db
    .selectFrom('meterReads')
    .select(['meterId', 'currentReading', 'currentAt', 'method'])
    .where('meterId', '=', anyId(meterIds))
    .where('period', '=', period)
    .execute()
  for (const { meterId, ...row } of rows) result.set(meterId, row)
  return result
}

/** Average consumption per period over the last `count` approved reads before `period`. */
export async function trailingAverages(
  db: Kysely<Database>,
  meterIds: readonly string[],
  period: string,
  count = 3,
): Promise<Map<string, string>> {
  const result = new Map<string, string>()
  if (meterIds.length === 0) return result
  const rows = await sql<{ meterId: string; average: string }>`
    select meter_id, round(avg(consumption), 3)::text as average from (
      select meter_id, consumption, row_number() over (partition by meter_id order by period desc) as n
      from meter_reads
      where meter_id = any(${meterIds}::uuid[]) and period < ${period} and status = 'approved'
        and consumption is not null
    ) recent where n <= ${count} group by meter_id`.execute(db)
  for (const row of rows.rows) result.set(row.meterId, row.average)
  return result
}

/** The active meters of a run in code order, with their master: what the run chunks by. */
export async function meterOrder(
  db: Kysely<Database>,
  estateId: string,
  meterIds?: readonly string[],
): Promise<{ id: string; code: string; parentMeterId: string | null }[]> {
  let query = db
    .selectFrom('meters')
    .select(['id', 'code', 'parentMeterId'])
    .where('estateId', '=', estateId)
    .where('status', '=', 'active')
    .orderBy('code')
  if (meterIds !== undefined) query = query.where('id', '=', anyId(meterIds))
  return query.execute()
}

/**
 * The active sub-meters of the given masters (in the run or not), with their record of the
 * period as stored before the run writes: a master's check weighs them. The record is one
 * probe of its (meter_id, period) key per sub-meter (a lateral join), whatever the statistics
 * say: right after another estate's run has added 100,000 records of the period, a plain join
 * was planned on an estimate of one such record and ran for minutes.
 */
export async function subMetersOf(
  db: Kysely<Database>,
  estateId: string,
  period: string,
  masterIds: readonly string[],
): Promise<
  { id: string; parentMeterId: string | null; consumption: string | null; status: string | null }[]
> {
  if (masterIds.length === 0) return []
  const rows = await sql<{
    id: string
    parentMeterId: string | null
    consumption: string | null
    status: string | null
  }>`
    select m.id, m.parent_meter_id, r.consumption, r.status
    from meters m
    left join lateral (
      select consumption, status from meter_reads r where r.meter_id = m.id and r.period = ${period}
      -- limit 1 (the key is unique) keeps the planner from flattening this into a plain join
      limit 1
    ) r on true
    where m.estate_id = ${estateId} and m.status = 'active' and m.parent_meter_id = any(${masterIds}::uuid[])`.execute(
    db,
  )
  return rows.rows
}
