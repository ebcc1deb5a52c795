import { type Kysely, sql } from 'kysely'
import type { IngestLog } from '../ingest/ingest-service.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { JobContext } from '../kernel/hub-module.ts'
import { doneKeys, forgetDoneOlderThan, type LeasedJob, leasedJob, markDone } from '../kernel/job-lease.ts'
import { localDate, localMidnight } from '../metering/cutoff.ts'
import { loadSettings } from '../metering/meter-read-inputs.ts'
import type { Database } from '../store/database-schema.ts'
import { inScope } from './alarm-engine.ts'
import { type AlarmRule, clearAlarm, raiseAlarm } from './alarm-raise.ts'

const HOUR_MS = 3_600_000

async function enabledRules(db: Kysely<Database>, kind: 'offline' | 'night_flow') {
  const rules = await db
    .selectFrom('alarmRules')
    .selectAll()
    .where('kind', '=', kind)
    .where('enabled', '=', true)
    .execute()
  const byEstate = new Map<string, AlarmRule[]>()
  for (const rule of rules) byEstate.set(rule.estateId, [...(byEstate.get(rule.estateId) ?? []), rule])
  return byEstate
}

export interface WatchResult {
  readonly raised: number
  readonly cleared: number
}

/**
 * Offline rules: a device silent (no good reading, no event) for longer than the rule's minutes,
 * or a gateway whose last will said offline or whose last batch is that old, raises one alarm;
 * hearing from it again clears it. A device or gateway never heard from is not judged (it may
 * not be installed yet).
 */
export async function checkOffline(db: Kysely<Database>, now: Date): Promise<WatchResult> {
  let raised = 0
  let cleared = 0
  for (const [estateId, rules] of await enabledRules(db, 'offline')) {
    if (rules.some((r) => r.offlineTarget === 'device')) {
      const devices = await sql<{
        id: string
        code: string
        deviceClass: string | null
        lastSeenAt: Date | null
      }>`
        select d.id, d.code, d.device_class as "deviceClass",
          greatest(
            (select max(l.last_good_at) from points p join latest_values l on l.point_id = p.id where p.device_id = d.id),
            (select max(e.ts) from device_events e where e.device_id = d.id)
          ) as "lastSeenAt"
        from devices d where d.estate_id = ${estateId} and d.enabled`.execute(db)
      const classes = new Map(devices.rows.map((d) => [d.id, d.deviceClass]))
      for (const rule of rules.filter((r) => r.offlineTarget === 'device'))
        for (const device of devices.rows) {
          if (device.lastSeenAt === null || !inScope(rule, device.id, null, classes)) continue
          const silentMs = now.getTime() - new Date(device.lastSeenAt).getTime()
          const at = { source: device.code, deviceId: device.id, pointId: null }
          if (silentMs > (rule.offlineMinutes ?? 0) * 60_000) {
            if (
              await raiseAlarm(db, rule, at, now.getTime(), {
                lastSeenAt: new Date(device.lastSeenAt).toISOString(),
                offlineMinutes: rule.offlineMinutes,
              })
            )
              raised++
          } else if (await clearAlarm(db, rule, at.source, now.getTime())) cleared++
        }
    }
    const gatewayRules = rules.filter((r) => r.offlineTarget === 'gateway')
    if (gatewayRules.length === 0) continue
    const gateways = await db
      .selectFrom('gateways')
      .innerJoin('gatewayLinks', 'gatewayLinks.gatewayId', 'gateways.id')
      .select(['gateways.code', 'gatewayLinks.status', 'gatewayLinks.statusAt', 'gatewayLinks.lastBatchAt'])
      .where('gateways.estateId', '=', estateId)
      .where('gateways.enabled', '=', true)
      .execute()
    for (const rule of gatewayRules)
      for (const gateway of gateways) {
        const limit = now.getTime() - (rule.offlineMinutes ?? 0) * 60_000
        const lastBatch = gateway.lastBatchAt ? new Date(gateway.lastBatchAt).getTime() : null
        const wentOffline =
          gateway.status === 'offline' && gateway.statusAt ? new Date(gateway.statusAt).getTime() : null
        if (lastBatch === null && wentOffline === null) continue
        const offline =
          (wentOffline !== null && wentOffline < limit) || (lastBatch !== null && lastBatch < limit)
        const source = `gateway:${gateway.code}`
        if (offline) {
          const details = {
            status: gateway.status,
            statusAt: gateway.statusAt ? new Date(gateway.statusAt).toISOString() : null,
            lastBatchAt: lastBatch === null ? null : new Date(lastBatch).toISOString(),
            offlineMinutes: rule.offlineMinutes,
          }
          if (await raiseAlarm(db, rule, { source, deviceId: null, pointId: null }, now.getTime(), details))
            raised++
        } else if (await clearAlarm(db, rule, source, now.getTime())) cleared++
      }
  }
  return { raised, cleared }
}

