import type { DeviceEvent, Reading } from '../../drivers/driver-types.ts'

export interface BatchContent {
  readonly readings: readonly Reading[]
  readonly events: readonly DeviceEvent[]
}

/**
 * Gathers readings and events from all poll jobs into batches: a batch is closed when it
 * holds `maxReadings`, or `lingerMs` after its first item, so a poll cycle of 1,000 meters
 * becomes a few large batches instead of 1,000 small ones. Flushes are serialised, so the
 * order in which batches reach the sink (the outbox) is the order they were closed.
 */
export class ReadingBatcher {
  readonly #maxReadings: number
  readonly #maxEvents: number
  readonly #lingerMs: number
  readonly #urgentLingerMs: number
  readonly #isUrgent: (event: DeviceEvent) => boolean
  readonly #sink: (batch: BatchContent) => Promise<void>
  #readings: Reading[] = []
  #events: DeviceEvent[] = []
  #timer: NodeJS.Timeout | undefined
  #timerDue = 0
  #flushing: Promise<void> = Promise.resolve()

  constructor(options: {
    maxReadings: number
    maxEvents?: number
    lingerMs: number
    /**
     * How long an urgent event (a forced door, an alarm input) may wait: the batch goes after
     * this instead of the full linger, so an alarm is not held back by the reading cadence.
     */
    urgentLingerMs?: number
    isUrgent?: (event: DeviceEvent) => boolean
    sink: (batch: BatchContent) => Promise<void>
  }) {
    this.#maxReadings = options.maxReadings
    this.#maxEvents = options.maxEvents ?? 1000
    this.#lingerMs = options.lingerMs
    this.#urgentLingerMs = options.urgentLingerMs ?? options.lingerMs
    this.#isUrgent = options.isUrgent ?? (() => false)
    this.#sink = options.sink
  }

  addReadings(readings: readonly Reading[]) {
    for (const reading of readings) {
      this.#readings.push(reading)
      if (this.#readings.length >= this.#maxReadings) void this.flush()
    }
    this.#armLinger(this.#lingerMs)
  }

  addEvent(event: DeviceEvent) {
    this.#events.push(event)
    if (this.#events.length >= this.#maxEvents) void this.flush()
    this.#armLinger(this.#isUrgent(event) ? this.#urgentLingerMs : this.#lingerMs)
  }

  get pending(): number {
    return this.#readings.length + this.#events.length
  }

  /** Closes the current batch and hands it to the sink; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerDue = 0
    if (this.#readings.length === 0 && this.#events.length === 0) return this.#flushing
    const batch = { readings: this.#readings, events: this.#events }
    this.#readings = []
    this.#events = []
    // A failed batch (outbox full) fails its own flush, not every later one.
    this.#flushing = this.#flushing.catch(() => {}).then(() => this.#sink(batch))
    return this.#flushing
  }

  /** Arms the flush timer, or brings an armed one forward when this item may not wait as long. */
  #armLinger(lingerMs = this.#lingerMs) {
    if (this.pending === 0) return
    const due = Date.now() + lingerMs
    if (this.#timer) {
      if (due >= this.#timerDue) return
      clearTimeout(this.#timer)
    }
    this.#timerDue = due
    this.#timer = setTimeout(() => void this.flush().catch(() => {}), lingerMs)
    this.#timer.unref?.()
  }
}
