import { type Kysely, sql } from 'kysely'
import type { WireEvent } from '../../gateway/contract/index.ts'
import type { InCommitHook, MarkMove, StoredReading } from '../ingest/batch-writer.ts'
import type { CommittedBatch, IngestLog } from '../ingest/ingest-service.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import { type AlarmRaise, type AlarmRule, clearAlarm, raiseAlarm, raiseAlarms } from './alarm-raise.ts'
import type { ParkedEvent, ParkedReading } from './alarms-tables.ts'

type Rule = AlarmRule

interface EstateRules {
  readonly rules: Rule[]
  readonly loadedAt: number
  readonly classes: Map<string, string | null>
  /** Device id by `<gateway id>/<device code>`: the device an event's source names. */
  /** Register capacity of the meter on a counter point (a wrap is not reverse flow). */
  readonly capacities: Map<string, Decimal>
}

/** One batch as the engine judges it: only what some rule watches, fresh or from the parked table. */
interface Judged {
  readonly seq: number
  readonly historical: boolean
  readonly readings: readonly ParkedReading[]
  readonly events: readonly ParkedEvent[]
}

interface Previous {
  readonly t: number
  readonly value: Decimal
}

/** What one rule decided about one signal. */
type Verdict = { readonly raise: Record<string, unknown> } | { readonly clear: true } | undefined

/** Rules evaluated on readings as they arrive; offline and night flow are the watch's (alarm-watch.ts). */
const readingKinds = new Set(['state', 'threshold', 'rate', 'reverse_flow'])

/** '1'/'0' for booleans and their spellings, the text otherwise: how a state is compared. */
function stateText(value: unknown): string {
  if (value === true || value === 'true') return '1'
  if (value === false || value === 'false') return '0'
  return String(value)
}

function numeric(reading: Pick<ParkedReading, 'v'>): Decimal | undefined {
  try {
    return Decimal.of(typeof reading.v === 'boolean' ? (reading.v ? 1 : 0) : reading.v)
  } catch {
    return undefined
  }
}

const holdKey = (ruleId: string, pointId: string) => `${ruleId}/${pointId}`
const alarmKey = (ruleId: string, source: string) => `${ruleId}\u0000${source}`

/**
 * Database errors that would recur on every resend of the batch (bad data, a constraint), so a
 * batch that meets one is committed without its alarm judgement rather than refused forever.
 * A unique violation is a race with another writer of the same alarm: the resend judges again.
 */
function recurs(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && /^2[23]/.test(code) && code !== '23505'
}

/**
 * Turns committed readings and events into alarms, and alarms into work orders, by the
 * estate's rules (data in alarm_rules). One open alarm per rule and source however often the
 * signal flaps; a threshold must hold for its hold time and clears only below the hysteresis
 * band; an event rule may ask for N events at one source within a window; rate of change and
 * reverse flow compare a reading with the point's previous one. Replayed (historical) batches
 * update and clear alarms but raise none.
 *
 * It judges inside each batch's transaction (the ingest's `inCommit` hook), with its state in
 * the database (hold starts in alarm_holds, previous values in alarm_last_values), so alarms
 * commit or fail with the batch, and the answer is the same whichever hub took which batch and
 * across restarts. Batches are judged in their gateway's seq order: one committed ahead of a
 * gap (its predecessor is on another hub, or not yet resent) is parked, and judged by the
 * transaction that closes the gap, before that transaction's own batch. Only the rules are
 * cached in the process (5 s).
 */
export class AlarmEngine {
  readonly #db: Kysely<Database>
  readonly #log: IngestLog
  readonly #rules = new Map<string, EstateRules>()

  constructor(db: Kysely<Database>, log: IngestLog) {
    this.#db = db
    this.#log = log
  }

  /**
   * The ingest's in-transaction hook (batch-writer.ts). Runs with the gateway's link row
   * locked, so two calls for one gateway never overlap, on any hub.
   */
  readonly inCommit: InCommitHook = async (trx, move) => {
    const { gateway } = move
    const estate = await this.#rulesOf(trx, gateway.estateId)
    const fresh = move.batch
      ? relevant(estate, move.seq, move.batch.historical, move.stored, move.storedEvents, (code) =>
          gateway.devices.get(code),
        )
      : undefined
    // Ahead of a gap: the seqs before it are judged first, by whichever transaction closes it.
    const ahead = move.batch !== undefined && move.seq > move.markAfter
    if (ahead && fresh && !isEmpty(fresh)) await park(trx, gateway.id, fresh)
    const due = gapMayHaveClosed(move) ? await unpark(trx, gateway.id, move.markAfter) : []
    if (!ahead && fresh) due.push(fresh)
    due.sort((a, b) => a.seq - b.seq)
    for (const judged of due) await this.#judge(trx, estate, gateway, judged)
  }

