/**
 * Runs poll jobs on wall-clock aligned ticks: a 15-minute job runs at :00, :15, :30, :45, so
 * every meter of an estate has readings at the same instants (one of them the billing
 * cut-off) whatever time the gateway started. A job still running at its next tick skips
 * that tick instead of piling up behind a slow bus; skips are counted.
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
}

/** The first aligned instant strictly after `now` (aligned to the Unix epoch, i.e. UTC). */
export function nextAlignedTick(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs
}

export class PollSchedule {
  readonly #jobs: PollJob[] = []
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #running = new Set<string>()
  readonly stats = new Map<string, JobStats>()
  readonly #onError: (job: PollJob, error: unknown) => void
  readonly #now: () => number
  #stopped = false

  constructor(options: { onError: (job: PollJob, error: unknown) => void; now?: () => number }) {
    this.#onError = options.onError
    this.#now = options.now ?? Date.now
  }

  add(job: PollJob) {
    this.#jobs.push(job)
    this.stats.set(job.key, { runs: 0, skipped: 0, failures: 0, lastDurationMs: 0 })
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
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }

  /** Resolves when no job is running (for a clean shutdown). */
  async idle(pollMs = 20): Promise<void> {
    while (this.#running.size > 0) await new Promise((resolve) => setTimeout(resolve, pollMs))
  }

  #arm(job: PollJob) {
    if (this.#stopped) return
    const tick = nextAlignedTick(this.#now(), job.intervalMs)
    const timer = setTimeout(() => {
      void this.#fire(job, tick)
      this.#arm(job)
    }, tick - this.#now())
    timer.unref?.()
    this.#timers.set(job.key, timer)
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
