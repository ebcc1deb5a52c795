import { type Kysely, type Selectable, sql } from 'kysely'
import { enqueueNotice } from '../notify/notification-outbox.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import type { AlarmRuleTable } from './alarms-tables.ts'
import { type SlaDue, slaDue } from './sla-policy.ts'

export type AlarmRule = Selectable<AlarmRuleTable>

export interface AlarmSource {
  /** What the alarm is about: `<device>/<door>`, `<device>/<point>`, a device code, `gateway:<code>`. */
  readonly source: string
  readonly deviceId: string | null
  readonly pointId: string | null
}

/**
 * Raises the rule's alarm for a source, or, when one is open, counts the occurrence (a cleared
 * one becomes active again): one open alarm per rule and source however often the signal
 * flaps. A new alarm opens the rule's work order (SLA from the estate's policy) and queues its
 * notices, all in one transaction: the caller's when `db` is one (the alarm engine judges inside
 * the batch's transaction), else its own. Returns whether a new alarm was raised.
 */
export async function raiseAlarm(
  db: Kysely<Database>,
  rule: AlarmRule,
  { source, deviceId, pointId }: AlarmSource,
  at: number,
  details: Record<string, unknown>,
): Promise<boolean> {
  const inTransaction = (work: (trx: Kysely<Database>) => Promise<boolean>) =>
    db.isTransaction ? work(db) : db.transaction().execute(work)
  return inTransaction(async (trx) => {
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
      return false
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
      kind: rule.kind,
      severity: rule.severity,
      source,
      at: new Date(at).toISOString(),
      details,
    }
    if (rule.workOrderCategory === null || rule.workOrderPriority === null) {
      await enqueueNotice(trx, { ...notice, payload: announced })
      return true
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
    return true
  })
}

/**
 * Clears the rule's open alarm for a source (active or acknowledged → cleared) and queues the
 * `alarm.cleared` notice. Its work order stays open: a repair is closed by people. This runs
 * for every reading that does not match, so the common case (nothing open) is one statement
 * (the engine skips it when it knows nothing is open). Given a transaction (the engine's, the
 * batch's), the notice commits with the update; given the pool (the watch), it follows the
 * update (a crash between the two loses that one cleared notice, never an alarm).
 */
export async function clearAlarm(
  db: Kysely<Database>,
  rule: AlarmRule,
  source: string,
  at: number,
): Promise<boolean> {
  const cleared = await db
    .updateTable('alarms')
    .set({ status: 'cleared', clearedAt: new Date(at) })
    .where('ruleId', '=', rule.id)
    .where('source', '=', source)
    .where('status', 'in', ['active', 'acknowledged'])
    .returning(['id', 'raisedAt'])
    .execute()
  for (const alarm of cleared)
    await enqueueNotice(db, {
      estateId: rule.estateId,
      topic: 'alarm.cleared',
      severity: rule.severity,
      department: rule.department,
      payload: {
        alarmId: alarm.id,
        rule: rule.name,
        kind: rule.kind,
        severity: rule.severity,
        source,
        raisedAt: new Date(alarm.raisedAt).toISOString(),
        clearedAt: new Date(at).toISOString(),
      },
    })
  return cleared.length > 0
}

/** One raise of `raiseAlarm`'s arguments, for `raiseAlarms`. */
export interface AlarmRaise {
  readonly rule: AlarmRule
  readonly at: AlarmSource
  readonly t: number
  readonly details: Record<string, unknown>
}

/**
 * `raiseAlarm` for many raises in one transaction (the engine's events of one batch: a fire
 * panel opening every door at once), with the same outcome as calling it for each in order,
 * in a fixed number of statements (plus one per new alarm for its notice): the open alarms
 * locked and counted in one update, the new alarms, their orders and the orders' timelines each
 * inserted in one statement. Returns the raises that opened a new alarm.
 */
