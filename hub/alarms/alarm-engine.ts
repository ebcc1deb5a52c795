import { type Kysely, sql } from 'kysely'
import type { WireEvent, WireReading } from '../../gateway/contract/index.ts'
import type { CommittedBatch, IngestLog } from '../ingest/ingest-service.ts'
import type { KnownPoint } from '../ingest/point-directory.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { type AlarmRule, clearAlarm, raiseAlarm } from './alarm-raise.ts'

type Rule = AlarmRule

interface EstateRules {
  readonly rules: Rule[]
  readonly loadedAt: number
  readonly classes: Map<string, string | null>
  /** Register capacity of the meter on a counter point (a wrap is not reverse flow). */
  readonly capacities: Map<string, Decimal>
}

/** Rules evaluated on readings as they arrive; offline and night flow are the watch's (alarm-watch.ts). */
const readingKinds = new Set(['state', 'threshold', 'rate', 'reverse_flow'])

/** '1'/'0' for booleans and their spellings, the text otherwise: how a state is compared. */
function stateText(value: unknown): string {
  if (value === true || value === 'true') return '1'
  if (value === false || value === 'false') return '0'
  return String(value)
}

function numeric(wire: WireReading): Decimal | undefined {
  if (wire.q === 'bad' || wire.v === null) return undefined
  try {
    return Decimal.of(typeof wire.v === 'boolean' ? (wire.v ? 1 : 0) : wire.v)
  } catch {
    return undefined
  }
}

/**
 * Turns committed readings and events into alarms, and alarms into work orders, by the
 * estate's rules (data in alarm_rules). One open alarm per rule and source however often the
 * signal flaps; a threshold must hold for its hold time and clears only below the hysteresis
 * band; an event rule may ask for N events at one source within a window; rate of change and
 * reverse flow compare a reading with the point's previous one. Replayed (historical) batches
 * update and clear alarms but raise none.
 */
export class AlarmEngine {
  readonly #db: Kysely<Database>
  readonly #log: IngestLog
  readonly #rules = new Map<string, EstateRules>()
  /** When a threshold condition began, by rule and point (in memory: a restart restarts the hold). */
  readonly #onset = new Map<string, number>()
  /** The newest good value of each point a rate or reverse-flow rule watches. */
  readonly #last = new Map<string, { t: number; value: Decimal }>()
  #queue: Promise<void> = Promise.resolve()

  constructor(db: Kysely<Database>, log: IngestLog) {
    this.#db = db
    this.#log = log
  }

  /** The ingest's after-commit hook: queued, so alarms follow the order batches committed in. */
  readonly onCommitted = (committed: CommittedBatch): void => {
    this.#queue = this.#queue
      .then(() => this.handle(committed))
      .catch((error: unknown) =>
        this.#log.error({ err: (error as Error).message }, 'alarms: batch not evaluated'),
      )
  }

  /** Resolves when every batch handed over so far is evaluated (tests, shutdown). */
  idle(): Promise<void> {
    return this.#queue
  }

  forget(estateId?: string) {
    if (estateId === undefined) this.#rules.clear()
    else this.#rules.delete(estateId)
  }

  async handle({ gateway, batch, stored }: CommittedBatch): Promise<void> {
    const estate = await this.#rulesOf(gateway.estateId)
    if (estate.rules.length === 0) return
    const { rules, classes } = estate
    for (const event of batch.events) {
      if (batch.historical) break
      const deviceId = gateway.devices.get(event.s.split('/')[0] ?? '') ?? null
      for (const rule of rules) {
        if (rule.kind !== 'event' || rule.eventType !== event.type || !inScope(rule, deviceId, null, classes))
          continue
        const details: Record<string, unknown> = { event: eventDetails(event) }
        if (rule.eventCount > 1) {
          const count = await this.#eventsInWindow(rule, gateway.estateId, event)
          if (count < rule.eventCount) continue
          details.count = count
          details.windowSeconds = rule.windowSeconds
        }
        await this.#raise(rule, { source: event.s, deviceId, pointId: null }, event.t, details)
      }
    }
    for (const { point, name, wire } of stored) {
      const watching = rules.filter(
        (rule) => readingKinds.has(rule.kind) && inScope(rule, point.deviceId, point.id, classes),
      )
      if (watching.length === 0) continue
      const value = numeric(wire)
      const needsPrevious = watching.some((r) => r.kind === 'rate' || r.kind === 'reverse_flow')
      const previous = needsPrevious && value ? await this.#previous(point, wire.t) : undefined
      const source = { source: name, deviceId: point.deviceId, pointId: point.id }
      for (const rule of watching)
        await this.#reading(rule, source, point, wire, value, previous, batch.historical, estate)
      if (needsPrevious && value && (previous === undefined || wire.t > previous.t))
        this.#last.set(point.id, { t: wire.t, value })
    }
  }