  /**
   * Judges one committed batch now, in a transaction of its own and outside seq order: for
   * tests and tools that hand the engine a batch directly (the ingest uses `inCommit`).
   */
  async handle({ gateway, batch, stored }: CommittedBatch): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const estate = await this.#rulesOf(trx, gateway.estateId)
      const judged = relevant(estate, batch.seq, batch.historical, stored, batch.events, (code) =>
        gateway.devices.get(code),
      )
      await this.#judge(trx, estate, gateway, judged)
    })
  }

  /** Judgement commits with each batch: nothing is pending after a commit (kept for callers that wait). */
  idle(): Promise<void> {
    return Promise.resolve()
  }

  forget(estateId?: string) {
    if (estateId === undefined) this.#rules.clear()
    else this.#rules.delete(estateId)
  }

  /**
   * Judges one batch: loads the state its signals need, walks its events and readings in order
   * raising and clearing alarms, writes the state back. Under a savepoint, so a database error
   * that would recur (recurs()) costs this batch its alarms, not its rows; any other error rolls
   * the batch back and it comes again.
   */
  async #judge(
    trx: Kysely<Database>,
    estate: EstateRules,
    gateway: Pick<MarkMove['gateway'], 'id' | 'code' | 'estateId'>,
    judged: Judged,
  ) {
    if (isEmpty(judged)) return
    await sql`savepoint alarm_judgement`.execute(trx)
    try {
      await this.#judgeUnguarded(trx, estate, gateway, judged)
      await sql`release savepoint alarm_judgement`.execute(trx)
    } catch (error) {
      if (!recurs(error)) throw error
      await sql`rollback to savepoint alarm_judgement`.execute(trx)
      await sql`release savepoint alarm_judgement`.execute(trx)
      this.#log.error(
        { gateway: gateway.code, seq: judged.seq, err: (error as Error).message },
        'alarms: batch committed without its alarm judgement (a database error that would recur)',
      )
    }
  }

  async #judgeUnguarded(
    trx: Kysely<Database>,
    estate: EstateRules,
    gateway: Pick<MarkMove['gateway'], 'id' | 'estateId'>,
    judged: Judged,
  ) {
    const { rules, classes } = estate
    const watchers = watchersOf(estate, judged.readings)
    const state = await loadState(trx, judged.readings, watchers)
    // Register capacities of this batch's reverse-flow points only (an estate may hold a
    // million meters; loading them all with the rules' cache cost every hub every 5 s).
    const flowPoints = [...watchers]
      .filter(([, rs]) => rs.some((r) => r.kind === 'reverse_flow'))
      .map(([id]) => id)
    const judging: EstateRules =
      flowPoints.length === 0 ? estate : { ...estate, capacities: await capacitiesOf(trx, flowPoints) }

    // Events only raise, and no reading rule looks at event alarms: their raises go together.
    const eventRaises: AlarmRaise[] = []
    for (const event of judged.events) {
      for (const rule of rules) {
        if (
          rule.kind !== 'event' ||
          rule.eventType !== event.type ||
          !inScope(rule, event.deviceId, null, classes)
        )
          continue
        const details: Record<string, unknown> = { event: eventDetails(event) }
        if (rule.eventCount > 1) {
          const count = await eventsInWindow(trx, rule, gateway, judged.seq, event)
          if (count < rule.eventCount) continue
          details.count = count
          details.windowSeconds = rule.windowSeconds
        }
        eventRaises.push({
          rule,
          at: { source: event.s, deviceId: event.deviceId, pointId: null },
          t: event.t,
          details,
        })
      }
    }
    for (const raised of await raiseAlarms(trx, eventRaises))
      this.#log.info({ rule: raised.rule.name, source: raised.at.source }, 'alarm raised')

    for (const reading of judged.readings) {
      const watching = watchers.get(reading.pointId) ?? []
      const value = numeric(reading)
      const needsPrevious = watching.some((r) => r.kind === 'rate' || r.kind === 'reverse_flow')
      const previous = needsPrevious && value ? state.last.get(reading.pointId) : undefined
      const at = { source: reading.name, deviceId: reading.deviceId, pointId: reading.pointId }
      for (const rule of watching) {
        let verdict: Verdict
        try {
          verdict = judgeReading(rule, reading, value, previous, state.holds, judging)
        } catch (error) {
          // A rule that cannot be judged (its numbers) must not stop the others or the batch.
          this.#log.error({ rule: rule.name, err: (error as Error).message }, 'alarms: rule not judged')
          continue
        }
        if (verdict === undefined) continue
        if ('raise' in verdict) {
          if (!judged.historical) await this.#raise(trx, state.open, rule, at, reading.t, verdict.raise)
        } else if (state.open.has(alarmKey(rule.id, at.source))) {
          await clearAlarm(trx, rule, at.source, reading.t)
          state.open.delete(alarmKey(rule.id, at.source))
        }
      }
      if (needsPrevious && value && (previous === undefined || reading.t > previous.t)) {
        state.last.set(reading.pointId, { t: reading.t, value })
        state.lastChanged.add(reading.pointId)
      }
    }
    await saveState(trx, state)
  }

  async #raise(
    trx: Kysely<Database>,
    open: Set<string>,
    rule: Rule,
    at: { source: string; deviceId: string | null; pointId: string | null },
    t: number,
    details: Record<string, unknown>,
  ) {
    if (await raiseAlarm(trx, rule, at, t, details))
      this.#log.info({ rule: rule.name, source: at.source }, 'alarm raised')
    open.add(alarmKey(rule.id, at.source))
  }

  /** The estate's enabled rules and what judging them needs, cached 5 s per hub. */
  async #rulesOf(trx: Kysely<Database>, estateId: string): Promise<EstateRules> {
    const cached = this.#rules.get(estateId)
    if (cached && Date.now() - cached.loadedAt < 5_000) return cached
    const rules = await trx
      .selectFrom('alarmRules')
      .selectAll()
      .where('estateId', '=', estateId)
      .where('enabled', '=', true)
      .execute()
    // Only the devices of the classes rules name (an estate may hold a million meters, and
    // this runs every 5 s on every hub); events find their device through the gateway's entry.
    const ruleClasses = [...new Set(rules.flatMap((r) => (r.deviceClass === null ? [] : [r.deviceClass])))]
    const devices =
      ruleClasses.length === 0
        ? []
        : await trx
            .selectFrom('devices')
            .select(['id', 'deviceClass'])
            .where('estateId', '=', estateId)
            .where('deviceClass', 'in', ruleClasses) // bounded: the classes of the estate's rules
            .execute()
    const entry = {
      rules,
      loadedAt: Date.now(),
      classes: new Map(devices.map((d) => [d.id, d.deviceClass])),
      capacities: new Map<string, Decimal>(),
    }
    this.#rules.set(estateId, entry)
    return entry
  }
}

