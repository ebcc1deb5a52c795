import type { Kysely } from 'kysely'
import type { AlarmSeverity, Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import type { NotificationTopic } from './notify-vocabulary.ts'

const rank: Record<AlarmSeverity, number> = { info: 0, minor: 1, major: 2, critical: 3 }

export interface Notice {
  readonly estateId: string
  readonly topic: NotificationTopic
  /** Alarms: the rule's severity; escalations count as major. */
  readonly severity: AlarmSeverity
  /** The department the alarm's order goes to, or the escalated order's. */
  readonly department: string | null
  readonly payload: Record<string, unknown>
}

/**
 * Queues a notice for every enabled channel of the estate that takes its topic, at or above its
 * minimum severity, for its department (a channel without one takes all). Called inside the
 * transaction that raises the alarm or escalates the order, so a notice exists exactly when the
 * thing it announces does; the dispatcher sends it afterwards, with retries.
 */
export async function enqueueNotice(trx: Kysely<Database>, notice: Notice): Promise<number> {
  const channels = await trx
    .selectFrom('notificationChannels')
    .select(['id', 'topics', 'minSeverity', 'department'])
    .where('estateId', '=', notice.estateId)
    .where('enabled', '=', true)
    .execute()
  const due = channels.filter(
    (c) =>
      c.topics.includes(notice.topic) &&
      rank[notice.severity] >= rank[c.minSeverity] &&
      (c.department === null || c.department === notice.department),
  )
  if (due.length === 0) return 0
  await trx
    .insertInto('notificationDeliveries')
    .values(due.map((c) => ({ channelId: c.id, topic: notice.topic, payload: jsonb(notice.payload) })))
    .execute()
  return due.length
}
