/**
 * A counting semaphore: at most `limit` holders at once, the rest wait in FIFO order.
 * The driver shares one across its network buses so that thousands of meters behind
 * hundreds of converters do not open hundreds of requests at the same moment.
 */
export class ConcurrencyLimit {
  readonly #limit: number
  readonly #waiting: Array<() => void> = []
  #active = 0

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`bad concurrency limit ${limit}`)
    this.#limit = limit
  }

  get active(): number {
    return this.#active
  }

  /** Runs `task` once a slot is free, and frees the slot when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#active++
    }
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      // Hand the slot straight to the next waiter, so #active never dips and lets a
      // newcomer jump the line.
      if (next) next()
      else this.#active--
    }
  }
}
