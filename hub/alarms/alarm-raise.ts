import type { Kysely, Selectable } from 'kysely'
import { enqueueNotice } from '../notify/notification-outbox.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import type { AlarmRuleTable } from './alarms-tables.ts'
import { slaDue } from './sla-policy.ts'

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
