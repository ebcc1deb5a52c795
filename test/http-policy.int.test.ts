import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../hub/app/build-app.ts'
import { createUser } from '../hub/auth/user-accounts.ts'
import { type RunningHub, startHub } from '../hub/cli/hub-command.ts'
import { loadHubConfig } from '../hub/config/hub-config.ts'
import { createMetrics, listenForMetrics } from '../hub/kernel/http-metrics.ts'
import type { RateLimits } from '../hub/kernel/http-policy.ts'
import type { Store } from '../hub/store/open-store.ts'
import { selfSignedCert } from './support/self-signed-cert.ts'
import { storeBackends } from './support/store-backends.ts'
import { TEST_PASSWORD } from './support/test-hub.ts'

// The hub's HTTP policy (hub/kernel/http-policy.ts, http-metrics.ts): security headers on
// every answer, no-store on the API, rate limits on login, import and receipts, and /metrics
// kept off the public listener. The policy does not depend on the store: PGlite only.
const pglite = storeBackends().find((b) => b.name === 'pglite')!

const generous = { max: 1000, windowSeconds: 60 }
const limits = (overrides: Partial<RateLimits>): RateLimits => ({
  login: generous,
  import: generous,
  receipt: generous,
  ...overrides,
})

function cspOf(response: LightMyRequestResponse): Map<string, string> {
  const header = String(response.headers['content-security-policy'] ?? '')
  return new Map(
    header
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(' ')[0]!, d.slice(d.indexOf(' ') + 1)]),
  )
}

function expectSecurityHeaders(response: LightMyRequestResponse) {
  expect(response.headers['x-content-type-options']).toBe('nosniff')
  expect(response.headers['x-frame-options']).toBe('DENY')
  expect(response.headers['referrer-policy']).toBe('no-referrer')
  const csp = cspOf(response)
  expect(csp.get('frame-ancestors')).toBe("'none'")
  expect(csp.get('script-src')).toBe("'self'")
  expect(csp.get('default-src')).toBe("'self'")
  expect(csp.get('object-src')).toBe("'none'")
}

const login = (app: FastifyInstance, username: string, remoteAddress = '127.0.0.1') =>
  app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress,
    payload: { username, password: TEST_PASSWORD },
  })