export async function raiseAlarms(
  trx: Kysely<Database>,
  raises: readonly AlarmRaise[],
): Promise<AlarmRaise[]> {
  if (raises.length === 0) return []
  if (raises.length === 1) {
    const [only] = raises as [AlarmRaise]
    return (await raiseAlarm(trx, only.rule, only.at, only.t, only.details)) ? [only] : []
  }
  // Per rule and source: the first raise opens (or counts on the open alarm), the others count.
  const groups = new Map<string, { first: AlarmRaise; count: number; lastT: number }>()
  for (const raise of raises) {
    const key = `${raise.rule.id}\u0000${raise.at.source}`
    const group = groups.get(key)
    if (group) {
      group.count++
      group.lastT = raise.t
    } else groups.set(key, { first: raise, count: 1, lastT: raise.t })
  }
  const keys = [...groups.values()]
  const open = await sql<{ id: string; ruleId: string; source: string }>`
    select a.id, a.rule_id as "ruleId", a.source from alarms a
    join unnest(${keys.map((g) => g.first.rule.id)}::uuid[], ${keys.map((g) => g.first.at.source)}::text[]) as k(r, s)
      on a.rule_id = k.r and a.source = k.s
    where a.status <> 'closed'
    for update of a`.execute(trx)
  const openId = new Map(open.rows.map((o) => [`${o.ruleId}\u0000${o.source}`, o.id]))
  const counted = [...groups].filter(([key]) => openId.has(key))
  if (counted.length > 0)
    await sql`update alarms a set
        occurrences = a.occurrences + u.n,
        last_seen_at = u.t,
        status = case when a.status = 'cleared' then 'active' else a.status end,
        cleared_at = case when a.status = 'cleared' then null else a.cleared_at end
      from unnest(${counted.map(([key]) => openId.get(key)!)}::uuid[], ${counted.map(([, g]) => g.count)}::int[],
                  ${counted.map(([, g]) => new Date(g.lastT).toISOString())}::timestamptz[]) as u(id, n, t)
      where a.id = u.id`.execute(trx)
  const fresh = [...groups].filter(([key]) => !openId.has(key)).map(([, g]) => g)
  if (fresh.length === 0) return []

  const rows = fresh.map((g, n) => ({
    n,
    estate_id: g.first.rule.estateId,
    rule_id: g.first.rule.id,
    source: g.first.at.source,
    device_id: g.first.at.deviceId,
    point_id: g.first.at.pointId,
    severity: g.first.rule.severity,
    raised_at: new Date(g.first.t).toISOString(),
    last_seen_at: new Date(g.lastT).toISOString(),
    occurrences: g.count,
    details: g.first.details,
  }))
  const inserted = await sql<{ id: string; ruleId: string; source: string }>`
    insert into alarms (estate_id, rule_id, source, device_id, point_id, status, severity, raised_at,
      last_seen_at, occurrences, details)
    select r.estate_id, r.rule_id, r.source, r.device_id, r.point_id, 'active', r.severity, r.raised_at,
      r.last_seen_at, r.occurrences, r.details
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(n integer, estate_id uuid, rule_id uuid,
      source text, device_id uuid, point_id uuid, severity text, raised_at timestamptz,
      last_seen_at timestamptz, occurrences integer, details jsonb)
    order by r.n
    returning id, rule_id as "ruleId", source`.execute(trx)
  const alarmId = new Map(inserted.rows.map((a) => [`${a.ruleId}\u0000${a.source}`, a.id]))
  const idOf = (g: { first: AlarmRaise }) => alarmId.get(`${g.first.rule.id}\u0000${g.first.at.source}`)!

  // Orders for the rules that open one: their SLA per category and priority, their place from the device.
  const ordered = fresh.filter(
    (g) => g.first.rule.workOrderCategory !== null && g.first.rule.workOrderPriority !== null,
  )
  const orderOf = new Map<string, { id: string; respondBy: Date }>()
  if (ordered.length > 0) {
    const deviceIds = [
      ...new Set(ordered.map((g) => g.first.at.deviceId).filter((d): d is string => d !== null)),
    ]
    const places = new Map<string, { buildingId: string | null; unitId: string | null }>()
    if (deviceIds.length > 0) {
      const devices = await trx
        .selectFrom('devices')
        .select(['id', 'buildingId', 'unitId'])
        .where(sql<boolean>`id = any(${deviceIds}::uuid[])`)
        .execute()
      for (const d of devices) places.set(d.id, { buildingId: d.buildingId, unitId: d.unitId })
    }
    const slas = new Map<string, SlaDue>()
    const now = Date.now()
    for (const g of ordered) {
      const { estateId, workOrderCategory, workOrderPriority } = g.first.rule
      const key = `${estateId}/${workOrderCategory}/${workOrderPriority}`
      if (!slas.has(key))
        slas.set(key, await slaDue(trx, estateId, workOrderCategory!, workOrderPriority!, now))
    }
    const orderRows = ordered.map((g, n) => {
      const { rule, at } = g.first
      const sla = slas.get(`${rule.estateId}/${rule.workOrderCategory}/${rule.workOrderPriority}`)!
      const place = at.deviceId ? places.get(at.deviceId) : undefined
      return {
        n,
        estate_id: rule.estateId,
        alarm_id: idOf(g),
        category: rule.workOrderCategory,
        priority: rule.workOrderPriority,
        department: rule.department,
        title: `${rule.name}: ${at.source}`,
        building_id: place?.buildingId ?? null,
        unit_id: place?.unitId ?? null,
        device_id: at.deviceId,
        location: at.source,
        respond_by: sla.respondBy.toISOString(),
        complete_by: sla.completeBy.toISOString(),
      }
    })
    const orders = await sql<{ id: string; alarmId: string; respondBy: Date }>`
      insert into work_orders (estate_id, source, alarm_id, category, priority, department, title,
        description, building_id, unit_id, device_id, location, respond_by, complete_by)
      select r.estate_id, 'alarm', r.alarm_id, r.category, r.priority, r.department, r.title, null,
        r.building_id, r.unit_id, r.device_id, r.location, r.respond_by, r.complete_by
      from jsonb_to_recordset(${JSON.stringify(orderRows)}::jsonb) as r(n integer, estate_id uuid,
        alarm_id uuid, category text, priority text, department text, title text, building_id uuid,
        unit_id uuid, device_id uuid, location text, respond_by timestamptz, complete_by timestamptz)
      order by r.n
      returning id, alarm_id as "alarmId", respond_by as "respondBy"`.execute(trx)
    for (const o of orders.rows) orderOf.set(o.alarmId, { id: o.id, respondBy: new Date(o.respondBy) })
    const timeline = ordered.map((g) => ({
      order: orderOf.get(idOf(g))!.id,
      note: `raised by alarm ${g.first.rule.name}`,
      data: JSON.stringify({ alarmId: idOf(g) }),
    }))
    await sql`insert into work_order_events (work_order_id, by, action, from_status, to_status, note, data)
      select o, null, 'created', null, 'registered', t, d::jsonb
      from unnest(${timeline.map((e) => e.order)}::uuid[], ${timeline.map((e) => e.note)}::text[],
                  ${timeline.map((e) => e.data)}::text[]) as u(o, t, d)`.execute(trx)
  }
  for (const g of fresh) {
    const { rule, at, t, details } = g.first
    const id = idOf(g)
    const announced = {
      alarmId: id,
      rule: rule.name,
      kind: rule.kind,
      severity: rule.severity,
      source: at.source,
      at: new Date(t).toISOString(),
      details,
    }
    const order = orderOf.get(id)
    await enqueueNotice(trx, {
      estateId: rule.estateId,
      topic: 'alarm.raised',
      severity: rule.severity,
      department: rule.department,
      payload: order
        ? {
            ...announced,
            workOrderId: order.id,
            priority: rule.workOrderPriority,
            respondBy: order.respondBy.toISOString(),
          }
        : announced,
    })
  }
  return fresh.map((g) => g.first)
}
