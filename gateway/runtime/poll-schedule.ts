/**
 * Runs poll jobs on wall-clock aligned ticks: a 15-minute job runs at :00, :15, :30, :45, so
 * every meter of an estate has readings at the same instants (one of them the billing
 * cut-off) whatever time the gateway started. A job still running at its next tick skips
 * that tick instead of piling up behind a slow bus; skips are counted.
 *
 * No tick runs twice, whatever the timer or the clock does. Timers run on the monotonic clock
 * and ticks on the wall clock, so a timer may fire a millisecond before its tick by Date.now():
 * it then waits out the rest instead of running early (a reading at 11:59:59.999 belongs to
 * the period before the cut-off) and re-arming to the same tick. Each job remembers the last
 * tick it ran and only ever moves to a tick strictly after it: a clock set back waits until it
 * passes that tick again (those instants were read); a clock set forward runs the latest tick
 * passed, once, and counts the others as skipped. Sleeps are capped (`maxSleepMs`), so a clock
 * that jumps while a timer waits is noticed within that time.
 */
export interface PollJob {
  readonly key: string
  readonly intervalMs: number
  run(tick: number): Promise<void>
}

export interface JobStats {
  runs: number
  skipped: number
  failures: number
  lastDurationMs: number
  /** The last aligned tick run (0 before the first). */
  lastTick: number
}

/** How the schedule waits; tests inject one that fires when they say. */
export interface ScheduleTimer {
  set(fire: () => void, ms: number): unknown
  clear(handle: unknown): void
}

const nodeTimer: ScheduleTimer = {
  set(fire, ms) {
    const timer = setTimeout(fire, ms)
    // A gateway stops by its own close(); pending polls do not keep a process alive.
    timer.unref?.()
    return timer
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** The first aligned instant strictly after `now` (aligned to the Unix epoch, i.e. UTC). */
export function nextAlignedTick(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs
}

export class PollSchedule {
  readonly #jobs: PollJob[] = []
  readonly #timers = new Map<string, unknown>()
  readonly #running = new Set<string>()
  readonly stats = new Map<string, JobStats>()
  readonly #onError: (job: PollJob, error: unknown) => void
  readonly #now: () => number
  readonly #timer: ScheduleTimer
  readonly #maxSleepMs: number
  #stopped = false

  constructor(options: {
    onError: (job: PollJob, error: unknown) => void
    now?: () => number
    timer?: ScheduleTimer
    /** The longest a job sleeps before looking at the clock again; default 60 s. */
    maxSleepMs?: number
  }) {
    this.#onError = options.onError
    this.#now = options.now ?? Date.now
    this.#timer = options.timer ?? nodeTimer
    this.#maxSleepMs = options.maxSleepMs ?? 60_000
  }

  add(job: PollJob) {
    this.#jobs.push(job)
    this.stats.set(job.key, { runs: 0, skipped: 0, failures: 0, lastDurationMs: 0, lastTick: 0 })
  }

  /** Starts every job: once now (so a fresh gateway reports at once), then on aligned ticks. */
  start() {
    for (const job of this.#jobs) {
      void this.#fire(job, this.#now())
      this.#arm(job)
    }
  }

  /** Runs every job once now and waits for all of them (gateway check, tests). */
  async runOnce(): Promise<void> {
    await Promise.all(this.#jobs.map((job) => this.#fire(job, this.#now())))
  }

  stop() {
    this.#stopped = true
    for (const handle of this.#timers.values()) this.#timer.clear(handle)
    this.#timers.clear()
  }

  /** Resolves when no job is running (for a clean shutdown). */
  async idle(pollMs = 20): Promise<void> {
    while (this.#running.size > 0) await new Promise((resolve) => setTimeout(resolve, pollMs))
  }

  /** Arms the job's timer for its next tick: strictly after the last one run, and after now. */
  #arm(job: PollJob) {
    if (this.#stopped) return
    const stats = this.stats.get(job.key)!
    const tick = nextAlignedTick(Math.max(this.#now(), stats.lastTick), job.intervalMs)
    this.#wait(job, tick)
  }

  #wait(job: PollJob, tick: number) {
    if (this.#stopped) return
    const ms = Math.min(Math.max(tick - this.#now(), 0), this.#maxSleepMs)
    this.#timers.set(
      job.key,
      this.#timer.set(() => this.#due(job, tick), ms),
    )
  }

  /** The timer fired: run the tick if the wall clock has reached it, else wait on. */
  #due(job: PollJob, tick: number) {
    if (this.#stopped) return
    const now = this.#now()
    if (now < tick) {
      // Early (timer rounding), or the clock was set back: the tick has not come yet.
      this.#wait(job, tick)
      return
    }
    const stats = this.stats.get(job.key)!
    // Late (a clock set forward, a blocked loop): run the latest tick passed, once.
    const latest = Math.floor(now / job.intervalMs) * job.intervalMs
    const missed = Math.max(0, Math.round((latest - tick) / job.intervalMs))
    stats.skipped += missed
    stats.lastTick = latest
    void this.#fire(job, latest)
    this.#arm(job)
  }

  async #fire(job: PollJob, tick: number) {
    const stats = this.stats.get(job.key)!
    if (this.#running.has(job.key)) {
      stats.skipped++
      return
    }
    this.#running.add(job.key)
    const started = this.#now()
    try {
      await job.run(tick)
      stats.runs++
    } catch (error) {
      stats.failures++
      this.#onError(job, error)
    } finally {
      stats.lastDurationMs = this.#now() - started
      this.#running.delete(job.key)
    }
  }
}
