// Issue 13, accounts: the own password change needs the current one; an admin reset ends the
// sessions and forces a change; failed logins are throttled in the database by address and
// account (never a lock an outsider can set on someone else), shared by every hub on one
// database; guessable passwords are refused on the API and the CLI.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../hub/app/build-app.ts'
import { defaultThrottlePolicies } from '../hub/auth/login-throttle.ts'
import { verifyPassword } from '../hub/auth/password.ts'
import { judgePassword, MIN_PASSWORD_SCORE } from '../hub/auth/password-strength.ts'
import { createUser, grantRole } from '../hub/auth/user-accounts.ts'
import { openStore, type Store } from '../hub/store/open-store.ts'
import { storeBackends } from './support/store-backends.ts'

const LOGIN = '/api/v1/auth/login'
const OWN_PASSWORD = '/api/v1/auth/password'
const ME = '/api/v1/auth/me'
const ROOT_PASSWORD = 'root-of-all-trees-42'
const USER_PASSWORD = 'first-password-77'
const STRONG = 'river-Lantern-93-quietly'

interface Answer {
  status: number
  body: any
  headers: Record<string, unknown>
}

async function call(
  app: FastifyInstance,
  token: string | undefined,
  options: InjectOptions,
): Promise<Answer> {
  const headers = { ...(options.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }
  const response = await app.inject({ remoteAddress: '192.0.2.1', ...options, headers })
  return {
    status: response.statusCode,
    body: response.body ? response.json() : undefined,
    headers: response.headers,
  }
}

const login = (app: FastifyInstance, username: string, password: string, remoteAddress = '192.0.2.1') =>
  call(app, undefined, { method: 'POST', url: LOGIN, payload: { username, password }, remoteAddress })

/** Time passing, without waiting: every delay set for these keys has run out. */
async function delaysRunOut(store: Store, keyLike: string) {
  await store.db
    .updateTable('loginThrottle')
    .set({ nextAllowedAt: sql<Date>`now() - interval '1 second'` })
    .where('key', 'like', keyLike)
    .execute()
}

for (const backend of storeBackends()) {
  describe(`account security on ${backend.name}`, () => {
    let store: Store
    let app: FastifyInstance
    let rootToken: string

    /** A viewer made through the API by the root admin; returns its id. */
    const newUser = async (username: string, password = USER_PASSWORD) => {
      const created = await call(app, rootToken, {
        method: 'POST',
        url: '/api/v1/users',
        payload: { username, password, grants: [{ role: 'viewer', nodeId: null }] },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      return created.body.id as string
    }
    const tokenOf = async (username: string, password: string, remoteAddress?: string) => {
      const answer = await login(app, username, password, remoteAddress)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      return answer.body.token as string
    }

    beforeAll(async () => {
      store = await backend.open()
      app = await buildApp({ store })
      await app.ready()
      const root = await createUser(store.db, { username: 'root', password: ROOT_PASSWORD })
      await grantRole(store.db, root.id, 'admin', null, null)
      rootToken = await tokenOf('root', ROOT_PASSWORD, '198.51.100.1')
    })
    afterAll(async () => {
      await app?.close()
      await store?.close()
    })

    describe('changing one’s own password', () => {
      it('needs the current password; a wrong one is a failed login; the right one keeps this session', async () => {
        const id = await newUser('olga')
        const token = await tokenOf('olga', USER_PASSWORD)
        const elsewhere = await tokenOf('olga', USER_PASSWORD, '203.0.113.9')

        const missing = await call(app, token, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: STRONG },
        })
        expect(missing.status).toBe(400)
        expect(missing.body.details).toEqual([
          expect.objectContaining({ field: 'body.currentPassword', rule: 'password.currentRequired' }),
        ])

        const wrong = await call(app, token, {
          method: 'POST',
          url: OWN_PASSWORD,
          payload: { currentPassword: 'not-my-password-1', newPassword: STRONG },
        })
        expect(wrong.status).toBe(400)
        expect(wrong.body.details).toEqual([
          expect.objectContaining({ field: 'body.currentPassword', rule: 'password.currentWrong' }),
        ])
        const counted = await store.db
          .selectFrom('loginThrottle')
          .select(['kind', 'failures'])
          .where('key', 'in', ['192.0.2.1 olga', 'olga'])
          .orderBy('kind')
          .execute()
        expect(counted).toEqual([
          { kind: 'account', failures: 1 },
          { kind: 'account-address', failures: 1 },
        ])
        // Same through PATCH with a wrong currentPassword.
        const wrongPatch = await call(app, token, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: STRONG, currentPassword: 'not-my-password-2' },
        })
        expect(wrongPatch.status).toBe(400)
        expect(wrongPatch.body.details[0].rule).toBe('password.currentWrong')

        // Still the old password everywhere.
        expect((await login(app, 'olga', USER_PASSWORD)).status).toBe(200)

        const changed = await call(app, token, {
          method: 'POST',
          url: OWN_PASSWORD,
          payload: { currentPassword: USER_PASSWORD, newPassword: STRONG },
        })
        expect(changed.status, JSON.stringify(changed.body)).toBe(204)
        expect((await call(app, token, { method: 'GET', url: ME })).status).toBe(200)
        expect((await call(app, elsewhere, { method: 'GET', url: ME })).status).toBe(401)
        expect((await login(app, 'olga', USER_PASSWORD)).status).toBe(401)
        expect((await login(app, 'olga', STRONG)).status).toBe(200)
      })
    })

    describe('an admin reset', () => {
      it('ends the user’s sessions and forces a change before anything else', async () => {
        const id = await newUser('pavel')
        const old = await tokenOf('pavel', USER_PASSWORD)
        const reset = await call(app, rootToken, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: 'set-by-the-admin-55' },
        })
        expect(reset.status, JSON.stringify(reset.body)).toBe(200)
        expect(reset.body.mustChangePassword).toBe(true)
        // The token from before the reset is refused.
        const refused = await call(app, old, { method: 'GET', url: ME })
        expect(refused.status).toBe(401)
        expect(refused.body.details[0].rule).toBe('auth.tokenInvalid')

        const answer = await login(app, 'pavel', 'set-by-the-admin-55')
        expect(answer.status).toBe(200)
        expect(answer.body.mustChangePassword).toBe(true)
        const token = answer.body.token as string
        for (const [method, url] of [
          ['GET', ME],
          ['GET', `/api/v1/users/${id}`],
          ['PATCH', `/api/v1/users/${id}`],
        ] as const) {
          const blocked = await call(app, token, {
            method,
            url,
            ...(method === 'PATCH' ? { payload: { displayName: 'Pavel' } } : {}),
          })
          expect(blocked.status, `${method} ${url}`).toBe(403)
          expect(blocked.body.rule).toBe('auth.passwordChangeRequired')
        }
        // An admin reset needs no current password of the admin's; offering one is refused.
        const confused = await call(app, rootToken, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: 'set-by-the-admin-56', currentPassword: ROOT_PASSWORD },
        })
        expect(confused.status).toBe(400)
        expect(confused.body.details[0].rule).toBe('password.currentNotYours')

        // Keeping the password the admin knows is no change.
        const same = await call(app, token, {
          method: 'POST',
          url: OWN_PASSWORD,
          payload: { currentPassword: 'set-by-the-admin-55', newPassword: 'set-by-the-admin-55' },
        })
        expect(same.status).toBe(400)
        expect(same.body.details[0]).toMatchObject({
          field: 'body.newPassword',
          rule: 'password.sameAsCurrent',
        })
        const changed = await call(app, token, {
          method: 'POST',
          url: OWN_PASSWORD,
          payload: { currentPassword: 'set-by-the-admin-55', newPassword: STRONG },
        })
        expect(changed.status, JSON.stringify(changed.body)).toBe(204)
        expect((await call(app, token, { method: 'GET', url: ME })).status).toBe(200)
        const again = await login(app, 'pavel', STRONG)
        expect(again.body.mustChangePassword).toBe(false)
        // Logging out is open during a forced change too.
        await call(app, rootToken, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: 'set-by-the-admin-57' },
        })
        const forced = (await login(app, 'pavel', 'set-by-the-admin-57')).body.token as string
        expect((await call(app, forced, { method: 'POST', url: '/api/v1/auth/logout' })).status).toBe(204)
      })
    })

    describe('login throttling', () => {
      const apps: FastifyInstance[] = []
      /** A second hub on this store whose delays start at a minute (the free counts as usual). */
      const slowDelays = async () => {
        const minute = (kind: 'account-address' | 'address') => ({
          ...defaultThrottlePolicies[kind],
          firstDelayMs: 60_000,
          maxDelayMs: 60 * 60_000,
        })
        const slow = await buildApp({
          store,
          auth: {
            throttlePolicies: { 'account-address': minute('account-address'), address: minute('address') },
          },
        })
        apps.push(slow)
        return slow
      }
      afterAll(async () => {
        for (const slow of apps) await slow.close()
      })

      it('does not let 10 wrong logins from one address shut the account out from another', async () => {
        for (let i = 0; i < 10; i++) {
          const failed = await login(app, 'root', `wrong-guess-${i}`, '192.0.2.66')
          expect([401, 429], `attempt ${i + 1}`).toContain(failed.status)
        }
        // The guesser's address is held back...
        const guesser = await login(app, 'root', ROOT_PASSWORD, '192.0.2.66')
        expect(guesser.status).toBe(429)
        // ...the admin at another address is not.
        const admin = await login(app, 'root', ROOT_PASSWORD, '198.51.100.1')
        expect(admin.status, JSON.stringify(admin.body)).toBe(200)
      })

      it('grows the delay from one address with each further failure, and says so in Retry-After', async () => {
        await newUser('quinn')
        const address = '192.0.2.77'
        // The usual free failures, but delays in minutes, so a slow machine cannot outlast one
        // between two requests: 1, 2, 4, 8 min.
        const app = await slowDelays()
        for (let i = 0; i < 5; i++)
          expect((await login(app, 'quinn', `wrong-${i}`, address)).status).toBe(401)
        const retries: number[] = []
        for (let round = 0; round < 4; round++) {
          expect((await login(app, 'quinn', 'wrong-again', address)).status).toBe(401)
          const held = await login(app, 'quinn', USER_PASSWORD, address)
          expect(held.status).toBe(429)
          expect(held.body.error).toBe('EH_ERR_LOCKED')
          expect(held.body.rule).toBe('auth.throttled')
          expect(held.body.params.seconds).toBe(Number(held.headers['retry-after']))
          retries.push(Number(held.headers['retry-after']))
          await delaysRunOut(store, `${address}%`)
        }
        // Counted down by the seconds between the failure and the check: a few at most.
        const expected = [60, 120, 240, 480]
        retries.forEach((seconds, i) => {
          expect(seconds, `round ${i + 1}`).toBeLessThanOrEqual(expected[i]!)
          expect(seconds, `round ${i + 1}`).toBeGreaterThan(expected[i]! - 10)
        })
        // Once the delay has run out the right password gets in, and clears the pair.
        expect((await login(app, 'quinn', USER_PASSWORD, address)).status).toBe(200)
        const pair = await store.db
          .selectFrom('loginThrottle')
          .select('failures')
          .where('kind', '=', 'account-address')
          .where('key', '=', `${address} quinn`)
          .execute()
        expect(pair).toEqual([])
      })

      it('slows an account failed from many addresses by seconds at most, never locks it', async () => {
        // The account-wide count with its usual cap (5 s), but only 3 free failures instead of
        // 50, so the test needs few scrypt checks.
        const account = { ...defaultThrottlePolicies.account, free: 3 }
        const strict = await buildApp({ store, auth: { throttlePolicies: { account } } })
        try {
          await newUser('uma')
          const statuses: number[] = []
          for (let i = 0; i < 10; i++) {
            // Each from an address of its own; the account's delay run out between them.
            if (i > 0) await delaysRunOut(store, 'uma')
            statuses.push((await login(strict, 'uma', 'botnet-guess-1', `10.9.0.${i}`)).status)
          }
          expect(statuses).toEqual(Array(10).fill(401))
          const held = await login(strict, 'uma', USER_PASSWORD, '198.51.100.2')
          expect(held.status).toBe(429)
          expect(Number(held.headers['retry-after'])).toBeLessThanOrEqual(5)
          await delaysRunOut(store, 'uma')
          expect((await login(strict, 'uma', USER_PASSWORD, '198.51.100.2')).status).toBe(200)
        } finally {
          await strict.close()
        }
      })

      it('holds back an address spraying many accounts, not the accounts elsewhere', async () => {
        const address = '192.0.2.88'
        const app = await slowDelays()
        for (let i = 0; i < 21; i++)
          expect((await login(app, `nobody-${i}`, 'some-guess-1', address)).status, `attempt ${i + 1}`).toBe(
            401,
          )
        expect((await login(app, 'nobody-99', 'some-guess-1', address)).status).toBe(429)
        expect((await login(app, 'root', ROOT_PASSWORD, '198.51.100.1')).status).toBe(200)
      })
    })

    describe('password strength', () => {
      it('refuses guessable passwords on create, reset and own change, with zxcvbn’s feedback', async () => {
        for (const weak of ['aaaaaaaaaa', '1234567890', 'password123']) {
          const created = await call(app, rootToken, {
            method: 'POST',
            url: '/api/v1/users',
            payload: { username: 'weakling', password: weak, grants: [{ role: 'viewer', nodeId: null }] },
          })
          expect(created.status, weak).toBe(400)
          expect(created.body.details).toEqual([
            {
              field: 'body.password',
              rule: 'password.weak',
              params: { score: expect.any(Number), min: MIN_PASSWORD_SCORE, feedback: expect.any(String) },
              message: expect.stringMatching(
                /^is too easy to guess \(strength [0-2] of 4, at least 3 needed\): \S/,
              ),
            },
          ])
          expect(JSON.stringify(created.body)).not.toContain(weak)
        }
        const id = await newUser('rosa', STRONG)
        const reset = await call(app, rootToken, {
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          payload: { password: 'password123' },
        })
        expect(reset.status).toBe(400)
        expect(reset.body.details[0].rule).toBe('password.weak')
        const token = await tokenOf('rosa', STRONG)
        const own = await call(app, token, {
          method: 'POST',
          url: OWN_PASSWORD,
          payload: { currentPassword: STRONG, newPassword: '1234567890' },
        })
        expect(own.status).toBe(400)
        expect(own.body.details[0]).toMatchObject({ field: 'body.newPassword', rule: 'password.weak' })
        // The user's own names count as known words.
        const named = await call(app, rootToken, {
          method: 'POST',
          url: '/api/v1/users',
          payload: {
            username: 'svetlana',
            displayName: 'Svetlana Kuznetsova',
            password: 'Kuznetsova2024',
            grants: [{ role: 'viewer', nodeId: null }],
          },
        })
        expect(named.status).toBe(400)
        expect(named.body.details[0].rule).toBe('password.weak')
      })
    })

    if (backend.name === 'postgres') {
      // Two hubs on one database: the throttle is a table, not a process's memory.
      it('shares the throttle between two hubs on one PostgreSQL database', async () => {
        const { database } = (
          await sql<{ database: string }>`select current_database() as database`.execute(store.db)
        ).rows[0]!
        const url = new URL(process.env.ESTATEHUB_TEST_PG_URL!)
        url.pathname = `/${database}`
        const otherStore = await openStore({ url: url.toString(), poolMax: 2 })
        // Both hubs with delays in minutes, so a slow machine cannot outlast one between requests.
        const pair = { ...defaultThrottlePolicies['account-address'], firstDelayMs: 60_000 }
        const auth = { throttlePolicies: { 'account-address': pair } }
        const first = await buildApp({ store, auth })
        const other = await buildApp({ store: otherStore, auth })
        try {
          await other.ready()
          await newUser('tomas')
          const address = '192.0.2.99'
          // Half the failures on one hub, half on the other: they add up.
          for (let i = 0; i < 6; i++) {
            const hub = i % 2 === 0 ? first : other
            expect((await login(hub, 'tomas', `wrong-${i}`, address)).status).toBe(401)
          }
          expect((await login(first, 'tomas', USER_PASSWORD, address)).status).toBe(429)
          expect((await login(other, 'tomas', USER_PASSWORD, address)).status).toBe(429)
          // Concurrent failures on both hubs are all counted.
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              call(i % 2 === 0 ? first : other, undefined, {
                method: 'POST',
                url: LOGIN,
                payload: { username: 'tomas', password: `parallel-${i}` },
                remoteAddress: '192.0.2.100',
              }),
            ),
          )
          const row = await store.db
            .selectFrom('loginThrottle')
            .select('failures')
            .where('kind', '=', 'account-address')
            .where('key', '=', '192.0.2.100 tomas')
            .executeTakeFirstOrThrow()
          // Every attempt that got past the delay check was counted; the rest answered 429.
          expect(row.failures).toBeGreaterThanOrEqual(6)
          expect(row.failures).toBeLessThanOrEqual(10)
        } finally {
          await first.close()
          await other.close()
          await otherStore.close()
        }
      })
    }
  })
}

