import type { Kysely } from 'kysely'
import type { JobContext } from '../kernel/hub-module.ts'
import { doneKeys, forgetDoneOlderThan, type LeasedJob, leasedJob, markDone } from '../kernel/job-lease.ts'
import type { Database } from '../store/database-schema.ts'
import { cutoffOf, lastClosedPeriod } from './cutoff.ts'
import { loadSettings } from './meter-read-inputs.ts'
import { type RunReport, runMeterReads } from './meter-read-run.ts'

/** After the cut-off, wait for the first poll after it to arrive before the first run. */
export const FIRST_RUN_DELAY_MS = 30 * 60_000
/** Stop re-running a period this long after its cut-off: by then clerks own it. */
const RUN_HORIZON_MS = 7 * 86_400_000
/** The job's name: its lease, its cadence key, and its `job_done` keys. */
export const METER_READ_JOB = 'meter-read scheduler'

export interface SchedulerLog {
  info(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** meter_reads' one record per meter and period (migration 0002). */
const ONE_READ_PER_PERIOD = 'meter_reads_meter_id_period_key'

/**
 * runMeterReads, when another run of the same estate and period may be going on (the scheduler
 * on some hub, a clerk's "run" button, a second click). Both compute against the records that
 * existed when they started. The set-based run leaves a record the other inserted meanwhile
 * (`on conflict do nothing`); the run before it stopped on meter_reads' (meter, period) key
 * once the other had committed, and the API answered that 23505 with a 409 "a record with this
 * value already exists" naming `period`, which sent clerks looking for a wrong field. Should a
 * write still meet the key, the records it meant to create now exist: running again computes
 * against them and answers with a report, never that 409.
 */
export async function runMeterReadsBesideOthers(
  db: Kysely<Database>,
  options: Parameters<typeof runMeterReads>[1],
): Promise<RunReport> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runMeterReads(db, options)
    } catch (error) {
      const e = error as { code?: string; constraint?: string }
      // Each retry starts after a run that committed: a third collision would need a third run.
      if (e.code !== '23505' || e.constraint !== ONE_READ_PER_PERIOD || attempt >= 3) throw error
    }
  }
}

/**
 * Fills each estate's meter reads by itself: once shortly after the cut-off, and once more
 * when the tolerance window has passed (readings replayed late from a gateway's outbox then
 * improve the records the hub still owns). Each phase done is recorded in `job_done`, so
 * neither a restart nor another hub runs it again; the job runs on the hub holding its lease.
 */
export class MeterReadScheduler {
  readonly #db: Kysely<Database>
  readonly #log: SchedulerLog
  readonly #hubId: string

  constructor(db: Kysely<Database>, log: SchedulerLog, options: { readonly hubId?: string } = {}) {
    this.#db = db
    this.#log = log
    this.#hubId = options.hubId ?? 'unnamed hub'
  }

  /**
   * Runs whatever is due at `now` and not done yet; returns the runs made (tests call this
   * directly). `signal` stops it between two estates (the lease was lost).
   */
  async tick(now = Date.now(), signal?: AbortSignal): Promise<RunReport[]> {
    const estates = await this.#db
      .selectFrom('orgNodes')
      .select('id')
      .where('kind', '=', 'estate')
      .where((eb) =>
        eb.exists(eb.selectFrom('meters').select('id').whereRef('meters.estateId', '=', 'orgNodes.id')),
      )
      .execute()
    const due: { estateId: string; period: string; phase: 'first' | 'final'; key: string }[] = []
    for (const { id } of estates) {
      const settings = await loadSettings(this.#db, id)
      const period = lastClosedPeriod(now, settings.timeZone, settings.cutoffDay)
      const cutoff = cutoffOf(period, settings.timeZone, settings.cutoffDay)
      const since = now - cutoff
      if (since > RUN_HORIZON_MS) continue
      const phase = since >= settings.windowMs ? 'final' : since >= FIRST_RUN_DELAY_MS ? 'first' : undefined
      if (phase === undefined) continue
      due.push({ estateId: id, period, phase, key: `${id}/${period}/${phase}` })
    }
    const done = await doneKeys(
      this.#db,
      METER_READ_JOB,
      due.map((d) => d.key),
    )
    const reports: RunReport[] = []
    for (const { estateId, period, phase, key } of due) {
      if (done.has(key)) continue
      if (signal?.aborted) break
      const report = await runMeterReadsBesideOthers(this.#db, { estateId, period, now })
      // Recorded after the run: a hub dying mid-run leaves the phase to be run again.
      await markDone(this.#db, METER_READ_JOB, key, this.#hubId)
      reports.push(report)
      this.#log.info(
        {
          estateId,
          period,
          phase,
          hubId: this.#hubId,
          created: report.created,
          updated: report.updated,
          flagged: report.flagged,
          conflicts: report.conflicts.length,
        },
        `meter reads for ${period}: ${report.created} new, ${report.updated} updated, ${report.flagged} flagged`,
      )
    }
    // Phases past the horizon are never due again: their keys can go (the database's clock).
    await forgetDoneOlderThan(this.#db, METER_READ_JOB, 60 * 86_400_000)
    return reports
  }
}

/** The scheduler as a hub job: every 5 minutes, on the hub that holds its lease. */
export function meterReadSchedulerJob(context: JobContext): LeasedJob {
  const scheduler = new MeterReadScheduler(context.db, context.log, { hubId: context.hubId })
  return leasedJob(context, {
    name: METER_READ_JOB,
    everyMs: 5 * 60_000,
    atStart: true,
    run: async (signal) => {
      await scheduler.tick(Date.now(), signal)
    },
  })
}
