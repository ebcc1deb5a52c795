/**
 * The simulator's COV subscriptions (§13.14 SubscribeCOV): keyed by subscriber address, process
 * id and monitored object (§13.14.1.1); a subscription ends when its lifetime is over
 * (§13.14.1.1.4; lifetime 0 means indefinite) or on cancellation (§13.14.1.1.3).
 */
import { normalizeAddress, objectTypeName } from '../bacnet-names.ts'
import type { SimObject } from './bacnet-sim-object-table.ts'

export interface SimSubscription {
  readonly subscriber: string
  readonly processId: number
  readonly objectType: string
  readonly instance: number
  readonly confirmed: boolean
  readonly lifetimeSeconds: number
  readonly expiresAt: number
  /** Subscriptions after the first one (renewals before expiry). */
  readonly renewals: number
}

export interface SimSub {
  readonly address: string
  readonly processId: number
  readonly obj: SimObject
  readonly confirmed: boolean
  readonly lifetime: number
  readonly expiresAt: number
  readonly renewals: number
}

export class SimCovRegistry {
  readonly #subs = new Map<string, SimSub>()

  #key(address: string, processId: number, obj: SimObject): string {
    return `${normalizeAddress(address)}|${processId}|${obj.type}:${obj.instance}`
  }

  /** Adds or renews a subscription; a renewal after expiry starts afresh. */
  upsert(address: string, processId: number, obj: SimObject, confirmed: boolean, lifetime: number): SimSub {
    this.active()
    const key = this.#key(address, processId, obj)
    const existing = this.#subs.get(key)
    const sub: SimSub = {
      address,
      processId,
      obj,
      confirmed,
      lifetime,
      expiresAt: lifetime === 0 ? Number.POSITIVE_INFINITY : Date.now() + lifetime * 1000,
      renewals: existing ? existing.renewals + 1 : 0,
    }
    this.#subs.set(key, sub)
    return sub
  }

  /** Cancelling an unknown subscription succeeds too (§13.14.1.1.3). */
  cancel(address: string, processId: number, obj: SimObject): void {
    this.#subs.delete(this.#key(address, processId, obj))
  }

  /** Live subscriptions; expired ones are forgotten on the way. */
  active(): SimSub[] {
    const now = Date.now()
    for (const [key, s] of this.#subs) if (s.expiresAt <= now) this.#subs.delete(key)
    return [...this.#subs.values()]
  }

  /** Seconds left, as a notification reports it (§13.6.1.5); 0 for an indefinite one. */
  static timeRemaining(s: SimSub): number {
    return s.lifetime === 0 ? 0 : Math.max(0, Math.ceil((s.expiresAt - Date.now()) / 1000))
  }

  list(): SimSubscription[] {
    return this.active().map((s) => ({
      subscriber: s.address,
      processId: s.processId,
      objectType: objectTypeName(s.obj.type),
      instance: s.obj.instance,
      confirmed: s.confirmed,
      lifetimeSeconds: s.lifetime,
      expiresAt: s.expiresAt,
      renewals: s.renewals,
    }))
  }

  clear(): void {
    this.#subs.clear()
  }
}