/**
 * Whether this transaction may have moved the mark over parked seqs. Not in the common case
 * (the batch right after the mark, nothing parked above it moved): no query then.
 */
function gapMayHaveClosed(move: MarkMove): boolean {
  if (move.markAfter <= move.markBefore) return false
  return !(move.batch !== undefined && move.seq === move.markAfter && move.markBefore === move.seq - 1)
}

/** The register capacity of each meter on these points that has one (a wrap is not reverse flow). */
async function capacitiesOf(
  trx: Kysely<Database>,
  pointIds: readonly string[],
): Promise<Map<string, Decimal>> {
  const meters = await trx
    .selectFrom('meters')
    .select(['pointId', 'registerCapacity'])
    .where('pointId', '=', anyUuid(pointIds))
    .where('registerCapacity', 'is not', null)
    .execute()
  return new Map(meters.map((m) => [m.pointId!, Decimal.of(m.registerCapacity!)]))
}

function isEmpty(judged: Judged): boolean {
  return judged.readings.length === 0 && judged.events.length === 0
}

/** The batch's signals some rule of the estate watches: what is judged, or parked. */
function relevant(
  estate: EstateRules,
  seq: number,
  historical: boolean,
  stored: readonly StoredReading[],
  events: readonly WireEvent[],
  deviceOf: (code: string) => string | undefined,
): Judged {
  const { rules, classes } = estate
  if (rules.length === 0) return { seq, historical, readings: [], events: [] }
  const readings: ParkedReading[] = []
  for (const { point, name, wire } of stored) {
    if (wire.q === 'bad' || wire.v === null) continue
    if (!rules.some((r) => readingKinds.has(r.kind) && inScope(r, point.deviceId, point.id, classes)))
      continue
    readings.push({
      pointId: point.id,
      deviceId: point.deviceId,
      kind: point.kind,
      name,
      t: wire.t,
      v: wire.v,
      q: wire.q,
    })
  }
  const judgedEvents: ParkedEvent[] = []
  // A replayed batch raises nothing, and events only raise.
  if (!historical)
    for (const event of events) {
      const deviceId = deviceOf(event.s.split('/')[0] ?? '') ?? null
      if (
        rules.some(
          (r) => r.kind === 'event' && r.eventType === event.type && inScope(r, deviceId, null, classes),
        )
      )
        judgedEvents.push({ s: event.s, t: event.t, type: event.type, d: event.d, deviceId })
    }
  return { seq, historical, readings, events: judgedEvents }
}

