import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildApp } from '../../hub/app/build-app.ts'
import { type ThrottleKind, type ThrottlePolicy, throttleKinds } from '../../hub/auth/login-throttle.ts'
import { createUser, grantRole } from '../../hub/auth/user-accounts.ts'
import type { Role } from '../../hub/store/database-schema.ts'
import type { Store } from '../../hub/store/open-store.ts'
import type { StoreBackend } from './store-backends.ts'

export const TEST_PASSWORD = 'correct-horse-battery-9'

const lenient = { free: 100_000, firstDelayMs: 1, maxDelayMs: 1, windowMs: 60_000 }
export const LENIENT_THROTTLE = Object.fromEntries(throttleKinds.map((kind) => [kind, lenient])) as Record<
  ThrottleKind,
  ThrottlePolicy
>

export interface TestHub {
  readonly app: FastifyInstance
  readonly store: Store
  /** Creates a user with these grants and returns a bearer token for them. */
  userWithGrants(username: string, grants: readonly { role: Role; nodeId: string | null }[]): Promise<string>
  /** app.inject with a bearer token; the JSON body parsed. */
  call(token: string | undefined, options: InjectOptions): Promise<{ status: number; body: any }>
  close(): Promise<void>
}

export async function openTestHub(backend: StoreBackend): Promise<TestHub> {
  const store = await backend.open()
  // Suites log in wrongly on purpose; the throttle has its own (test/account-security.int.test.ts).
  const app = await buildApp({ store, auth: { throttlePolicies: LENIENT_THROTTLE } })
  await app.ready()
  const call: TestHub['call'] = async (token, options) => {
    const headers = { ...(options.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }
    const response = await app.inject({ ...options, headers })
    const text = response.body
    let body: unknown = text
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      // not JSON (e.g. /metrics): keep the text
    }
    return { status: response.statusCode, body }
  }
  return {
    app,
    store,
    call,
    async userWithGrants(username, grants) {
      const user = await createUser(store.db, { username, password: TEST_PASSWORD })
      for (const grant of grants) await grantRole(store.db, user.id, grant.role, grant.nodeId, null)
      const login = await call(undefined, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username, password: TEST_PASSWORD },
      })
      if (login.status !== 200) throw new Error(`login of ${username} failed: ${JSON.stringify(login.body)}`)
      return login.body.token as string
    },
    async close() {
      await app.close()
      await store.close()
    },
  }
}
