import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database } from '../store/database-schema.ts'

/**
 * Failed logins, counted in the database (table login_throttle, migration 0010) so every hub on
 * one database sees the same counts and a restart forgets nothing. Nothing here locks an
 * account: a key that failed too often waits a delay that doubles with each further failure,
 * and the counts that anyone can raise for someone else's account (`account`) stay mild, so an
 * outsider can slow a login by seconds at most, never lock it out (docs/operations.md,
 * "Login throttling").
 */
export const throttleKinds = [
  // One username from one address: a guesser at one account. Grows quickly.
  'account-address',
  // Every username from one address: password spraying. More room: an office behind one NAT.
  'address',
  // One username from every address: only mild, since any outsider can raise it.
  'account',
  // The embedded MQTT broker: one gateway code from one address, and every code from one address.
  'mqtt-gateway-address',
  'mqtt-address',
] as const
export type ThrottleKind = (typeof throttleKinds)[number]

export interface ThrottlePolicy {
  /** Failures in a window answered without delay. */
  readonly free: number
  /** The delay after the first failure beyond `free`; each further one doubles it. */
  readonly firstDelayMs: number
  readonly maxDelayMs: number
  /** Counting starts afresh a window after its first failure. */
  readonly windowMs: number
}

const MINUTE = 60_000

export const defaultThrottlePolicies: Readonly<Record<ThrottleKind, ThrottlePolicy>> = {
  'account-address': { free: 5, firstDelayMs: 1_000, maxDelayMs: 15 * MINUTE, windowMs: 60 * MINUTE },
  address: { free: 20, firstDelayMs: 1_000, maxDelayMs: 15 * MINUTE, windowMs: 60 * MINUTE },
  account: { free: 50, firstDelayMs: 1_000, maxDelayMs: 5_000, windowMs: 60 * MINUTE },
  'mqtt-gateway-address': { free: 5, firstDelayMs: 1_000, maxDelayMs: 5 * MINUTE, windowMs: 60 * MINUTE },
  'mqtt-address': { free: 50, firstDelayMs: 1_000, maxDelayMs: 10_000, windowMs: 60 * MINUTE },
}

export interface ThrottleKey {
  readonly kind: ThrottleKind
  readonly key: string
}

/** One username from one address: what a successful login clears. */
export function accountAddressKey(username: string, address: string): ThrottleKey {
  // A space separates: neither a username nor an address holds one.
  return { kind: 'account-address', key: `${address} ${username.toLowerCase()}` }
}

/** The keys one API login attempt is counted under. Usernames compare case-insensitively. */
export function loginKeys(username: string, address: string): ThrottleKey[] {
  return [
    accountAddressKey(username, address),
    { kind: 'address', key: address },
    { kind: 'account', key: username.toLowerCase() },
  ]
}

/** The keys one MQTT login attempt on the embedded broker is counted under. */
export function gatewayLoginKeys(code: string, address: string): ThrottleKey[] {
  return [
    { kind: 'mqtt-gateway-address', key: `${address} ${code}` },
    { kind: 'mqtt-address', key: address },
  ]
}

// Rows whose window ended this long ago say nothing any more (windows are an hour, delays less).
const FORGET_AFTER = sql`interval '1 day'`

export class LoginThrottle {
  readonly #db: Kysely<Database>
  readonly #policies: Readonly<Record<ThrottleKind, ThrottlePolicy>>

  constructor(db: Kysely<Database>, policies: Partial<Record<ThrottleKind, ThrottlePolicy>> = {}) {
    this.#db = db
    this.#policies = { ...defaultThrottlePolicies, ...policies }
  }

  /** Whole seconds until these keys may try again (the longest of their delays); 0: now. */
  async waitSeconds(keys: readonly ThrottleKey[]): Promise<number> {
    if (keys.length === 0) return 0
    const row = await this.#db
      .selectFrom('loginThrottle')
      .select(sql<number>`ceil(extract(epoch from max(next_allowed_at) - now()))::int`.as('wait'))
      .where((eb) => eb.or(keys.map(({ kind, key }) => eb.and([eb('kind', '=', kind), eb('key', '=', key)]))))
      .where('nextAllowedAt', '>', sql<Date>`now()`)
      .executeTakeFirst()
    return Math.max(0, Number(row?.wait ?? 0))
  }

  /**
   * Counts one failure under every key, atomically (one upsert each: concurrent hubs and
   * requests add up exactly), and answers the longest delay it set, in whole seconds.
   */
  async failed(keys: readonly ThrottleKey[]): Promise<number> {
    let wait = 0
    for (const { kind, key } of keys) {
      const policy = this.#policies[kind]
      // The window restarts when its first failure is older than windowMs; the row's old values
      // are what every expression in the update reads.
      const expired = sql`login_throttle.window_started_at < now() - ${policy.windowMs}::double precision * interval '1 millisecond'`
      const count = sql<number>`(case when ${expired} then 1 else login_throttle.failures + 1 end)`
      const nextAllowed = (failures: RawBuilder<number>) =>
        sql<Date>`now() + (case when ${failures} <= ${policy.free}::int then 0
          else least(${policy.maxDelayMs}::double precision,
            ${policy.firstDelayMs}::double precision * power(2, least(${failures} - ${policy.free}::int - 1, 40)))
          end) * interval '1 millisecond'`
      const row = await this.#db
        .insertInto('loginThrottle')
        .values({
          kind,
          key,
          failures: 1,
          windowStartedAt: sql<Date>`now()`,
          nextAllowedAt: nextAllowed(sql<number>`1`),
        })
        .onConflict((oc) =>
          oc.columns(['kind', 'key']).doUpdateSet({
            failures: count,
            windowStartedAt: sql<Date>`case when ${expired} then now() else login_throttle.window_started_at end`,
            nextAllowedAt: nextAllowed(count),
          }),
        )
        .returning(sql<number>`ceil(extract(epoch from next_allowed_at - now()))::int`.as('wait'))
        .executeTakeFirstOrThrow()
      wait = Math.max(wait, Number(row.wait))
    }
    // Tidied on write: failures are what fills the table.
    await this.#db
      .deleteFrom('loginThrottle')
      .where('windowStartedAt', '<', sql<Date>`now() - ${FORGET_AFTER}`)
      .where('nextAllowedAt', '<', sql<Date>`now()`)
      .execute()
    return wait
  }

  /** Forgets the failures under these keys (a successful login clears its own pair). */
  async cleared(keys: readonly ThrottleKey[]): Promise<void> {
    if (keys.length === 0) return
    await this.#db
      .deleteFrom('loginThrottle')
      .where((eb) => eb.or(keys.map(({ kind, key }) => eb.and([eb('kind', '=', kind), eb('key', '=', key)]))))
      .execute()
  }
}