/** The latest night (in the estate's time zone) that has ended by `now`: its first and last instant. */
export function lastNight(now: number, timeZone: string, startHour: number, endHour: number) {
  const [y, m, d] = localDate(now, timeZone).split('-').map(Number) as [number, number, number]
  let end = localMidnight(y, m, d, timeZone) + endHour * HOUR_MS
  if (end > now) end -= 24 * HOUR_MS
  const hours = (endHour - startHour + 24) % 24 || 24
  return { start: end - hours * HOUR_MS, end, hours }
}

/**
 * Night-flow rules: the counter of a water meter of a vacant unit that moved by at least the rule's
 * minimum in every hour of the night (a likely leak: nobody lives there to use water) raises
 * one alarm; a night with a still hour clears it. Each rule judges each night once; an hour
 * without readings at both ends leaves the meter unjudged that night.
 */
export class NightFlowWatch {
  constructor(
    private readonly db: Kysely<Database>,
    /** Who judged, in `job_done` (the hub's id). */
    private readonly hubId = 'unnamed hub',
  ) {}

  async check(now: Date): Promise<WatchResult> {
    let raised = 0
    let cleared = 0
    for (const [estateId, rules] of await enabledRules(this.db, 'night_flow')) {
      const { timeZone } = await loadSettings(this.db, estateId)
      const meters = await this.db
        .selectFrom('meters')
        .innerJoin('units', 'units.id', 'meters.unitId')
        .innerJoin('points', 'points.id', 'meters.pointId')
        .innerJoin('devices', 'devices.id', 'points.deviceId')
        .select([
          'points.id as pointId',
          'points.code as pointCode',
          'devices.id as deviceId',
          'devices.code as deviceCode',
          'devices.deviceClass',
          'meters.code as meterCode',
          'units.code as unitCode',
        ])
        .where('meters.estateId', '=', estateId)
        .where('meters.status', '=', 'active')
        .where('units.status', '=', 'vacant')
        .where('meters.kind', '=', 'water')
        .where('points.kind', '=', 'counter')
        .execute()
      const classes = new Map(meters.map((m) => [m.deviceId, m.deviceClass]))
      // A night judged is recorded in the database, so neither a restart nor another hub
      // judges it again (a clerk may have closed the alarm it raised meanwhile).
      const nights = new Map(
        rules.map((rule) => {
          const night = lastNight(now.getTime(), timeZone, rule.nightStart ?? 0, rule.nightEnd ?? 0)
          return [rule.id, { night, key: `${rule.id}@${new Date(night.end).toISOString()}` }]
        }),
      )
      const judged = await doneKeys(
        this.db,
        NIGHT_FLOW_JOB,
        [...nights.values()].map((n) => n.key),
      )
      for (const rule of rules) {
        const { night, key } = nights.get(rule.id)!
        if (judged.has(key)) continue
        const watched = meters.filter((m) => inScope(rule, m.deviceId, m.pointId, classes))
        if (watched.length === 0) {
          await markDone(this.db, NIGHT_FLOW_JOB, key, this.hubId)
          continue
        }
        const readings = await this.db
          .selectFrom('readings')
          .select(['pointId', 'ts', 'value'])
          // One array parameter: an estate's vacant units are not bounded (sql-arrays.ts).
          .where('pointId', '=', sql<string>`any(${watched.map((m) => m.pointId)}::uuid[])`)
          .where('counter', '=', true)
          .where('quality', '<>', 'bad')
          .where('ts', '>', new Date(night.start - HOUR_MS))
          .where('ts', '<=', new Date(night.end))
          .orderBy('ts')
          .execute()
        const minFlow = Decimal.of(rule.minFlow ?? '0')
        for (const meter of watched) {
          const series = readings
            .filter((r) => r.pointId === meter.pointId && r.value !== null)
            .map((r) => ({ t: new Date(r.ts).getTime(), value: Decimal.of(r.value!) }))
          const hourly = hourlyFlow(series, night.start, night.hours)
          if (hourly === undefined) continue
          const source = {
            source: `${meter.deviceCode}/${meter.pointCode}`,
            deviceId: meter.deviceId,
            pointId: meter.pointId,
          }
          if (hourly.every((flow) => flow.gte(minFlow))) {
            const details = {
              meter: meter.meterCode,
              unit: meter.unitCode,
              night: { from: new Date(night.start).toISOString(), to: new Date(night.end).toISOString() },
              hourly: hourly.map((f) => f.toString()),
            }
            if (await raiseAlarm(this.db, rule, source, night.end, details)) raised++
          } else if (await clearAlarm(this.db, rule, source.source, night.end)) cleared++
        }
        // After the judging: a hub dying halfway leaves the night to be judged again.
        await markDone(this.db, NIGHT_FLOW_JOB, key, this.hubId)
      }
    }
    // Nights long past are never judged again: their keys can go.
    await forgetDoneOlderThan(this.db, NIGHT_FLOW_JOB, 30 * 86_400_000)
    return { raised, cleared }
  }
}

