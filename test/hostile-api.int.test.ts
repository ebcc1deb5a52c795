import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorCodes } from '../hub/kernel/api-error.ts'
import { oneEstate } from './support/estate-fixture.ts'
import { type Operation, operationsOf, type Schema } from './support/openapi-walk.ts'
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
const DEPTH = 10_000
const MEGABYTE = 'x'.repeat(1_000_000) // under the body limit, so validation and routes see it
// The caller's own session: a hostile logout that succeeds would end the walk's token.
const skipped = new Set(['POST /api/v1/auth/logout'])

/** Raw JSON texts for a body field (raw, so they can hold what JSON.stringify would not write). */
const jsonClasses: Record<string, fc.Arbitrary<string>> = {
  nul: fc.constantFrom('"a\\u0000b"', '"\\u0000"'),
  surrogate: fc.constantFrom('"a\\ud800b"', '"\\udfff"', '"\\ud800"'),
  megabyte: fc.constant(JSON.stringify(MEGABYTE)),
  deepArray: fc.constant(`${'['.repeat(DEPTH)}1${']'.repeat(DEPTH)}`),
  deepObject: fc.constant(`${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`),
  wrongType: fc.constantFrom('true', 'null', '{}', '[]', '12', '"12"', '[{"x":1}]', '{"id":"x"}'),
  hugeNumber: fc.oneof(
    fc.constantFrom('1e308', '-1e308', '1e400', '123456789012345678901234567890', '-0', '5e-324'),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  ),
  numberLikeString: fc.constantFrom(
    '"NaN"',
    '"-1"',
    '"Infinity"',
    '"1e309"',
    '"-0"',
    '"0x10"',
    '" 1 "',
    '""',
  ),
  randomText: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  randomNumber: fc.double().map((n) => (Number.isFinite(n) ? String(n) : '1e999')),
}
/** Percent-encoded texts for a query value or a path segment (raw, so invalid UTF-8 fits). */
const textClasses: Record<string, fc.Arbitrary<string>> = {
  nul: fc.constantFrom('a%00b', '%00'),
  surrogate: fc.constantFrom('%ED%A0%80', 'a%ED%BF%BFb'),
  invalidUtf8: fc.constantFrom('%FF', '%C3%28', '%E2%82'),
  megabyte: fc.constant(MEGABYTE),
  numberLike: fc.constantFrom('NaN', '-1', 'Infinity', '1e309', '-0', '99999999999999999999999', '0x10', ''),
  wrongShape: fc.constantFrom('true', 'null', '%7B%7D', '%5B%5D', '..', '%2F', '%25'),
  randomText: fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
}

type Target =
  | { where: 'body'; path: readonly (string | number)[] }
  | { where: 'bodyExtraKeys' }
  | { where: 'query'; name: string }
  | { where: 'path'; index: number }

interface Mutation {
  readonly target: Target
  readonly raw: string
}

interface Spoiled {
  method: string
  url: string
  payload?: string
  headers: Record<string, string>
  excerpt: string
}

/** Where a body can be spoiled: the whole body, each field, and each field of an element or sub-object. */
function bodyPaths(schema: Schema | undefined, value: unknown): (string | number)[][] {
  if (schema === undefined) return []
  const paths: (string | number)[][] = [[]]
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      paths.push([key])
      if (Array.isArray(child) && child[0] && typeof child[0] === 'object')
        for (const sub of Object.keys(child[0] as object)) paths.push([key, 0, sub])
      else if (child && typeof child === 'object' && !Array.isArray(child))
        for (const sub of Object.keys(child)) paths.push([key, sub])
    }
    // Optional fields the sample left out are targets too.
    for (const key of Object.keys(schema.properties ?? {})) if (!(key in (value as object))) paths.push([key])
  }
  return paths
}

const PLACEHOLDER = '\u0001hostile\u0001'

function setAt(value: unknown, path: readonly (string | number)[], leaf: unknown): unknown {
  if (path.length === 0) return leaf
  const [head, ...rest] = path
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >
  copy[head!] = setAt(copy[head!], rest, leaf)
  return copy
}