async function park(trx: Kysely<Database>, gatewayId: string, judged: Judged) {
  await trx
    .insertInto('alarmParkedBatches')
    .values({
      gatewayId,
      seq: judged.seq,
      historical: judged.historical,
      readings: jsonb([...judged.readings]),
      events: jsonb([...judged.events]),
    })
    .onConflict((oc) => oc.columns(['gatewayId', 'seq']).doNothing())
    .execute()
}

/** Takes the parked batches the mark has now passed. */
async function unpark(trx: Kysely<Database>, gatewayId: string, mark: number): Promise<Judged[]> {
  const rows = await trx
    .deleteFrom('alarmParkedBatches')
    .where('gatewayId', '=', gatewayId)
    .where('seq', '<=', mark)
    .returning(['seq', 'historical', 'readings', 'events'])
    .execute()
  return rows.map((r) => ({
    seq: Number(r.seq),
    historical: r.historical,
    readings: r.readings,
    events: r.events,
  }))
}

/** Each point's watching rules (scope depends on the point and its device only). */
function watchersOf(estate: EstateRules, readings: readonly ParkedReading[]): Map<string, Rule[]> {
  const watchers = new Map<string, Rule[]>()
  for (const r of readings) {
    if (watchers.has(r.pointId)) continue
    watchers.set(
      r.pointId,
      estate.rules.filter(
        (rule) => readingKinds.has(rule.kind) && inScope(rule, r.deviceId, r.pointId, estate.classes),
      ),
    )
  }
  return watchers
}

interface JudgeState {
  /** Threshold onsets by rule/point, as loaded and as judged. */
  readonly heldBefore: Map<string, number>
  readonly holds: Map<string, number>
  readonly last: Map<string, Previous>
  readonly lastChanged: Set<string>
  /** Alarms that a non-matching reading would clear (active or acknowledged), by rule and source. */
  readonly open: Set<string>
}

