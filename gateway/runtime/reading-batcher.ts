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
  readonly #sink: (batch: BatchContent) => Promise<void>
  #readings: Reading[] = []
  #events: DeviceEvent[] = []
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor(options: {
    maxReadings: number
    maxEvents?: number
    lingerMs: number
    sink: (batch: BatchContent) => Promise<void>
  }) {
    this.#maxReadings = options.maxReadings
    this.#maxEvents = options.maxEvents ?? 1000
    this.#lingerMs = options.lingerMs
    this.#sink = options.sink
  }

  addReadings(readings: readonly Reading[]) {
    for (const reading of readings) {
      this.#readings.push(reading)
      if (this.#readings.length >= this.#maxReadings) void this.flush()
    }
    this.#armLinger()
  }

  addEvent(event: DeviceEvent) {
    this.#events.push(event)
    if (this.#events.length >= this.#maxEvents) void this.flush()
    this.#armLinger()
  }

  get pending(): number {
    return this.#readings.length + this.#events.length
  }

  /** Closes the current batch and hands it to the sink; resolves when it is stored. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#readings.length === 0 && this.#events.length === 0) return this.#flushing
    const batch = { readings: this.#readings, events: this.#events }
    this.#readings = []
    this.#events = []
    // A failed batch (outbox full) fails its own flush, not every later one.
    this.#flushing = this.#flushing.catch(() => {}).then(() => this.#sink(batch))
    return this.#flushing
  }

  #armLinger() {
    if (this.#timer || this.pending === 0) return
    this.#timer = setTimeout(() => void this.flush().catch(() => {}), this.#lingerMs)
    this.#timer.unref?.()
  }
}
