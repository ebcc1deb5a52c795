import type { JobContext } from '../kernel/hub-module.ts'
import { type LeasedJob, leasedJob } from '../kernel/job-lease.ts'
import { escalateBreaches } from './sla-watch.ts'

/**
 * Every minute, on the hub holding the job's lease: escalates work orders past their SLA, and
 * wakes the notifications it queued. (escalateBreaches locks the orders it escalates, so two
 * hubs could not escalate one twice; the lease spares the others the same scan.)
 */
export function slaEscalationJob(context: JobContext, intervalMs = 60_000): LeasedJob {
  const { db, log, notifications } = context
  return leasedJob(context, {
    name: 'sla escalation',
    everyMs: intervalMs,
    run: async () => {
      const escalated = await escalateBreaches(db, new Date())
      for (const e of escalated)
        log.warn({ ...e, hubId: context.hubId }, 'work order escalated: SLA exceeded')
      if (escalated.length > 0) notifications.poke()
    },
  })
}
