/**
 * The one-request-per-bus queue of every serial (RS-485) protocol: a FIFO that runs one task
 * at a time, with an idle gap between the end of one task and the start of the next (the
 * line's framing silence, line-timing.ts). On a multi-drop line only one master request may
 * be on the wire, and a reply is told apart from the next request only by the silence
 * between them. Modbus RTU uses it today (modbus/serial-queue.ts); DL/T 645 and CJ/T 188
 * meters, on the same kind of line, will too.
 */

export interface BusQueueOptions {
  /** Least idle time between two tasks, e.g. the RTU inter-frame silence. */
  readonly gapMs?: number
  /** Monotonic clock in ms; injectable for tests. */
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
  /** The error tasks still waiting get when the queue closes: the protocol's own coded one. */
  readonly closedError?: () => Error
}

/** Thrown for tasks still waiting when the queue is closed, unless the protocol gives its own. */
export class BusClosedError extends Error {
  readonly code = 'EH_ERR_BUS_CLOSED'
  constructor() {
    super('bus closed')
    this.name = 'BusClosedError'
  }
}

interface Job {
  readonly task: () => Promise<unknown>
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  readonly signal: AbortSignal | undefined
  readonly onAbort: () => void
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class BusQueue {
  readonly #jobs: Job[] = []
  readonly #gapMs: number
  readonly #now: () => number
  readonly #sleep: (ms: number) => Promise<void>
  readonly #closedError: () => Error
  #running = false
  #closed = false
  #lastEndAt = Number.NEGATIVE_INFINITY

  constructor(options: BusQueueOptions = {}) {
    this.#gapMs = options.gapMs ?? 0
    this.#now = options.now ?? (() => performance.now())
    this.#sleep = options.sleep ?? defaultSleep
    this.#closedError = options.closedError ?? (() => new BusClosedError())
  }

  /** Tasks waiting plus the one running. */
  get size(): number {
    return this.#jobs.length + (this.#running ? 1 : 0)
  }

  /**
   * Runs `task` after every task queued before it. An aborted signal removes a waiting task
   * (rejecting with the signal's reason); a running task is not interrupted.
   */
  run<T>(task: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const { signal } = options
    if (this.#closed) return Promise.reject(this.#closedError())
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        task,
        resolve: resolve as (value: unknown) => void,
        reject,
        signal,
        onAbort: () => {
          const at = this.#jobs.indexOf(job)
          if (at >= 0) {
            this.#jobs.splice(at, 1)
            reject(signal?.reason)
          }
        },
      }
      signal?.addEventListener('abort', job.onAbort, { once: true })
      this.#jobs.push(job)
      if (!this.#running) void this.#pump()
    })
  }

  /** Rejects every waiting task; the running one finishes. Later `run` calls reject at once. */
  close(): void {
    this.#closed = true
    for (const job of this.#jobs.splice(0)) {
      job.signal?.removeEventListener('abort', job.onAbort)
      job.reject(this.#closedError())
    }
  }

  async #pump(): Promise<void> {
    this.#running = true
    try {
      for (let job = this.#jobs[0]; job; job = this.#jobs[0]) {
        const wait = this.#lastEndAt + this.#gapMs - this.#now()
        // Node truncates fractional timer delays, so round up to never undercut the gap.
        if (wait > 0) await this.#sleep(Math.ceil(wait))
        // The job may have been aborted or the queue closed during the gap.
        if (this.#jobs[0] !== job) continue
        this.#jobs.shift()
        job.signal?.removeEventListener('abort', job.onAbort)
        try {
          job.resolve(await job.task())
        } catch (error) {
          job.reject(error)
        } finally {
          this.#lastEndAt = this.#now()
        }
      }
    } finally {
      this.#running = false
    }
  }
}
