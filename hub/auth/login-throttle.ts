/**
 * Locks a username after repeated failed logins, in memory. A hub restart clears it, which is
 * acceptable: the lock slows guessing, the scrypt cost does the rest.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, { count: number; lockedUntil: number }>()
  readonly #maxFailures: number
  readonly #lockMs: number

  constructor(maxFailures: number, lockMinutes: number) {
    this.#maxFailures = maxFailures
    this.#lockMs = lockMinutes * 60_000
  }

  /** Milliseconds until the username may try again; 0 when not locked. */
  lockedFor(username: string, now = Date.now()): number {
    const entry = this.#failures.get(username.toLowerCase())
    return entry && entry.lockedUntil > now ? entry.lockedUntil - now : 0
  }

  failed(username: string, now = Date.now()) {
    const key = username.toLowerCase()
    const entry = this.#failures.get(key) ?? { count: 0, lockedUntil: 0 }
    entry.count += 1
    if (entry.count >= this.#maxFailures) {
      entry.lockedUntil = now + this.#lockMs
      entry.count = 0
    }
    this.#failures.set(key, entry)
    if (this.#failures.size > 100_000) this.#failures.delete(this.#failures.keys().next().value!)
  }

  succeeded(username: string) {
    this.#failures.delete(username.toLowerCase())
  }
}
