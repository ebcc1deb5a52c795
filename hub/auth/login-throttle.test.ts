// The login lock: N failures lock a username for the configured minutes, success forgets them.
import { describe, expect, it } from 'vitest'
import { LoginThrottle } from './login-throttle.ts'

const MINUTE = 60_000
const T0 = Date.parse('2025-03-01T08:00:00Z')

describe('LoginThrottle', () => {
  it('locks a username on the Nth failure for exactly the configured minutes', () => {
    const throttle = new LoginThrottle(3, 15)
    throttle.failed('alice', T0)
    throttle.failed('alice', T0 + 1_000)
    expect(throttle.lockedFor('alice', T0 + 2_000)).toBe(0)
    throttle.failed('alice', T0 + 2_000)
    expect(throttle.lockedFor('alice', T0 + 2_000)).toBe(15 * MINUTE)
    expect(throttle.lockedFor('alice', T0 + 2_000 + 10 * MINUTE)).toBe(5 * MINUTE)
    expect(throttle.lockedFor('alice', T0 + 2_000 + 15 * MINUTE - 1)).toBe(1)
    expect(throttle.lockedFor('alice', T0 + 2_000 + 15 * MINUTE)).toBe(0)
  })

  it('locks only the username that failed', () => {
    const throttle = new LoginThrottle(2, 1)
    throttle.failed('alice', T0)
    throttle.failed('alice', T0)
    expect(throttle.lockedFor('alice', T0)).toBe(MINUTE)
    expect(throttle.lockedFor('bob', T0)).toBe(0)
  })

  it('counts afresh once a lock has run out: one more failure does not lock again', () => {
    const throttle = new LoginThrottle(3, 1)
    for (let i = 0; i < 3; i++) throttle.failed('alice', T0)
    const after = T0 + MINUTE
    expect(throttle.lockedFor('alice', after)).toBe(0)
    throttle.failed('alice', after)
    throttle.failed('alice', after)
    expect(throttle.lockedFor('alice', after)).toBe(0)
    throttle.failed('alice', after)
    expect(throttle.lockedFor('alice', after)).toBe(MINUTE)
  })

  it('forgets earlier failures after a successful login', () => {
    const throttle = new LoginThrottle(3, 15)
    throttle.failed('alice', T0)
    throttle.failed('alice', T0)
    throttle.succeeded('alice')
    throttle.failed('alice', T0)
    throttle.failed('alice', T0)
    expect(throttle.lockedFor('alice', T0)).toBe(0)
    throttle.failed('alice', T0)
    expect(throttle.lockedFor('alice', T0)).toBe(15 * MINUTE)
    throttle.succeeded('alice')
    expect(throttle.lockedFor('alice', T0)).toBe(0)
  })

  it('treats usernames case-insensitively, for counting, locking and clearing', () => {
    const throttle = new LoginThrottle(3, 15)
    throttle.failed('Alice', T0)
    throttle.failed('ALICE', T0)
    throttle.failed('alice', T0)
    expect(throttle.lockedFor('aLiCe', T0)).toBe(15 * MINUTE)
    expect(throttle.lockedFor('alice', T0)).toBe(15 * MINUTE)
    throttle.succeeded('ALICE')
    expect(throttle.lockedFor('alice', T0)).toBe(0)
  })
})
