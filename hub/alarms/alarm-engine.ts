import type { Kysely } from 'kysely'
import type { WireEvent, WireReading } from '../../gateway/protocol/index.ts'
import { Decimal } from '../decimal/decimal.ts'
import type { CommittedBatch, IngestLog } from '../ingest/ingest-service.ts'
import { enqueueNotice } from '../notify/notification-outbox.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { slaDue } from './sla-policy.ts'

type Rule = Awaited<ReturnType<typeof loadRules>>[number]

function loadRules(db: Kysely<Database>, estateId: string) {
  return db
    .selectFrom('alarmRules')
    .selectAll()
    .where('estateId', '=', estateId)
    .where('enabled', '=', true)
    .execute()
}

/** '1'/'0' for booleans and their spellings, the text otherwise: how a state is compared. */
function stateText(value: unknown): string {
  if (value === true || value === 'true') return '1'
  if (value === false || value === 'false') return '0'
  return String(value)
}

/**
 * Turns committed readings and events into alarms, and alarms into work orders, by the
 * estate's rules (data in alarm_rules). One open alarm per rule and source however often the
 * signal flaps; a threshold must hold for its hold time and clears only below the hysteresis
 * band; replayed (historical) batches update and clear alarms but raise none.
 */
export class AlarmEngine {
  readonly #db: Kysely<Database>
  readonly #log: IngestLog
  readonly #rules = new Map<
    string,
    { rules: Rule[]; loadedAt: number; classes: Map<string, string | null> }
  >()
  /** When a threshold condition began, by rule and point (in memory: a restart restarts the hold). */
  readonly #onset = new Map<string, number>()
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
    const { rules, classes } = await this.#rulesOf(gateway.estateId)
    if (rules.length === 0) return
    for (const event of batch.events) {
      const deviceId = gateway.devices.get(event.s.split('/')[0] ?? '') ?? null
      for (const rule of rules) {
        if (rule.kind !== 'event' || rule.eventType !== event.type || !inScope(rule, deviceId, null, classes))
          continue
        if (!batch.historical)
          await this.#raise(rule, event.s, deviceId, null, event.t, { event: eventDetails(event) })
      }
    }
    for (const { point, name, wire } of stored) {
      for (const rule of rules) {
        if (rule.kind === 'event' || !inScope(rule, point.deviceId, point.id, classes)) continue
        await this.#reading(rule, name, point.deviceId, point.id, wire, batch.historical)
      }
    }
  }

  async #reading(
    rule: Rule,
    source: string,
    deviceId: string,
    pointId: string,
    wire: WireReading,
    historical: boolean,
  ) {
    if (wire.q === 'bad' || wire.v === null) return
    if (rule.kind === 'state') {
      if (stateText(wire.v) === stateText(rule.matchValue)) {
        if (!historical) await this.#raise(rule, source, deviceId, pointId, wire.t, { value: wire.v })
      } else await this.#clear(rule, source, wire.t)
      return
    }
    let value: Decimal
    try {
      value = Decimal.of(typeof wire.v === 'boolean' ? (wire.v ? 1 : 0) : wire.v)
    } catch {
      return
    }
    const key = `${rule.id}/${pointId}`
    const above = Decimal.of(rule.above ?? '0')
    if (value.gt(above)) {
      const since = this.#onset.get(key) ?? wire.t
      this.#onset.set(key, since)
      if (wire.t - since >= rule.holdSeconds * 1000 && !historical)
        await this.#raise(rule, source, deviceId, pointId, wire.t, {
          value: wire.v,
          since: new Date(since).toISOString(),
        })
      return
    }
    this.#onset.delete(key)
    if (value.lte(above.minus(rule.hysteresis))) await this.#clear(rule, source, wire.t)
  }

  async #raise(
    rule: Rule,
    source: string,
    deviceId: string | null,
    pointId: string | null,
    at: number,
    details: Record<string, unknown>,
  ) {
    await this.#db.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom('alarms')
        .select(['id', 'status'])
        .where('ruleId', '=', rule.id)
        .where('source', '=', source)
        .where('status', '<>', 'closed')
        .forUpdate()
        .executeTakeFirst()
      if (open) {
        await trx
          .updateTable('alarms')
          .set((eb) => ({
            occurrences: eb('occurrences', '+', 1),
            lastSeenAt: new Date(at),
            ...(open.status === 'cleared' ? { status: 'active' as const, clearedAt: null } : {}),
          }))
          .where('id', '=', open.id)
          .execute()
        return
      }
      const alarm = await trx
        .insertInto('alarms')
        .values({
          estateId: rule.estateId,
          ruleId: rule.id,
          source,
          deviceId,
          pointId,
          status: 'active',
          severity: rule.severity,
          raisedAt: new Date(at),
          lastSeenAt: new Date(at),
          details: jsonb(details),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      const notice = {
        estateId: rule.estateId,
        topic: 'alarm.raised' as const,
        severity: rule.severity,
        department: rule.department,
      }
      const announced = {
        alarmId: alarm.id,
        rule: rule.name,
        severity: rule.severity,
        source,
        at: new Date(at).toISOString(),
        details,
      }
      if (rule.workOrderCategory === null || rule.workOrderPriority === null) {
        await enqueueNotice(trx, { ...notice, payload: announced })
        return
      }
      const device = deviceId
        ? await trx
            .selectFrom('devices')
            .select(['buildingId', 'unitId'])
            .where('id', '=', deviceId)
            .executeTakeFirst()
        : undefined
      const sla = await slaDue(trx, rule.estateId, rule.workOrderCategory, rule.workOrderPriority, Date.now())
      const order = await trx
        .insertInto('workOrders')
        .values({
          estateId: rule.estateId,
          source: 'alarm',
          alarmId: alarm.id,
          category: rule.workOrderCategory,
          priority: rule.workOrderPriority,
          department: rule.department,
          title: `${rule.name}: ${source}`,
          description: null,
          buildingId: device?.buildingId ?? null,
          unitId: device?.unitId ?? null,
          deviceId,
          location: source,
          respondBy: sla.respondBy,
          completeBy: sla.completeBy,
          assigneeId: null,
          respondedAt: null,
          completedAt: null,
          closedAt: null,
          createdBy: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await trx
        .insertInto('workOrderEvents')
        .values({
          workOrderId: order.id,
          by: null,
          action: 'created',
          fromStatus: null,
          toStatus: 'registered',
          note: `raised by alarm ${rule.name}`,
          data: jsonb({ alarmId: alarm.id }),
        })
        .execute()
      await enqueueNotice(trx, {
        ...notice,
        payload: {
          ...announced,
          workOrderId: order.id,
          priority: rule.workOrderPriority,
          respondBy: sla.respondBy.toISOString(),
        },
      })
    })
    this.#log.info({ rule: rule.name, source }, 'alarm raised')
  }

  async #clear(rule: Rule, source: string, at: number) {
    await this.#db
      .updateTable('alarms')
      .set({ status: 'cleared', clearedAt: new Date(at) })
      .where('ruleId', '=', rule.id)
      .where('source', '=', source)
      .where('status', 'in', ['active', 'acknowledged'])
      .execute()
  }

  async #rulesOf(estateId: string) {
    const cached = this.#rules.get(estateId)
    if (cached && Date.now() - cached.loadedAt < 5_000) return cached
    const rules = await loadRules(this.#db, estateId)
    const devices = await this.#db
      .selectFrom('devices')
      .select(['id', 'deviceClass'])
      .where('estateId', '=', estateId)
      .execute()
    const entry = { rules, loadedAt: Date.now(), classes: new Map(devices.map((d) => [d.id, d.deviceClass])) }
    this.#rules.set(estateId, entry)
    return entry
  }
}

function inScope(
  rule: Rule,
  deviceId: string | null,
  pointId: string | null,
  classes: Map<string, string | null>,
): boolean {
  if (rule.pointId !== null) return rule.pointId === pointId
  if (rule.deviceId !== null) return rule.deviceId === deviceId
  if (rule.deviceClass !== null) return deviceId !== null && classes.get(deviceId) === rule.deviceClass
  return true
}

function eventDetails(event: WireEvent): Record<string, unknown> {
  return { type: event.type, at: new Date(event.t).toISOString(), ...event.d }
}