/** Reads the state this batch's readings need: three set-based queries at most, plus a fallback. */
async function loadState(
  trx: Kysely<Database>,
  readings: readonly ParkedReading[],
  watchers: ReadonlyMap<string, Rule[]>,
): Promise<JudgeState> {
  const state: JudgeState = {
    heldBefore: new Map(),
    holds: new Map(),
    last: new Map(),
    lastChanged: new Set(),
    open: new Set(),
  }
  if (readings.length === 0) return state
  const thresholdRules = new Set<string>()
  const readingRules = new Set<string>()
  const previousPoints = new Set<string>()
  for (const [pointId, rules] of watchers)
    for (const rule of rules) {
      readingRules.add(rule.id)
      if (rule.kind === 'threshold') thresholdRules.add(rule.id)
      if (rule.kind === 'rate' || rule.kind === 'reverse_flow') previousPoints.add(pointId)
    }
  const pointIds = [...watchers.keys()]
  if (thresholdRules.size > 0) {
    const held = await trx
      .selectFrom('alarmHolds')
      .select(['ruleId', 'pointId', 'since'])
      .where(sql<boolean>`rule_id = any(${[...thresholdRules]}::uuid[])`)
      .where(sql<boolean>`point_id = any(${pointIds}::uuid[])`)
      .execute()
    for (const h of held) state.heldBefore.set(holdKey(h.ruleId, h.pointId), new Date(h.since).getTime())
    for (const [k, v] of state.heldBefore) state.holds.set(k, v)
  }
  if (previousPoints.size > 0) {
    const points = [...previousPoints]
    const kept = await trx
      .selectFrom('alarmLastValues')
      .select(['pointId', 'ts', sql<string>`value::text`.as('value')])
      .where(sql<boolean>`point_id = any(${points}::uuid[])`)
      .execute()
    for (const k of kept)
      state.last.set(k.pointId, { t: new Date(k.ts).getTime(), value: Decimal.of(k.value) })
    // A point no rule watched until now (a new rule, or the first batch after the upgrade): its
    // newest good stored reading before this batch's first, as the in-memory engine did after
    // a restart.
    const missing = points.filter((p) => !state.last.has(p))
    if (missing.length > 0) {
      const firstAt = new Map<string, number>()
      for (const r of readings)
        if (missing.includes(r.pointId)) firstAt.set(r.pointId, Math.min(firstAt.get(r.pointId) ?? r.t, r.t))
      const ids = [...firstAt.keys()]
      const before = ids.map((id) => new Date(firstAt.get(id)!).toISOString())
      const found = await sql<{ pointId: string; ts: Date; value: string }>`
        select p.id as "pointId", r.ts, r.value::text as value
        from unnest(${ids}::uuid[], ${before}::timestamptz[]) as p(id, t)
        cross join lateral (
          select ts, value from readings
          where point_id = p.id and ts < p.t and quality <> 'bad' and value is not null
          order by ts desc limit 1) r`.execute(trx)
      for (const f of found.rows)
        state.last.set(f.pointId, { t: new Date(f.ts).getTime(), value: Decimal.of(f.value) })
    }
  }
  if (readingRules.size > 0) {
    const sources = [...new Set(readings.map((r) => r.name))]
    const open = await trx
      .selectFrom('alarms')
      .select(['ruleId', 'source'])
      .where(sql<boolean>`rule_id = any(${[...readingRules]}::uuid[])`)
      .where(sql<boolean>`source = any(${sources}::text[])`)
      .where('status', 'in', ['active', 'acknowledged'])
      .execute()
    for (const o of open) state.open.add(alarmKey(o.ruleId, o.source))
  }
  return state
}

/** Writes back the holds and last values this batch changed: set-based, one statement each. */
async function saveState(trx: Kysely<Database>, state: JudgeState) {
  const ended = [...state.heldBefore.keys()].filter((k) => !state.holds.has(k))
  if (ended.length > 0) {
    const [rules, points] = split(ended)
    await sql`delete from alarm_holds h using unnest(${rules}::uuid[], ${points}::uuid[]) as e(r, p)
      where h.rule_id = e.r and h.point_id = e.p`.execute(trx)
  }
  const begun = [...state.holds].filter(([k, since]) => state.heldBefore.get(k) !== since)
  if (begun.length > 0) {
    const [rules, points] = split(begun.map(([k]) => k))
    const since = begun.map(([, t]) => new Date(t).toISOString())
    await sql`insert into alarm_holds (rule_id, point_id, since)
      select * from unnest(${rules}::uuid[], ${points}::uuid[], ${since}::timestamptz[])
      on conflict (rule_id, point_id) do update set since = excluded.since`.execute(trx)
  }
  if (state.lastChanged.size > 0) {
    const points = [...state.lastChanged]
    const ts = points.map((p) => new Date(state.last.get(p)!.t).toISOString())
    const values = points.map((p) => state.last.get(p)!.value.toString())
    await sql`insert into alarm_last_values (point_id, ts, value)
      select * from unnest(${points}::uuid[], ${ts}::timestamptz[], ${values}::numeric[])
      on conflict (point_id) do update set ts = excluded.ts, value = excluded.value`.execute(trx)
  }
}

