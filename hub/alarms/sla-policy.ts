import type { Kysely } from 'kysely'
import type { Database, WorkOrderPriority } from '../store/database-schema.ts'

/** Minutes to respond and to complete, by priority, where an estate has no policy of its own. */
export const DEFAULT_SLA: Record<WorkOrderPriority, { respond: number; complete: number }> = {
  urgent: { respond: 30, complete: 240 },
  high: { respond: 120, complete: 1_440 },
  normal: { respond: 240, complete: 4_320 },
  low: { respond: 1_440, complete: 10_080 },
}

export interface SlaDue {
  readonly respondBy: Date
  readonly completeBy: Date
}

/**
 * When an order registered at `at` must be responded to and completed: the estate's policy for
 * its category and priority, else its policy for the priority, else DEFAULT_SLA.
 */
export async function slaDue(
  db: Kysely<Database>,
  estateId: string,
  category: string,
  priority: WorkOrderPriority,
  at: number,
): Promise<SlaDue> {
  const policies = await db
    .selectFrom('slaPolicies')
    .select(['category', 'respondMinutes', 'completeMinutes'])
    .where('estateId', '=', estateId)
    .where('priority', '=', priority)
    .where((eb) => eb.or([eb('category', '=', category), eb('category', 'is', null)]))
    .execute()
  const policy = policies.find((p) => p.category === category) ?? policies.find((p) => p.category === null)
  const minutes = policy
    ? { respond: policy.respondMinutes, complete: policy.completeMinutes }
    : DEFAULT_SLA[priority]
  return {
    respondBy: new Date(at + minutes.respond * 60_000),
    completeBy: new Date(at + minutes.complete * 60_000),
  }
}