describe('HTTP policy', () => {
  let store: Store
  let consoleRoot: string
  beforeAll(async () => {
    store = await pglite.open()
    await createUser(store.db, { username: 'policy-a', password: TEST_PASSWORD })
    await createUser(store.db, { username: 'policy-b', password: TEST_PASSWORD })
    // A console build as Vite writes it: index.html and hashed assets.
    consoleRoot = mkdtempSync(join(tmpdir(), 'estatehub-policy-console-'))
    mkdirSync(join(consoleRoot, 'assets'))
    writeFileSync(
      join(consoleRoot, 'index.html'),
      '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>',
    )
    writeFileSync(join(consoleRoot, 'assets', 'app-1a2b.js'), 'console.log("console")')
  })
  afterAll(async () => {
    await store?.close()
    rmSync(consoleRoot, { recursive: true, force: true })
  })

  describe('headers on plain HTTP', () => {
    let app: FastifyInstance
    beforeAll(async () => {
      app = await buildApp({ store, consoleRoot })
      await app.ready()
    })
    afterAll(() => app?.close())

    it('sends security headers and no-store on an API answer and on an API error', async () => {
      const ok = await login(app, 'policy-a')
      expect(ok.statusCode).toBe(200)
      expectSecurityHeaders(ok)
      expect(ok.headers['cache-control']).toBe('no-store')
      // Served over plain HTTP: no HSTS, and no upgrade of the console's requests to https.
      expect(ok.headers['strict-transport-security']).toBeUndefined()
      expect(cspOf(ok).has('upgrade-insecure-requests')).toBe(false)

      const refused = await app.inject({ method: 'GET', url: '/api/v1/auth/me' })
      expect(refused.statusCode).toBe(401)
      expectSecurityHeaders(refused)
      expect(refused.headers['cache-control']).toBe('no-store')

      const unknown = await app.inject({ method: 'GET', url: '/api/v1/no-such-thing?x=1' })
      expect(unknown.statusCode).toBe(404)
      expectSecurityHeaders(unknown)
      expect(unknown.headers['cache-control']).toBe('no-store')

      // Refused before routing (no hook runs): the headers are set by hand.
      const malformed = await app.inject({ method: 'GET', url: '/api/v1/%zz' })
      expect(malformed.statusCode).toBe(400)
      expect(malformed.json()).toMatchObject({ error: 'EH_ERR_VALIDATION', rule: 'request.badUrl' })
      expect(malformed.headers['cache-control']).toBe('no-store')
      expect(malformed.headers['x-content-type-options']).toBe('nosniff')
      expect(cspOf(malformed).get('frame-ancestors')).toBe("'none'")
    })

    it('sends them on the API document, whose UI runs under the same policy', async () => {
      const docs = await app.inject({ method: 'GET', url: '/docs/' })
      expect(docs.statusCode).toBe(200)
      expectSecurityHeaders(docs)
      // Its scripts are files of its own, never inline: script-src 'self' is enough.
      expect(docs.body).not.toMatch(/<script>(?!\s*<)/)
      const script = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
      expect(script.statusCode).toBe(200)
      expect(script.headers['x-content-type-options']).toBe('nosniff')
    })

    it('sends them on the console, whose hashed assets keep their year of caching', async () => {
      const index = await app.inject({
        method: 'GET',
        url: '/billing/desk',
        headers: { accept: 'text/html' },
      })
      expect(index.statusCode).toBe(200)
      expectSecurityHeaders(index)
      expect(index.headers['cache-control']).toBe('no-cache')
      // The receipt preview is a blob: frame; inline styles for Element Plus and ECharts.
      expect(cspOf(index).get('frame-src')).toBe("'self' blob:")
      expect(cspOf(index).get('style-src')).toBe("'self' 'unsafe-inline'")
      const asset = await app.inject({ method: 'GET', url: '/assets/app-1a2b.js' })
      expect(asset.statusCode).toBe(200)
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expect(asset.headers['x-content-type-options']).toBe('nosniff')
    })

    it('serves /metrics to anyone when built without a policy for it (the tests’ apps)', async () => {
      const metrics = await app.inject({ method: 'GET', url: '/metrics' })
      expect(metrics.statusCode).toBe(200)
      expect(metrics.body).toMatch(/estatehub_http_requests_total/)
    })
  })

  it('sends HSTS and upgrade-insecure-requests when the hub serves HTTPS itself', async () => {
    const tls = selfSignedCert()
    const app = await buildApp({
      store,
      https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
    })
    try {
      const answer = await app.inject({ method: 'GET', url: '/api/v1/auth/me' })
      expect(answer.headers['strict-transport-security']).toBe('max-age=31536000')
      expect(cspOf(answer).has('upgrade-insecure-requests')).toBe(true)
    } finally {
      await app.close()
      rmSync(tls.dir, { recursive: true, force: true })
    }
  })

  describe('rate limits', () => {
    it('answers 429 in the hub’s shape after the login limit, per address', async () => {
      const app = await buildApp({ store, rateLimits: limits({ login: { max: 3, windowSeconds: 60 } }) })
      try {
        for (let i = 0; i < 3; i++) {
          const answer = await login(app, i === 1 ? 'nobody' : 'policy-a', '198.51.100.7')
          expect(answer.statusCode).toBe(i === 1 ? 401 : 200)
          expect(answer.headers['x-ratelimit-remaining']).toBe(String(2 - i))
        }
        const limited = await login(app, 'policy-a', '198.51.100.7')
        expect(limited.statusCode).toBe(429)
        expect(limited.json()).toEqual({
          error: 'EH_ERR_RATE_LIMITED',
          message: expect.stringMatching(
            /^too many login requests: at most 3 in 60 s from one address; retry in \d+ s$/,
          ),
          rule: 'request.rateLimited',
          params: { max: 3, windowSeconds: 60, retryAfterSeconds: expect.any(Number) },
          details: [],
        })
        const retryAfter = Number(limited.headers['retry-after'])
        expect(retryAfter).toBeGreaterThan(0)
        expect(retryAfter).toBeLessThanOrEqual(60)
        expect(limited.json().params.retryAfterSeconds).toBe(retryAfter)
        expectSecurityHeaders(limited)
        expect(limited.headers['cache-control']).toBe('no-store')
        // Another address is counted apart.
        expect((await login(app, 'policy-a', '203.0.113.9')).statusCode).toBe(200)
        // Routes not listed are not limited.
        const other = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.7' })
        expect(other.statusCode).toBe(200)
        expect(other.headers['x-ratelimit-limit']).toBeUndefined()
      } finally {
        await app.close()
      }
    })

    it('counts a signed-in user’s receipts per user, whatever the address', async () => {
      const app = await buildApp({ store, rateLimits: limits({ receipt: { max: 2, windowSeconds: 600 } }) })
      try {
        const tokenA = (await login(app, 'policy-a')).json().token as string
        const tokenB = (await login(app, 'policy-b')).json().token as string
        const receipt = (token: string, remoteAddress: string) =>
          app.inject({
            method: 'GET',
            url: `/api/v1/payments/${randomUUID()}/receipt`,
            remoteAddress,
            headers: { authorization: `Bearer ${token}` },
          })
        // No such payment (404), but each asking counts.
        expect((await receipt(tokenA, '198.51.100.1')).statusCode).toBe(404)
        expect((await receipt(tokenA, '198.51.100.2')).statusCode).toBe(404)
        const limited = await receipt(tokenA, '198.51.100.3')
        expect(limited.statusCode).toBe(429)
        expect(limited.json()).toMatchObject({
          error: 'EH_ERR_RATE_LIMITED',
          rule: 'request.rateLimited',
          params: { max: 2, windowSeconds: 600 },
        })
        expect(limited.json().message).toMatch(/from one user/)
        // Another user from the very same address is not held up.
        expect((await receipt(tokenB, '198.51.100.3')).statusCode).toBe(404)
        // HEAD runs the same handler: limited as well (counted apart from GET, by Fastify's route).
        const head = () =>
          app.inject({
            method: 'HEAD',
            url: `/api/v1/payments/${randomUUID()}/receipt`,
            headers: { authorization: `Bearer ${tokenA}` },
          })
        expect((await head()).headers['x-ratelimit-limit']).toBe('2')
        await head()
        expect((await head()).statusCode).toBe(429)
      } finally {
        await app.close()
      }
    })

    it('refuses to start when a listed route is missing (a renamed route keeps no limit quietly)', async () => {
      const app = await buildApp({ store, modules: [], rateLimits: limits({}) })
      await expect(app.ready()).rejects.toThrow(/rate limits: no route POST \/api\/v1\/auth\/login/)
      await app.close().catch(() => {})
    })

    it('documents the 429 of a limited route in the API document', async () => {
      const app = await buildApp({ store, rateLimits: limits({}) })
      try {
        await app.ready()
        const doc = app.swagger() as unknown as {
          paths: Record<string, Record<string, { responses: object }>>
        }
        expect(doc.paths['/api/v1/auth/login']?.post?.responses).toHaveProperty('429')
        expect(doc.paths['/api/v1/payments/{id}/receipt']?.get?.responses).toHaveProperty('429')
      } finally {
        await app.close()
      }
    })
  })

  describe('/metrics', () => {
    it('asks for the metrics token on the API listener, compared whole', async () => {
      const token = 'metrics-token-0123456789abcdef'
      const app = await buildApp({ store, metricsAccess: { token } })
      try {
        const none = await app.inject({ method: 'GET', url: '/metrics' })
        expect(none.statusCode).toBe(401)
        expect(none.json()).toMatchObject({ error: 'EH_ERR_UNAUTHENTICATED', rule: 'auth.tokenMissing' })
        for (const wrong of [`${token}x`, token.slice(0, -1), 'x'])
          expect(
            (
              await app.inject({
                method: 'GET',
                url: '/metrics',
                headers: { authorization: `Bearer ${wrong}` },
              })
            ).statusCode,
          ).toBe(401)
        const right = await app.inject({
          method: 'GET',
          url: '/metrics',
          headers: { authorization: `Bearer ${token}` },
        })
        expect(right.statusCode).toBe(200)
        expect(right.body).toMatch(
          /estatehub_http_requests_total\{method="GET",route="\/metrics",status="401"\} 4/,
        )
      } finally {
        await app.close()
      }
    })

    it('serves nothing at /metrics on the API listener when off', async () => {
      const app = await buildApp({ store, metricsAccess: 'off' })
      try {
        const answer = await app.inject({ method: 'GET', url: '/metrics' })
        expect(answer.statusCode).toBe(404)
        expect(answer.json()).toMatchObject({ error: 'EH_ERR_NOT_FOUND', rule: 'route.unknown' })
      } finally {
        await app.close()
      }
    })

    it('serves only /metrics on a listener of its own', async () => {
      const metrics = createMetrics()
      const listener = await listenForMetrics(metrics.registry, '127.0.0.1', 0)
      try {
        expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
        const scraped = await fetch(listener.url)
        expect(scraped.status).toBe(200)
        expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/)
        expect(await scraped.text()).toMatch(/^estatehub_process_cpu_seconds_total/m)
        expect((await fetch(listener.url.replace('/metrics', '/api/v1/auth/me'))).status).toBe(404)
      } finally {
        await listener.close()
      }
    })
  })
})

