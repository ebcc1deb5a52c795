/**
 * Every confirmed request of the driver goes through one gate that
 * - bounds the requests in flight, over the driver and per device;
 * - hands out invoke ids itself (§5.4: an invoke id identifies a request to its peer).
 *
 * The library keeps one 8-bit counter for all peers and matches replies by invoke id alone, so
 * 256 requests in flight, or a late reply to a request that timed out, would resolve the wrong
 * promise. We pass our own ids: 1–255 (the library treats 0 as "none given"), reused in FIFO
 * order, so an id comes back only after the 254 others were used, long after any late reply.
 * A retry after a timeout keeps its id, as §5.4.4.1 asks.
 */
import { classifyFailure } from './bacnet-errors.ts'

class Semaphore {
  readonly #limit: number
  readonly #waiting: Array<() => void> = []
  #active = 0

  constructor(limit: number) {
    this.#limit = limit
  }

  get idle(): boolean {
    return this.#active === 0 && this.#waiting.length === 0
  }

  async acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active++
      return
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  release(): void {
    const next = this.#waiting.shift()
    // hand the slot straight over, so a newcomer cannot jump the queue
    if (next) next()
    else this.#active--
  }
}

export const MAX_INVOKE_IDS = 255

export class RequestGate {
  readonly #global: Semaphore
  readonly #perDeviceLimit: number
  readonly #devices = new Map<string, Semaphore>()
  readonly #freeIds: number[] = []
  readonly #retries: number

  constructor(opts: { maxInFlight: number; maxInFlightPerDevice: number; retries: number }) {
    const limit = Math.min(Math.max(1, Math.floor(opts.maxInFlight)), 200)
    this.#global = new Semaphore(limit)
    this.#perDeviceLimit = Math.max(1, Math.floor(opts.maxInFlightPerDevice))
    this.#retries = Math.max(0, Math.floor(opts.retries))
    for (let id = 1; id <= MAX_INVOKE_IDS; id++) this.#freeIds.push(id)
  }

  get attempts(): number {
    return this.#retries + 1
  }

  /**
   * Runs `send(invokeId)` once a slot is free for the device and for the driver; retries it
   * with the same id after a timeout. Other failures are thrown at once.
   */
  async run<T>(deviceKey: string, send: (invokeId: number) => Promise<T>): Promise<T> {
    const device = this.#deviceSemaphore(deviceKey)
    await device.acquire()
    await this.#global.acquire()
    const invokeId = this.#freeIds.shift()
    try {
      if (invokeId === undefined) throw new Error('no free invoke id (more than 255 requests in flight)')
      for (let attempt = 0; ; attempt++) {
        try {
          return await send(invokeId)
        } catch (err) {
          if (attempt >= this.#retries || classifyFailure(err).kind !== 'timeout') throw err
        }
      }
    } finally {
      if (invokeId !== undefined) this.#freeIds.push(invokeId)
      this.#global.release()
      device.release()
      if (device.idle) this.#devices.delete(deviceKey)
    }
  }

  #deviceSemaphore(key: string): Semaphore {
    let s = this.#devices.get(key)
    if (!s) {
      s = new Semaphore(this.#perDeviceLimit)
      this.#devices.set(key, s)
    }
    return s
  }
}
