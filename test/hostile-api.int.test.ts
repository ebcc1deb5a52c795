import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorCodes } from '../hub/kernel/api-error.ts'
import { oneEstate } from './support/estate-fixture.ts'
import { hostileRequests } from './support/hostile-requests.ts'
import { type Operation, operationsOf } from './support/openapi-walk.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, TEST_PASSWORD, type TestHub } from './support/test-hub.ts'
import { requestFor, type Side } from './support/walk-requests.ts'

/**
 * Every documented route, fed one spoiled part at a time: a valid request (walk-requests.ts)
 * with one body field, query parameter or path segment replaced by something hostile (NUL,
 * an unpaired surrogate, a megabyte, 10,000 levels of nesting, the wrong type, a number out
 * of range, extra keys). However bad the input, the hub answers 4xx in its error shape, never
 * 5xx. fast-check picks the target and the variant from a fixed seed, so a run is repeatable
 * and bounded (one app on PGlite, a few requests per class and route).
 */
const SEED = 20_261_207
const RANDOM_RUNS = 3 // per route, on top of one request per hostile class
// The caller's own session: a hostile logout that succeeds would end the walk's token.
const skipped = new Set(['POST /api/v1/auth/logout'])

const knownCodes = new Set(Object.keys(errorCodes))

/** What is wrong with a 4xx body, if anything: the hub's shape is {error, message, rule?, details}. */
function shapeProblem(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return 'not a JSON object'
  const b = body as Record<string, unknown>
  if (typeof b.error !== 'string' || !knownCodes.has(b.error)) return `error ${JSON.stringify(b.error)}`
  if (typeof b.message !== 'string') return 'no message'
  if (!Array.isArray(b.details)) return 'no details'
  for (const d of b.details as Record<string, unknown>[])
    if (
      typeof d?.field !== 'string' ||
      typeof d.rule !== 'string' ||
      typeof d.message !== 'string' ||
      typeof d.params !== 'object'
    )
      return `detail ${JSON.stringify(d).slice(0, 120)}`
  return undefined
}

/** A stable number per route, so each route's sample is its own and the same every run. */
const routeSeed = (op: Operation) =>
  [...`${op.method} ${op.path}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, SEED)

const pglite = storeBackends()[0]!

describe(`hostile input on every documented route (${pglite.name})`, () => {
  let hub: TestHub
  let org: Awaited<ReturnType<typeof oneEstate>>
  let side: Side
  let operations: Operation[]
  let token: string

  beforeAll(async () => {
    hub = await openTestHub(pglite)
    org = await oneEstate(hub)
    const created = await hub.call(org.rootToken, {
      method: 'POST',
      url: '/api/v1/users',
      payload: {
        username: 'clerk-a',
        password: 'a-long-password-1',
        grants: [{ role: 'finance', nodeId: org.a.estateId }],
      },
    })
    expect(created.status).toBe(201)
    const delivery = await hub.store.db
      .selectFrom('notificationDeliveries')
      .select('id')
      .where('channelId', '=', org.a.notificationChannelId)
      .executeTakeFirstOrThrow()
    side = {
      ids: org.a,
      userId: created.body.id,
      grantId: created.body.grants[0].id,
      deliveryId: String(delivery.id),
    }
    token = org.rootToken
    const doc = await hub.call(undefined, { method: 'GET', url: '/docs/json' })
    expect(doc.status).toBe(200)
    // Deletions last, so the ids the other routes aim at still exist while they are walked.
    operations = operationsOf(doc.body)
      .filter((op) => !skipped.has(`${op.method} ${op.path}`))
      .sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'))
  })
  afterAll(() => hub?.close())

  /** Sends each request; collects every 5xx and every 4xx not in the hub's shape. */
  async function walk(as: 'admin' | 'anonymous') {
    const offenders: string[] = []
    const misshapen: string[] = []
    let sent = 0
    for (const op of operations) {
      const base = requestFor(op, side)
      for (const request of hostileRequests(op, base, routeSeed(op), RANDOM_RUNS)) {
        const send = () =>
          hub.app.inject({
            method: request.method as 'GET',
            url: request.url,
            ...(request.payload !== undefined ? { payload: request.payload } : {}),
            headers: {
              ...request.headers,
              ...(as === 'admin' ? { authorization: `Bearer ${token}` } : {}),
            },
          })
        let response = await send()
        sent++
        // A hostile request that happened to be valid may have ended the session (a password
        // change, a revoked grant): log in again so the rest of the walk still reaches route bodies.
        if (as === 'admin' && response.statusCode === 401) {
          const login = await hub.call(undefined, {
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { username: 'root-admin', password: TEST_PASSWORD },
          })
          if (login.status === 200) {
            token = login.body.token
            response = await send()
          }
        }
        const label = `${request.method} ${op.path} [${request.excerpt}] -> ${response.statusCode} ${response.body.slice(0, 300)}`
        if (response.statusCode >= 500) offenders.push(label)
        else if (response.statusCode >= 400) {
          let body: unknown
          try {
            body = JSON.parse(response.body)
          } catch {
            body = undefined
          }
          const problem = shapeProblem(body)
          if (problem) misshapen.push(`${problem}: ${label}`)
        }
      }
    }
    if (offenders.length > 0)
      console.log(`[hostile-api ${as}] ${offenders.length} of ${sent} answered 5xx:\n${offenders.join('\n')}`)
    if (misshapen.length > 0)
      console.log(
        `[hostile-api ${as}] ${misshapen.length} 4xx not in the error shape:\n${misshapen.join('\n')}`,
      )
    return { offenders, misshapen, sent }
  }

  it('walks every documented route', () => {
    expect(operations.length).toBeGreaterThan(40)
  })

  it('answers an admin no 5xx, and every 4xx in the error shape', { timeout: 180_000 }, async () => {
    const { offenders, misshapen } = await walk('admin')
    expect(offenders).toEqual([])
    expect(misshapen).toEqual([])
  })

  it('answers an anonymous caller no 5xx, and every 4xx in the error shape', {
    timeout: 180_000,
  }, async () => {
    const { offenders, misshapen } = await walk('anonymous')
    expect(offenders).toEqual([])
    expect(misshapen).toEqual([])
  })
})