describe('estatehub user add (CLI)', () => {
  const bin = join(import.meta.dirname, '..', 'bin', 'estatehub.js')
  const work = mkdtempSync(join(tmpdir(), 'estatehub-accounts-'))
  const config = join(work, 'hub.yaml')
  writeFileSync(config, `database:\n  dataDir: ${join(work, 'hub-data')}\nlog:\n  level: warn\n`)

  const run = (args: string[], input?: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], {
        cwd: work,
        env: { ...process.env, CI: undefined },
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stdout, stderr }))
      child.stdin.end(input ?? '')
    })

  it('refuses a guessable password on stdin, and generates one that passes the same check', async () => {
    const weak = await run(['user', 'add', 'chief', '--password-stdin', '--config', config], 'password123\n')
    expect(weak.code).not.toBe(0)
    expect(weak.stderr).toContain('--password-stdin: the password is too easy to guess')

    const generated = await run(['user', 'add', 'chief', '--role', 'admin', '--config', config])
    expect(generated.code, generated.stderr).toBe(0)
    const password = generated.stdout.match(/password \(shown once\): (\S+)/)![1]!
    expect(judgePassword(password, ['chief']).score).toBeGreaterThanOrEqual(MIN_PASSWORD_SCORE)
    const store = await openStore({ dataDir: join(work, 'hub-data') })
    try {
      const user = await store.db
        .selectFrom('users')
        .select('passwordHash')
        .where('username', '=', 'chief')
        .executeTakeFirstOrThrow()
      expect(await verifyPassword(password, user.passwordHash)).toBe(true)
    } finally {
      await store.close()
    }
  }, 180_000)
})