function split(keys: readonly string[]): [string[], string[]] {
  const rules: string[] = []
  const points: string[] = []
  for (const k of keys) {
    const [rule, point] = k.split('/')
    rules.push(rule!)
    points.push(point!)
  }
  return [rules, points]
}

/**
 * One rule on one reading. Updates the hold clock in `holds`; returns raise (with the alarm's
 * details) or clear. Whether a raise happens (not for a replay) is the caller's.
 */
function judgeReading(
  rule: Rule,
  reading: ParkedReading,
  value: Decimal | undefined,
  previous: Previous | undefined,
  holds: Map<string, number>,
  estate: EstateRules,
): Verdict {
  switch (rule.kind) {
    case 'state':
      return stateText(reading.v) === stateText(rule.matchValue)
        ? { raise: { value: reading.v } }
        : { clear: true }
    case 'threshold': {
      if (!value) return undefined
      const key = holdKey(rule.id, reading.pointId)
      const above = Decimal.of(rule.above ?? '0')
      if (value.gt(above)) {
        const since = holds.get(key) ?? reading.t
        holds.set(key, since)
        return reading.t - since >= rule.holdSeconds * 1000
          ? { raise: { value: reading.v, since: new Date(since).toISOString() } }
          : undefined
      }
      holds.delete(key)
      return value.lte(above.minus(rule.hysteresis)) ? { clear: true } : undefined
    }
    case 'rate': {
      // Only forward in time: a replayed older reading says nothing about the current rate.
      if (!value || !previous || reading.t <= previous.t) return undefined
      const minutes = Decimal.of(reading.t - previous.t).div(Decimal.of(60_000), 6, 'half-up')
      const change = value.minus(previous.value).abs()
      const limit = Decimal.of(rule.ratePerMinute ?? '0')
      const rate = change.div(minutes, 4, 'half-up')
      if (rate.gt(limit))
        return {
          raise: {
            value: reading.v,
            previous: previous.value.toString(),
            previousAt: new Date(previous.t).toISOString(),
            perMinute: rate.toString(),
          },
        }
      return rate.lte(limit.minus(rule.hysteresis)) ? { clear: true } : undefined
    }
    case 'reverse_flow': {
      if (reading.kind !== 'counter' || !value || !previous || reading.t <= previous.t) return undefined
      if (value.lt(previous.value)) {
        // A register that wrapped past its capacity moved forward, not back.
        const capacity = estate.capacities.get(reading.pointId)
        const wrapped =
          capacity !== undefined && previous.value.minus(value).gt(capacity.div(Decimal.of(2), 3, 'half-up'))
        return wrapped
          ? undefined
          : {
              raise: {
                value: reading.v,
                previous: previous.value.toString(),
                previousAt: new Date(previous.t).toISOString(),
              },
            }
      }
      return value.gt(previous.value) ? { clear: true } : undefined
    }
    default:
      return undefined
  }
}

/**
 * Events of the rule's type at the event's source within the rule's window ending at it, of
 * batches up to the judged one: a later batch another hub already committed is not counted,
 * as one hub judging in seq order would not have seen it.
 */
async function eventsInWindow(
  trx: Kysely<Database>,
  rule: Rule,
  gateway: Pick<MarkMove['gateway'], 'id' | 'estateId'>,
  seq: number,
  event: ParkedEvent,
): Promise<number> {
  const from = new Date(event.t - (rule.windowSeconds ?? 0) * 1000)
  const row = await trx
    .selectFrom('deviceEvents')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('estateId', '=', gateway.estateId)
    .where('source', '=', event.s)
    .where('type', '=', event.type)
    .where('ts', '>', from)
    .where('ts', '<=', new Date(event.t))
    .where((eb) => eb.or([eb('gatewayId', '<>', gateway.id), eb('gatewaySeq', '<=', seq)]))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export function inScope(
  rule: Rule,
  deviceId: string | null,
  pointId: string | null,
  classes: ReadonlyMap<string, string | null>,
): boolean {
  if (rule.pointId !== null) return rule.pointId === pointId
  if (rule.deviceId !== null) return rule.deviceId === deviceId
  if (rule.deviceClass !== null) return deviceId !== null && classes.get(deviceId) === rule.deviceClass
  return true
}

function eventDetails(event: ParkedEvent): Record<string, unknown> {
  return { type: event.type, at: new Date(event.t).toISOString(), ...event.d }
}
