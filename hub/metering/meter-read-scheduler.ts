import type { Kysely } from 'kysely'
import type { Database } from '../store/database-schema.ts'
import { cutoffOf, lastClosedPeriod } from './cutoff.ts'
import { loadSettings } from './meter-read-inputs.ts'
import { type RunReport, runMeterReads } from './meter-read-run.ts'

/** After the cut-off, wait for the first poll after it to arrive before the first run. */
export const FIRST_RUN_DELAY_MS = 30 * 60_000
/** Stop re-running a period this long after its cut-off: by then clerks own it. */
const RUN_HORIZON_MS = 7 * 86_400_000

export interface SchedulerLog {
  info(fields: object, message: string): void
  error(fields: object, message: string): void
}

/**
 * Fills each estate's meter reads by itself: once shortly after the cut-off, and once more
 * when the tolerance window has passed (readings replayed late from a gateway's outbox then
 * improve the records the hub still owns). Runs are idempotent, so a restart simply runs the
 * current phase again.
 */
export class MeterReadScheduler {
  readonly #db: Kysely<Database>
  readonly #log: SchedulerLog
  readonly #done = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(db: Kysely<Database>, log: SchedulerLog) {
    this.#db = db
    this.#log = log
  }

  start(everyMs = 5 * 60_000) {
    const tick = () => {
      this.#running ??= this.tick()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.#log.error({ err: (error as Error).message }, 'meter reads: scheduled run failed'),
        )
        .finally(() => {
          this.#running = undefined
        })
    }
    this.#timer = setInterval(tick, everyMs)
    this.#timer.unref()
    tick()
  }

  async stop() {
    clearInterval(this.#timer)
    await this.#running
  }

  /** Runs whatever is due at `now`; returns the runs made (tests call this directly). */
  async tick(now = Date.now()): Promise<RunReport[]> {
    const estates = await this.#db
      .selectFrom('orgNodes')
      .select('id')
      .where('kind', '=', 'estate')
      .where((eb) =>
        eb.exists(eb.selectFrom('meters').select('id').whereRef('meters.estateId', '=', 'orgNodes.id')),
      )
      .execute()
    const reports: RunReport[] = []
    for (const { id } of estates) {
      const settings = await loadSettings(this.#db, id)
      const period = lastClosedPeriod(now, settings.timeZone, settings.cutoffDay)
      const cutoff = cutoffOf(period, settings.timeZone, settings.cutoffDay)
      const since = now - cutoff
      if (since > RUN_HORIZON_MS) continue
      const phase = since >= settings.windowMs ? 'final' : since >= FIRST_RUN_DELAY_MS ? 'first' : undefined
      if (phase === undefined) continue
      const key = `${id}/${period}/${phase}`
      if (this.#done.has(key)) continue
      const report = await runMeterReads(this.#db, { estateId: id, period, now })
      this.#done.add(key)
      reports.push(report)
      this.#log.info(
        {
          estateId: id,
          period,
          phase,
          created: report.created,
          updated: report.updated,
          flagged: report.flagged,
          conflicts: report.conflicts.length,
        },
        `meter reads for ${period}: ${report.created} new, ${report.updated} updated, ${report.flagged} flagged`,
      )
    }
    return reports
  }
}
