import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import { ApiError, detail } from './api-error.ts'

/**
 * Prometheus metrics for one hub: a registry per app (so tests can build several apps in
 * one process), Node's process metrics, and a request counter and latency histogram keyed
 * by route pattern, never by raw URL, to keep label cardinality bounded.
 */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'estatehub_' })
  const requests = new Counter({
    name: 'estatehub_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'estatehub_http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  return { registry, requests, duration }
}

export type HubMetrics = ReturnType<typeof createMetrics>

/**
 * Who may read /metrics on the API's listener: anyone (`public`; the tests' apps), callers with
 * this bearer token, or nobody (`off`: the running hub's default, with the metrics on a listener
 * of their own or nowhere). Route counts and process details are not for the whole network.
 */
export type MetricsAccess = 'public' | 'off' | { readonly token: string }

function sameSecret(given: string, expected: string): boolean {
  // Hashed first: timingSafeEqual needs equal lengths, and the length must not leak either.
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

function refused(message: string, rule: 'auth.tokenMissing' | 'auth.tokenInvalid') {
  return new ApiError('EH_ERR_UNAUTHENTICATED', message, [detail('headers.authorization', message, rule)])
}

export function registerMetrics(app: FastifyInstance, metrics: HubMetrics, access: MetricsAccess = 'public') {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })
  if (access === 'off') return
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    if (access !== 'public') {
      const [scheme, token] = (request.headers.authorization ?? '').split(' ')
      if (!token || scheme?.toLowerCase() !== 'bearer')
        throw refused('/metrics needs "Authorization: Bearer <metrics.token>"', 'auth.tokenMissing')
      if (!sameSecret(token, access.token)) throw refused('wrong metrics token', 'auth.tokenInvalid')
    }
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })
}

export interface MetricsListener {
  /** Where Prometheus scrapes: `http://host:port/metrics`. */
  readonly url: string
  close(): Promise<void>
}

/**
 * /metrics on a listener of its own (`metrics.listen`), apart from the API: bind it to a
 * loopback or monitoring-network address that the public never reaches. Serves nothing else.
 */
export async function listenForMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('only GET /metrics here\n')
      return
    }
    registry.metrics().then(
      (text) =>
        response
          .writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
          .end(request.method === 'HEAD' ? undefined : text),
      (error: Error) => response.writeHead(500).end(`metrics failed: ${error.message}\n`),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
