/**
 * Per-device (one unit on one bus) liveness, so that one dead meter cannot stall its bus
 * (node-red-contrib-modbus #409, #446): after `offlineAfterCycles` failed cycles in a row the
 * unit is offline and polled only every Mth cycle, M doubling from 2 up to `maxSkipCycles`.
 * The first answer brings it back.
 */

export interface UnitHealthPolicy {
  readonly offlineAfterCycles: number
  readonly maxSkipCycles: number
}

export const defaultUnitHealthPolicy: UnitHealthPolicy = { offlineAfterCycles: 3, maxSkipCycles: 10 }

/**
 * How a polled cycle ended: 'ok' when the unit answered anything (data or an exception),
 * 'silent' when it let requests time out (the costly failure: each costs the bus a
 * timeout), 'down' when the bus itself was unreachable (fails fast, costs the bus nothing).
 */
export type CycleOutcome = 'ok' | 'silent' | 'down'

export type CycleDecision =
  | { readonly poll: true; readonly probe: boolean }
  | { readonly poll: false; readonly reason: string }

export interface UnitStatus {
  readonly online: boolean
  readonly consecutiveFailures: number
  /** Epoch ms of the last cycle in which the unit answered; null if never. */
  readonly lastOkAt: number | null
}

export class UnitHealth {
  readonly #policy: UnitHealthPolicy
  #failures = 0
  #lastOkAt: number | null = null
  /** While offline: poll every #interval-th cycle. */
  #interval = 1
  #skipped = 0

  constructor(policy: UnitHealthPolicy = defaultUnitHealthPolicy) {
    this.#policy = policy
  }

  get online(): boolean {
    return this.#failures < this.#policy.offlineAfterCycles
  }

  status(): UnitStatus {
    return { online: this.online, consecutiveFailures: this.#failures, lastOkAt: this.#lastOkAt }
  }

  /**
   * Called at the start of each cycle. An offline unit is polled as a probe: the caller
   * sends one request without retries and goes on only if it is answered.
   */
  begin(): CycleDecision {
    if (this.online) return { poll: true, probe: false }
    if (this.#skipped + 1 >= this.#interval) {
      this.#skipped = 0
      return { poll: true, probe: true }
    }
    this.#skipped++
    const next = this.#interval - this.#skipped
    return {
      poll: false,
      reason: `unit offline after ${this.#failures} failed cycles; skipped, next probe in ${next} cycle(s)`,
    }
  }

  record(outcome: CycleOutcome, now: number): void {
    if (outcome === 'ok') {
      this.#failures = 0
      this.#lastOkAt = now
      this.#interval = 1
      this.#skipped = 0
      return
    }
    this.#failures++
    if (this.online) return
    // A bus that is down fails fast, so probing every cycle costs nothing and notices the
    // bus coming back at once; only a silent unit costs timeouts and earns the backoff.
    if (outcome === 'down') this.#interval = 1
    else this.#interval = Math.min(this.#policy.maxSkipCycles, Math.max(2, this.#interval * 2))
  }
}