/**
 * Consumption in each hour from `start`: the register at each hour boundary is its newest
 * reading at or before it (within the hour before). Undefined when a boundary has none or the
 * register went back (a wrap or replacement: not for this rule to judge).
 */
export function hourlyFlow(
  series: readonly { t: number; value: Decimal }[],
  start: number,
  hours: number,
): Decimal[] | undefined {
  const at = (boundary: number) => {
    let found: Decimal | undefined
    for (const s of series) if (s.t <= boundary && s.t > boundary - HOUR_MS) found = s.value
    return found
  }
  const flows: Decimal[] = []
  let before = at(start)
  for (let h = 1; h <= hours; h++) {
    const after = at(start + h * HOUR_MS)
    if (before === undefined || after === undefined || after.lt(before)) return undefined
    flows.push(after.minus(before))
    before = after
  }
  return flows
}

/** The lease and cadence name of the offline and night-flow checks; night-flow's `job_done` job. */
export const ALARM_WATCH_JOB = 'alarm watch'
const NIGHT_FLOW_JOB = 'night flow'

/** The offline and night-flow checks, every minute (the SLA watch's cadence). */
export class AlarmWatch {
  readonly #nightFlow: NightFlowWatch

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: IngestLog,
    hubId?: string,
  ) {
    this.#nightFlow = new NightFlowWatch(db, hubId)
  }

  async tick(now = new Date()): Promise<void> {
    const offline = await checkOffline(this.db, now)
    const night = await this.#nightFlow.check(now)
    if (offline.raised + offline.cleared + night.raised + night.cleared > 0)
      this.log.info({ offline, night }, 'alarm watch')
  }
}

/**
 * The alarm watch as a hub job, on the hub holding its lease: offline checks raise and clear
 * from what the database says, so one hub at a time is enough and N hubs would only race to
 * the same alarms.
 */
export function alarmWatchJob(context: JobContext, intervalMs = 60_000): LeasedJob {
  const watch = new AlarmWatch(context.db, context.log, context.hubId)
  return leasedJob(context, { name: ALARM_WATCH_JOB, everyMs: intervalMs, run: () => watch.tick() })
}