describe('the running hub’s metrics (metrics.listen and metrics.token)', () => {
  let hub: RunningHub
  let dir: string
  const token = 'hub-metrics-token-0123456789'
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'estatehub-policy-hub-'))
    const file = join(dir, 'hub.yaml')
    writeFileSync(
      file,
      [
        'http: { port: 0 }',
        'mqtt: { port: 0 }',
        `database: { dataDir: ${JSON.stringify(join(dir, 'data'))} }`,
        'metrics:',
        '  listen: 127.0.0.1:0',
        '  token: ${POLICY_METRICS_TOKEN}',
        'log: { level: warn }',
        '',
      ].join('\n'),
    )
    hub = await startHub(loadHubConfig(file, { POLICY_METRICS_TOKEN: token }))
  }, 60_000)
  afterAll(async () => {
    await hub?.app.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('serves the metrics on their own listener without a token, and on the API port only with it', async () => {
    expect(hub.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(hub.metricsUrl).not.toContain(new URL(hub.url).port)
    await fetch(`${hub.url}/healthz`)
    const scraped = await fetch(hub.metricsUrl!)
    expect(scraped.status).toBe(200)
    const text = await scraped.text()
    // The same registry as the API's and the ingest's.
    expect(text).toMatch(/estatehub_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/)
    expect(text).toMatch(/^estatehub_ingest_/m)
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(401)
    const withToken = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(withToken.status).toBe(200)
  })

  it('answers the login limit of the config (30 a minute per address by default)', async () => {
    const answer = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: 'wrong-password-1' }),
    })
    expect(answer.status).toBe(401)
    expect(answer.headers.get('x-ratelimit-limit')).toBe('30')
    expect(answer.headers.get('cache-control')).toBe('no-store')
  })
})
