import type { Kysely } from 'kysely'
import { enqueueNotice } from '../notify/notification-outbox.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'

export interface Escalation {
  readonly workOrderId: string
  readonly department: string | null
  readonly breach: 'response' | 'completion'
}

/**
 * Flags work orders past their response or completion time and escalates each to its
 * department head once (an `escalated` entry on the timeline; notification channels read
 * it). `now` is a parameter so the clock can be controlled in tests.
 */
export async function escalateBreaches(db: Kysely<Database>, now: Date): Promise<Escalation[]> {
  return db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('workOrders')
      .select(['id', 'estateId', 'title', 'priority', 'department', 'respondBy', 'respondedAt', 'completeBy'])
      .where('escalatedAt', 'is', null)
      .where('status', 'not in', ['closed', 'cancelled', 'done', 'return_visit'])
      .where((eb) =>
        eb.or([
          eb.and([eb('respondedAt', 'is', null), eb('respondBy', '<', now)]),
          eb('completeBy', '<', now),
        ]),
      )
      .forUpdate()
      .execute()
    const escalations: Escalation[] = []
    for (const order of due) {
      const breach = order.respondedAt === null && new Date(order.respondBy) < now ? 'response' : 'completion'
      await trx
        .updateTable('workOrders')
        .set({ escalatedAt: now, updatedAt: now })
        .where('id', '=', order.id)
        .execute()
      await trx
        .insertInto('workOrderEvents')
        .values({
          workOrderId: order.id,
          by: null,
          action: 'escalated',
          fromStatus: null,
          toStatus: null,
          note: `${breach} time exceeded: escalated to the head of ${order.department ?? 'the estate'}`,
          data: jsonb({ breach, department: order.department }),
        })
        .execute()
      await enqueueNotice(trx, {
        estateId: order.estateId,
        topic: 'work_order.escalated',
        severity: 'major',
        department: order.department,
        payload: {
          workOrderId: order.id,
          title: order.title,
          priority: order.priority,
          department: order.department,
          breach,
          respondBy: new Date(order.respondBy).toISOString(),
          completeBy: new Date(order.completeBy).toISOString(),
        },
      })
      escalations.push({ workOrderId: order.id, department: order.department, breach })
    }
    return escalations
  })
}
