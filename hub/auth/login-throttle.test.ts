// The login throttle's arithmetic in the database: free failures, then doubling delays up to a
// cap; counts exact under concurrency; windows that end; rows that go.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeBackends } from '../../test/support/store-backends.ts'
import type { Store } from '../store/open-store.ts'
import { LoginThrottle, type ThrottleKey } from './login-throttle.ts'

const policy = { free: 2, firstDelayMs: 1_000, maxDelayMs: 8_000, windowMs: 60 * 60_000 }
const key = (name: string): ThrottleKey => ({ kind: 'account-address', key: `198.51.100.7 ${name}` })

for (const backend of storeBackends()) {
  describe(`LoginThrottle (${backend.name})`, () => {
    let store: Store
    let throttle: LoginThrottle

    beforeAll(async () => {
      store = await backend.open()
      throttle = new LoginThrottle(store.db, { 'account-address': policy, address: policy })
    })
    afterAll(async () => {
      await store?.close()
    })

    it('answers `free` failures without delay, then doubles the delay up to the cap', async () => {
      const waits: number[] = []
      for (let i = 0; i < 8; i++) waits.push(await throttle.failed([key('alice')]))
      expect(waits).toEqual([0, 0, 1, 2, 4, 8, 8, 8])
      expect(await throttle.waitSeconds([key('alice')])).toBeGreaterThanOrEqual(7)
      expect(await throttle.waitSeconds([key('bob')])).toBe(0)
    })

    it('waits for the longest delay among the keys asked about', async () => {
      const address: ThrottleKey = { kind: 'address', key: '198.51.100.8' }
      for (let i = 0; i < 3; i++) await throttle.failed([address])
      expect(await throttle.waitSeconds([key('carol'), address])).toBe(1)
      expect(await throttle.waitSeconds([key('carol')])).toBe(0)
    })

    it('forgets a key when cleared', async () => {
      for (let i = 0; i < 4; i++) await throttle.failed([key('dave')])
      expect(await throttle.waitSeconds([key('dave')])).toBeGreaterThan(0)
      await throttle.cleared([key('dave')])
      expect(await throttle.waitSeconds([key('dave')])).toBe(0)
      expect(await throttle.failed([key('dave')])).toBe(0)
    })

    it('counts afresh once the window has passed', async () => {
      for (let i = 0; i < 5; i++) await throttle.failed([key('erin')])
      await store.db
        .updateTable('loginThrottle')
        .set({ windowStartedAt: sql<Date>`now() - interval '2 hours'` })
        .where('key', '=', key('erin').key)
        .execute()
      expect(await throttle.failed([key('erin')])).toBe(0)
      const row = await store.db
        .selectFrom('loginThrottle')
        .select('failures')
        .where('key', '=', key('erin').key)
        .executeTakeFirstOrThrow()
      expect(row.failures).toBe(1)
    })

    it('counts concurrent failures exactly (one upsert each)', async () => {
      await Promise.all(Array.from({ length: 20 }, () => throttle.failed([key('frank')])))
      const row = await store.db
        .selectFrom('loginThrottle')
        .select('failures')
        .where('key', '=', key('frank').key)
        .executeTakeFirstOrThrow()
      expect(row.failures).toBe(20)
    })

    it('deletes rows a day past their window on the next recorded failure', async () => {
      await throttle.failed([key('gina')])
      await store.db
        .updateTable('loginThrottle')
        .set({
          windowStartedAt: sql<Date>`now() - interval '2 days'`,
          nextAllowedAt: sql<Date>`now() - interval '2 days'`,
        })
        .where('key', '=', key('gina').key)
        .execute()
      await throttle.failed([key('hank')])
      const left = await store.db
        .selectFrom('loginThrottle')
        .select('key')
        .where('key', '=', key('gina').key)
        .execute()
      expect(left).toEqual([])
    })
  })
}