  async #reading(
    rule: Rule,
    at: { source: string; deviceId: string; pointId: string },
    point: KnownPoint,
    wire: WireReading,
    value: Decimal | undefined,
    previous: { t: number; value: Decimal } | undefined,
    historical: boolean,
    estate: EstateRules,
  ) {
    if (wire.q === 'bad' || wire.v === null) return
    const { source } = at
    switch (rule.kind) {
      case 'state':
        if (stateText(wire.v) === stateText(rule.matchValue)) {
          if (!historical) await this.#raise(rule, at, wire.t, { value: wire.v })
        } else await clearAlarm(this.#db, rule, source, wire.t)
        return
      case 'threshold': {
        if (!value) return
        const key = `${rule.id}/${at.pointId}`
        const above = Decimal.of(rule.above ?? '0')
        if (value.gt(above)) {
          const since = this.#onset.get(key) ?? wire.t
          this.#onset.set(key, since)
          if (wire.t - since >= rule.holdSeconds * 1000 && !historical)
            await this.#raise(rule, at, wire.t, { value: wire.v, since: new Date(since).toISOString() })
          return
        }
        this.#onset.delete(key)
        if (value.lte(above.minus(rule.hysteresis))) await clearAlarm(this.#db, rule, source, wire.t)
        return
      }
      case 'rate': {
        // Only forward in time: a replayed older reading says nothing about the current rate.
        if (!value || !previous || wire.t <= previous.t) return
        const minutes = Decimal.of(wire.t - previous.t).div(Decimal.of(60_000), 6, 'half-up')
        const change = value.minus(previous.value).abs()
        const limit = Decimal.of(rule.ratePerMinute ?? '0')
        const rate = change.div(minutes, 4, 'half-up')
        if (rate.gt(limit)) {
          if (!historical)
            await this.#raise(rule, at, wire.t, {
              value: wire.v,
              previous: previous.value.toString(),
              previousAt: new Date(previous.t).toISOString(),
              perMinute: rate.toString(),
            })
        } else if (rate.lte(limit.minus(rule.hysteresis))) await clearAlarm(this.#db, rule, source, wire.t)
        return
      }
      case 'reverse_flow': {
        if (point.kind !== 'counter' || !value || !previous || wire.t <= previous.t) return
        if (value.lt(previous.value)) {
          // A register that wrapped past its capacity moved forward, not back.
          const capacity = estate.capacities.get(point.id)
          const wrapped =
            capacity !== undefined &&
            previous.value.minus(value).gt(capacity.div(Decimal.of(2), 3, 'half-up'))
          if (!wrapped && !historical)
            await this.#raise(rule, at, wire.t, {
              value: wire.v,
              previous: previous.value.toString(),
              previousAt: new Date(previous.t).toISOString(),
            })
        } else if (value.gt(previous.value)) await clearAlarm(this.#db, rule, source, wire.t)
        return
      }
    }
  }

  async #raise(
    rule: Rule,
    at: { source: string; deviceId: string | null; pointId: string | null },
    t: number,
    details: Record<string, unknown>,
  ) {
    if (await raiseAlarm(this.#db, rule, at, t, details))
      this.#log.info({ rule: rule.name, source: at.source }, 'alarm raised')
  }

  /** Events of the rule's type at the event's source within the rule's window ending at it (committed, so counted). */
  async #eventsInWindow(rule: Rule, estateId: string, event: WireEvent): Promise<number> {
    const from = new Date(event.t - (rule.windowSeconds ?? 0) * 1000)
    const row = await this.#db
      .selectFrom('deviceEvents')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('estateId', '=', estateId)
      .where('source', '=', event.s)
      .where('type', '=', event.type)
      .where('ts', '>', from)
      .where('ts', '<=', new Date(event.t))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** The point's newest good value before `t`: from memory, else (after a restart) from the store. */
  async #previous(point: KnownPoint, t: number): Promise<{ t: number; value: Decimal } | undefined> {
    const known = this.#last.get(point.id)
    if (known) return known
    const row = await sql<{ ts: Date; value: string }>`
      select ts, value::text as value from readings
      where point_id = ${point.id} and ts < ${new Date(t)} and quality <> 'bad' and value is not null
      order by ts desc limit 1`.execute(this.#db)
    const found = row.rows[0]
    if (!found) return undefined
    const previous = { t: new Date(found.ts).getTime(), value: Decimal.of(found.value) }
    this.#last.set(point.id, previous)
    return previous
  }

  async #rulesOf(estateId: string): Promise<EstateRules> {
    const cached = this.#rules.get(estateId)
    if (cached && Date.now() - cached.loadedAt < 5_000) return cached
    const rules = await this.#db
      .selectFrom('alarmRules')
      .selectAll()
      .where('estateId', '=', estateId)
      .where('enabled', '=', true)
      .execute()
    const devices = await this.#db
      .selectFrom('devices')
      .select(['id', 'deviceClass'])
      .where('estateId', '=', estateId)
      .execute()
    const capacities = new Map<string, Decimal>()
    if (rules.some((r) => r.kind === 'reverse_flow')) {
      const meters = await this.#db
        .selectFrom('meters')
        .select(['pointId', 'registerCapacity'])
        .where('estateId', '=', estateId)
        .where('pointId', 'is not', null)
        .where('registerCapacity', 'is not', null)
        .execute()
      for (const m of meters) capacities.set(m.pointId!, Decimal.of(m.registerCapacity!))
    }
    const entry = {
      rules,
      loadedAt: Date.now(),
      classes: new Map(devices.map((d) => [d.id, d.deviceClass])),
      capacities,
    }
    this.#rules.set(estateId, entry)
    return entry
  }
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

function eventDetails(event: WireEvent): Record<string, unknown> {
  return { type: event.type, at: new Date(event.t).toISOString(), ...event.d }
}