function spoil(op: Operation, base: ReturnType<typeof requestFor>, mutation: Mutation): Spoiled {
  const [pathPart, queryPart = ''] = base.url.split('?') as [string, string?]
  const segments = pathPart.split('/')
  const query = [...new URLSearchParams(queryPart)].map(
    ([k, v]) => [k, encodeURIComponent(v)] as [string, string],
  )
  let payload = base.payload === undefined ? undefined : JSON.stringify(base.payload)
  const { target, raw } = mutation
  let where: string
  switch (target.where) {
    case 'body':
      payload = JSON.stringify(setAt(base.payload, target.path, PLACEHOLDER)).replace(
        JSON.stringify(PLACEHOLDER),
        () => raw,
      )
      where = `body.${target.path.join('.')}`
      break
    case 'bodyExtraKeys': {
      const extra = `"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"unexpected":${raw}`
      payload = payload === '{}' ? `{${extra}}` : payload!.replace(/^\{/, () => `{${extra},`)
      where = 'body (extra keys)'
      break
    }
    case 'query': {
      const at = query.findIndex(([k]) => k === target.name)
      if (at >= 0) query[at] = [target.name, raw]
      else query.push([target.name, raw])
      where = `query.${target.name}`
      break
    }
    case 'path':
      segments[target.index] = raw
      where = `path segment ${op.path.split('/')[target.index]}`
      break
  }
  const queryText = query.map(([k, v]) => `${k}=${v}`).join('&')
  return {
    method: base.method,
    url: queryText ? `${segments.join('/')}?${queryText}` : segments.join('/'),
    ...(payload !== undefined ? { payload } : {}),
    headers: { ...base.headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    excerpt: `${where} = ${raw.length > 80 ? `${raw.slice(0, 80)}… (${raw.length} chars)` : raw}`,
  }
}

/** The hostile requests for one route: one per class at a target fast-check picks, then a few more at random. */
function hostileRequests(op: Operation, base: ReturnType<typeof requestFor>, seed: number): Spoiled[] {
  const targets: fc.Arbitrary<Target>[] = []
  const json: fc.Arbitrary<Target>[] = []
  const paths = bodyPaths(op.bodySchema, base.payload)
  if (paths.length > 0) json.push(fc.constantFrom(...paths).map((path) => ({ where: 'body' as const, path })))
  if (base.payload && typeof base.payload === 'object' && !Array.isArray(base.payload))
    json.push(fc.constant({ where: 'bodyExtraKeys' as const }))
  const queryNames = Object.keys(op.querySchema?.properties ?? {})
  if (queryNames.length > 0)
    targets.push(fc.constantFrom(...queryNames).map((name) => ({ where: 'query' as const, name })))
  const pathIndexes = op.path.split('/').flatMap((segment, index) => (segment.startsWith('{') ? [index] : []))
  if (pathIndexes.length > 0)
    targets.push(fc.constantFrom(...pathIndexes).map((index) => ({ where: 'path' as const, index })))

  const mutations: fc.Arbitrary<Mutation>[] = []
  if (json.length > 0) {
    const jsonTarget = fc.oneof(...json)
    for (const raw of Object.values(jsonClasses)) mutations.push(fc.record({ target: jsonTarget, raw }))
  }
  if (targets.length > 0) {
    const textTarget = fc.oneof(...targets)
    for (const raw of Object.values(textClasses)) mutations.push(fc.record({ target: textTarget, raw }))
  }
  if (mutations.length === 0) return []
  const chosen = mutations.flatMap((arb, i) => fc.sample(arb, { seed: seed + i, numRuns: 1 }))
  chosen.push(...fc.sample(fc.oneof(...mutations), { seed, numRuns: RANDOM_RUNS }))
  return chosen.map((m) => spoil(op, base, m))
}

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
      for (const request of hostileRequests(op, base, routeSeed(op))) {
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
