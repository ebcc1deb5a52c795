import type { Kysely } from 'kysely'
import type { JobContext } from '../kernel/hub-module.ts'
import { type LeasedJob, leasedJob } from '../kernel/job-lease.ts'
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
  signal?: AbortSignal,
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
    if (signal?.aborted) break // the lease was lost: the hub holding it now goes on
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

/**
 * Every minute, on the hub holding the job's lease: the daily late-fee accrual of each estate
 * at its configured local time. The lease saves the other hubs the work; what makes a day
 * accrue once is the estate lock and `late_fee_runs` above, even if two ran.
 */
export function lateFeeAccrualJob(context: JobContext, intervalMs = 60_000): LeasedJob {
  const { db, log } = context
  return leasedJob(context, {
    name: 'late-fee accrual',
    everyMs: intervalMs,
    run: async (signal) => {
      for (const r of await accrueDueEstates(db, new Date(), signal))
        if (r.lines > 0) log.info({ ...r, hubId: context.hubId }, 'late fees accrued for the day')
    },
  })
}
