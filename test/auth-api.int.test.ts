// Logging in and out through the API: tokens, their expiry and revocation, the login throttle,
// disabled accounts and password changes, and that no password ever comes back out.
import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../hub/app/build-app.ts'
import { hashSessionToken } from '../hub/auth/session-token.ts'
import { createUser } from '../hub/auth/user-accounts.ts'
import type { Store } from '../hub/store/open-store.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, TEST_PASSWORD, type TestHub } from './support/test-hub.ts'

const LOGIN = '/api/v1/auth/login'
const ME = '/api/v1/auth/me'
const MINUTE = 60_000

describe.each(storeBackends())('auth API on $name', (backend) => {
  describe('sessions', () => {
    let hub: TestHub
    let rootToken: string
    let companyId: string
    let estateId: string

    const login = (username: string, password: string) =>
      hub.call(undefined, { method: 'POST', url: LOGIN, payload: { username, password } })
    const me = (token: string) => hub.call(token, { method: 'GET', url: ME })
    const expectUnauthenticated = (response: { status: number; body: any }) => {
      expect(response.status, JSON.stringify(response.body)).toBe(401)
      expect(response.body.error).toBe('EH_ERR_UNAUTHENTICATED')
      expect(response.body.details.map((d: any) => d.field)).toEqual(['headers.authorization'])
    }
    /** A user made through the API by the root admin, with a viewer grant on the estate. */
    const newUser = async (username: string, password = 'first-password-77') => {
      const created = await hub.call(rootToken, {
        method: 'POST',
        url: '/api/v1/users',
        payload: { username, password, grants: [{ role: 'viewer', nodeId: estateId }] },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      return created.body.id as string
    }
    const tokenOf = async (username: string, password: string) => {
      const response = await login(username, password)
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      return response.body.token as string
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      rootToken = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
      const create = async (payload: Record<string, unknown>) => {
        const response = await hub.call(rootToken, { method: 'POST', url: '/api/v1/org-nodes', payload })
        expect(response.status, JSON.stringify(response.body)).toBe(201)
        return response.body.id as string
      }
      const groupId = await create({ kind: 'group', code: 'G1', name: '华东集团' })
      companyId = await create({ kind: 'company', parentId: groupId, code: 'C1', name: '上海物业公司' })
      estateId = await create({ kind: 'estate', parentId: companyId, code: 'E1', name: '翠湖苑' })
    })
    afterAll(() => hub?.close())

    it('logs in with the right password: a token that works, expiring after tokenTtlMinutes', async () => {
      await hub.userWithGrants('alice', [{ role: 'viewer', nodeId: estateId }])
      const before = Date.now()
      const response = await login('alice', TEST_PASSWORD)
      const after = Date.now()
      expect(response.status).toBe(200)
      expect(response.body.token).toMatch(/^ehs_[A-Za-z0-9_-]{43}$/)
      expect(response.body.user).toMatchObject({ username: 'alice', displayName: 'alice' })
      const expiresAt = Date.parse(response.body.expiresAt)
      // openTestHub leaves tokenTtlMinutes at its default, 720.
      expect(expiresAt).toBeGreaterThanOrEqual(before + 720 * MINUTE - 1_000)
      expect(expiresAt).toBeLessThanOrEqual(after + 720 * MINUTE + 1_000)
      const who = await me(response.body.token)
      expect(who.status).toBe(200)
      expect(who.body.username).toBe('alice')
      // Each login is a session of its own.
      const second = await login('ALICE', TEST_PASSWORD)
      expect(second.status).toBe(200)
      expect(second.body.token).not.toBe(response.body.token)
    })

    it('answers a wrong password and an unknown user alike, with 401 EH_ERR_UNAUTHENTICATED', async () => {
      await hub.userWithGrants('bob', [{ role: 'viewer', nodeId: estateId }])
      const wrong = await login('bob', 'not-the-password-1')
      const unknown = await login('nobody-at-all', 'not-the-password-1')
      expect(wrong.status).toBe(401)
      expect(wrong.body.error).toBe('EH_ERR_UNAUTHENTICATED')
      expect(unknown.status).toBe(401)
      expect(unknown.body).toEqual(wrong.body)
      expect(wrong.body).not.toHaveProperty('token')
    })

    it('refuses an expired token', async () => {
      await hub.userWithGrants('carol', [{ role: 'viewer', nodeId: estateId }])
      const token = await tokenOf('carol', TEST_PASSWORD)
      expect((await me(token)).status).toBe(200)
      const updated = await hub.store.db
        .updateTable('sessions')
        .set({ expiresAt: new Date(Date.now() - 1_000) })
        .where('tokenHash', '=', hashSessionToken(token))
        .executeTakeFirst()
      expect(Number(updated.numUpdatedRows)).toBe(1)
      expectUnauthenticated(await me(token))
    })

    it('revokes the token on logout, and only that token', async () => {
      await hub.userWithGrants('dave', [{ role: 'viewer', nodeId: estateId }])
      const token = await tokenOf('dave', TEST_PASSWORD)
      const other = await tokenOf('dave', TEST_PASSWORD)
      const out = await hub.call(token, { method: 'POST', url: '/api/v1/auth/logout' })
      expect(out.status).toBe(204)
      expectUnauthenticated(await me(token))
      expectUnauthenticated(await hub.call(token, { method: 'POST', url: '/api/v1/auth/logout' }))
      expect((await me(other)).status).toBe(200)
      const row = await hub.store.db
        .selectFrom('sessions')
        .select('revokedAt')
        .where('tokenHash', '=', hashSessionToken(token))
        .executeTakeFirstOrThrow()
      expect(row.revokedAt).toBeInstanceOf(Date)
    })

    it('refuses a missing or malformed Authorization header, naming headers.authorization', async () => {
      const valid = await tokenOf('root-admin', TEST_PASSWORD)
      const headers: (Record<string, string> | undefined)[] = [
        undefined,
        { authorization: '' },
        { authorization: 'Bearer' },
        { authorization: `Basic ${Buffer.from('root-admin:x').toString('base64')}` },
        { authorization: `Token ${valid}` },
        { authorization: 'Bearer not-a-session-token' },
        { authorization: `Bearer ${valid.slice(0, -1)}` },
        // Well formed, but no session has it.
        { authorization: `Bearer ehs_${'A'.repeat(43)}` },
      ]
      for (const h of headers) {
        const response = await hub.call(undefined, { method: 'GET', url: ME, ...(h ? { headers: h } : {}) })
        expect(response.status, JSON.stringify(h)).toBe(401)
        expect(response.body.error, JSON.stringify(h)).toBe('EH_ERR_UNAUTHENTICATED')
        expect(response.body.details[0].field, JSON.stringify(h)).toBe('headers.authorization')
      }
      // The scheme is case-insensitive.
      const lower = await hub.call(undefined, {
        method: 'GET',
        url: ME,
        headers: { authorization: `bearer ${valid}` },
      })
      expect(lower.status).toBe(200)
    })

    it('shuts a disabled user out: no login, and their open token stops working', async () => {
      const id = await newUser('erin')
      const token = await tokenOf('erin', 'first-password-77')
      const disabled = await hub.call(rootToken, {
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        payload: { disabled: true },
      })
      expect(disabled.status, JSON.stringify(disabled.body)).toBe(200)
      expect(disabled.body.disabled).toBe(true)
      expectUnauthenticated(await me(token))
      const refused = await login('erin', 'first-password-77')
      expect(refused.status).toBe(401)
      // Same answer as a wrong password: a disabled account is not revealed as existing.
      expect(refused.body).toEqual((await login('erin', 'wrong-password-77')).body)
      const enabled = await hub.call(rootToken, {
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        payload: { disabled: false },
      })
      expect(enabled.status).toBe(200)
      expect((await login('erin', 'first-password-77')).status).toBe(200)
      // Re-enabling does not bring back the session that disabling ended.
      expectUnauthenticated(await me(token))
    })

    it('ends every open session when an admin changes the password', async () => {
      const id = await newUser('frank')
      const first = await tokenOf('frank', 'first-password-77')
      const second = await tokenOf('frank', 'first-password-77')
      const changed = await hub.call(rootToken, {
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        payload: { password: 'second-password-88' },
      })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      expectUnauthenticated(await me(first))
      expectUnauthenticated(await me(second))
      expect((await login('frank', 'first-password-77')).status).toBe(401)
      // The admin knows the new password: frank must set his own before anything else.
      const fresh = await tokenOf('frank', 'second-password-88')
      expect((await me(fresh)).status).toBe(403)
      const own = await hub.call(fresh, {
        method: 'POST',
        url: '/api/v1/auth/password',
        payload: { currentPassword: 'second-password-88', newPassword: 'my-own-secret-phrase-3' },
      })
      expect(own.status, JSON.stringify(own.body)).toBe(204)
      expect((await me(fresh)).status).toBe(200)
      // A change of display name alone leaves sessions open.
      const renamed = await hub.call(rootToken, {
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        payload: { displayName: 'Frank Li' },
      })
      expect(renamed.status).toBe(200)
      expect((await me(fresh)).status).toBe(200)
    })

    it('ends the other sessions when users change their own password', async () => {
      const id = await newUser('gina')
      const current = await tokenOf('gina', 'first-password-77')
      const elsewhere = await tokenOf('gina', 'first-password-77')
      const changed = await hub.call(current, {
        method: 'PATCH',
        url: `/api/v1/users/${id}`,
        payload: { password: 'second-password-88', currentPassword: 'first-password-77' },
      })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      expectUnauthenticated(await me(elsewhere))
      // The session that changed it goes on.
      expect((await me(current)).status).toBe(200)
      expect((await login('gina', 'second-password-88')).status).toBe(200)
    })

    it('lists on GET /auth/me the grants with the names and kinds of their nodes, and what each allows', async () => {
      const token = await hub.userWithGrants('hana', [
        { role: 'admin', nodeId: companyId },
        { role: 'engineering', nodeId: estateId },
      ])
      const response = await me(token)
      expect(response.status).toBe(200)
      expect(response.body).toMatchObject({ username: 'hana', displayName: 'hana' })
      const grants = [...response.body.grants].sort((x: any, y: any) => x.role.localeCompare(y.role))
      expect(grants).toEqual([
        {
          id: expect.any(String),
          role: 'admin',
          nodeId: companyId,
          nodeKind: 'company',
          nodeName: '上海物业公司',
          permissions: expect.arrayContaining(['users.manage', 'billing.configure', 'workOrders.manage']),
        },
        {
          id: expect.any(String),
          role: 'engineering',
          nodeId: estateId,
          nodeKind: 'estate',
          nodeName: '翠湖苑',
          permissions: ['read', 'devices.write', 'meters.write', 'meterReads.review', 'workOrders.manage'],
        },
      ])
      const root = await me(rootToken)
      expect(root.body.grants).toEqual([
        {
          id: expect.any(String),
          role: 'admin',
          nodeId: null,
          nodeKind: null,
          nodeName: null,
          permissions: expect.arrayContaining(['org.write', 'payments.approve']),
        },
      ])
    })

    it('never echoes a password, and never sends a password hash', async () => {
      const password = 'Sesame-Open-314159'
      const texts: string[] = []
      const record = (response: { status: number; body: any }) => {
        texts.push(JSON.stringify(response.body))
        return response
      }
      const created = record(
        await hub.call(rootToken, {
          method: 'POST',
          url: '/api/v1/users',
          payload: { username: 'ivan', password, grants: [{ role: 'viewer', nodeId: estateId }] },
        }),
      )
      expect(created.status).toBe(201)
      const id = created.body.id as string
      const token = record(await login('ivan', password)).body.token as string
      record(await login('ivan', `${password}-wrong`))
      record(await me(token))
      const newPassword = 'Sesame-Close-271828'
      expect(
        record(
          await hub.call(token, {
            method: 'PATCH',
            url: `/api/v1/users/${id}`,
            payload: { password: newPassword, currentPassword: password },
          }),
        ).status,
      ).toBe(200)
      // Refused passwords are not quoted back either.
      const containsName = 'ivan-is-my-password'
      const refused = record(
        await hub.call(rootToken, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: containsName },
        }),
      )
      expect(refused.status).toBe(400)
      expect(refused.body.details[0].field).toBe('body.password')
      const tooShort = record(
        await hub.call(rootToken, {
          method: 'POST',
          url: '/api/v1/users',
          payload: { username: 'ivan2', password: 'Short-1', grants: [{ role: 'viewer', nodeId: estateId }] },
        }),
      )
      expect(tooShort.status).toBe(400)
      const users = record(await hub.call(rootToken, { method: 'GET', url: '/api/v1/users?limit=500' }))
      expect(users.status).toBe(200)
      expect(users.body.items.length).toBeGreaterThan(5)
      for (const user of users.body.items) {
        expect(Object.keys(user)).not.toContain('passwordHash')
        expect(Object.keys(user)).not.toContain('password')
      }
      record(await hub.call(rootToken, { method: 'GET', url: `/api/v1/users/${id}` }))
      for (const text of texts) {
        for (const secret of [password, newPassword, containsName, 'Short-1', TEST_PASSWORD]) {
          expect(text).not.toContain(secret)
        }
        expect(text).not.toMatch(/passwordHash|scrypt\$/)
      }
    })
  })

  describe('login throttle (3 free failures per username and address)', () => {
    let store: Store
    let app: FastifyInstance
    const PASSWORD = 'the-right-password-1'
    const policy = { free: 3, firstDelayMs: 60_000, maxDelayMs: 15 * MINUTE, windowMs: 60 * MINUTE }

    const login = async (username: string, password: string) => {
      const options: InjectOptions = { method: 'POST', url: LOGIN, payload: { username, password } }
      const response = await app.inject(options)
      return { status: response.statusCode, body: response.json(), headers: response.headers }
    }

    beforeAll(async () => {
      store = await backend.open()
      app = await buildApp({ store, auth: { throttlePolicies: { 'account-address': policy } } })
      await app.ready()
      for (const username of ['locky', 'other', 'steady'])
        await createUser(store.db, { username, password: PASSWORD })
    })
    afterAll(async () => {
      await app?.close()
      await store?.close()
    })

    it('delays a username after 4 failures, refusing even the right password with 429 and Retry-After', async () => {
      let fourthFrom = 0
      for (let i = 0; i < 4; i++) {
        fourthFrom = Date.now()
        const failed = await login('locky', 'a-wrong-password')
        expect(failed.status, `attempt ${i + 1}`).toBe(401)
      }
      const throttled = await login('locky', PASSWORD)
      // The 4th failure delays the next try 60 s; Retry-After counts down from then, by no more
      // than the time since that request went out (however slow the machine), in whole seconds.
      const sinceFourth = (Date.now() - fourthFrom) / 1000
      expect(throttled.status).toBe(429)
      expect(throttled.body.error).toBe('EH_ERR_LOCKED')
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(Math.floor(60 - sinceFourth))
      expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(60)
      expect(throttled.body.details).toEqual([
        {
          field: 'body.username',
          rule: 'auth.throttled',
          params: { seconds: Number(throttled.headers['retry-after']) },
          message: 'too many failed logins',
        },
      ])
      expect(throttled.body).not.toHaveProperty('token')
      // The delay holds whatever the case of the username.
      expect((await login('LOCKY', PASSWORD)).status).toBe(429)
      // Other usernames are not affected.
      expect((await login('other', PASSWORD)).status).toBe(200)
      // No session was created for the throttled user.
      const sessions = await store.db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.userId')
        .select('sessions.id')
        .where('users.username', '=', 'locky')
        .execute()
      expect(sessions).toEqual([])
    })

    it('counts failures case-insensitively and forgets them after a successful login', async () => {
      expect((await login('steady', 'a-wrong-password')).status).toBe(401)
      expect((await login('STEADY', 'a-wrong-password')).status).toBe(401)
      expect((await login('steady', PASSWORD)).status).toBe(200)
      // Three more failures: with the count cleared, still within the 3 free ones.
      for (const name of ['Steady', 'steady', 'STEADY'])
        expect((await login(name, 'a-wrong-password')).status).toBe(401)
      expect((await login('steady', PASSWORD)).status).toBe(200)
      // Four in a row delay it, whichever case each used.
      for (const name of ['steady', 'STEADY', 'Steady', 'sTeady']) {
        expect((await login(name, 'a-wrong-password')).status).toBe(401)
      }
      expect((await login('steady', PASSWORD)).status).toBe(429)
    })
  })
})
