import type { Kysely } from 'kysely'
import type { HubJob, JobContext } from '../kernel/hub-module.ts'
import { zoneOffsetMs } from '../metering/cutoff.ts'
import { DEFAULT_TIME_ZONE } from '../metering/meter-read-inputs.ts'
import type { Database } from '../store/database-schema.ts'
import { accrueLateFees, type LateFeeReport } from './late-fees.ts'

/**
 * Accrues, for each estate whose accrual time (`late_fee_accrual_time`, local) has come today
 * and whose today is not accrued yet, late fees as of its local today. Several hubs may run
 * this at once: accrueLateFees takes the estate's lock and leaves a date that was accrued.
 */
export async function accrueDueEstates(
  db: Kysely<Database>,
  now: Date,
): Promise<(LateFeeReport & { estateId: string })[]> {
  const estates = await db
    .selectFrom('orgNodes as o')
    .select([
      'o.id',
      'o.timezone',
      'o.lateFeeAccrualTime',
      (eb) =>
        eb
          .selectFrom('lateFeeRuns as r')
          .select((e) => e.fn.max('r.asOf').as('last'))
          .whereRef('r.estateId', '=', 'o.id')
          .as('lastAsOf'),
    ])
    .where('o.kind', '=', 'estate')
    .execute()
  const reports = []
  for (const estate of estates) {
    const ms = now.getTime()
    const local = new Date(ms + zoneOffsetMs(ms, estate.timezone ?? DEFAULT_TIME_ZONE)).toISOString()
    const today = local.slice(0, 10)
    if (local.slice(11, 16) < estate.lateFeeAccrualTime) continue
    if (estate.lastAsOf !== null && String(estate.lastAsOf) >= today) continue
    const report = await accrueLateFees(db, estate.id, today, null, { oncePerDate: true })
    reports.push({ ...report, estateId: estate.id })
  }
  return reports
}

/** Every minute: the daily late-fee accrual of each estate at its configured local time. */
export function lateFeeAccrualJob({ db, log }: JobContext, intervalMs = 60_000): HubJob {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let busy = false
  return {
    name: 'late-fee accrual',
    start() {
      timer = setInterval(() => {
        // A slow accrual (a large estate) is not started twice by this hub.
        if (busy) return
        busy = true
        running = accrueDueEstates(db, new Date())
          .then((reports) => {
            for (const r of reports) if (r.lines > 0) log.info(r, 'late fees accrued for the day')
          })
          .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'late fees: accrual failed'))
          .finally(() => {
            busy = false
          })
      }, intervalMs)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
