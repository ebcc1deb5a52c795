import type { HubJob, JobContext } from '../kernel/hub-module.ts'
import { escalateBreaches } from './sla-watch.ts'

/** Every minute: escalates work orders past their SLA, and wakes the notifications it queued. */
export function slaEscalationJob({ db, log, notifications }: JobContext, intervalMs = 60_000): HubJob {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  return {
    name: 'sla escalation',
    start() {
      timer = setInterval(() => {
        running = escalateBreaches(db, new Date())
          .then((escalated) => {
            for (const e of escalated) log.warn(e, 'work order escalated: SLA exceeded')
            if (escalated.length > 0) notifications.poke()
          })
          .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'sla: check failed'))
      }, intervalMs)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
