import helmet from '@fastify/helmet'
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { AccessScope } from './access-scope.ts'
import { ApiError, ruleRef } from './api-error.ts'

/** At most `max` requests per `windowSeconds` from one caller. */
export interface RateLimit {
  readonly max: number
  readonly windowSeconds: number
}

export type RateLimitName = 'login' | 'import' | 'receipt'
export type RateLimits = Readonly<Record<RateLimitName, RateLimit>>

/**
 * The routes each limit covers, by method and URL pattern. The routes belong to their modules;
 * the list is here so that the whole HTTP policy is read in one place. An app with limits
 * refuses to start when one is missing (a renamed route must not lose its limit quietly).
 */
export const rateLimitedRoutes: Readonly<Record<RateLimitName, readonly string[]>> = {
  // Any login, right or wrong, from one address (failed ones are also throttled in the store).
  login: ['POST /api/v1/auth/login'],
  // A spreadsheet parsed and written row by row.
  import: ['POST /api/v1/estates/:estateId/imports/:kind'],
  // A receipt rendered from several tables.
  receipt: ['GET /api/v1/payments/:id/receipt'],
}

export interface HttpPolicy {
  /**
   * The hub serves HTTPS itself: HSTS and `upgrade-insecure-requests` are sent. On plain HTTP
   * they are not: the console opened at a LAN address would be sent to an HTTPS port that is
   * not there (behind a TLS proxy, the proxy adds HSTS).
   */
  readonly https: boolean
  /** Absent: no limits (the tests' hubs log in hundreds of times a minute from one address). */
  readonly rateLimits?: RateLimits
}

/**
 * The console's and the API document's pages load only the hub's own files. Styles may be
 * inline (Element Plus and ECharts set style attributes, the printed receipt has a <style>);
 * scripts never are. `blob:` frames are the receipt preview (fetched with the token, shown from
 * a blob URL); `data:` images are icons inlined in CSS.
 */
function contentSecurityPolicy(https: boolean) {
  return {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      frameSrc: ["'self'", 'blob:'],
      imgSrc: ["'self'", 'data:', 'blob:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      ...(https ? { upgradeInsecureRequests: [] } : {}),
    },
  }
}

/**
 * Fastify's refusals before routing (a malformed URL) run no hook, so neither helmet nor the
 * no-store above: the headers that matter for an error body, set by hand.
 */
export function refusalHeaders<R extends FastifyReply>(reply: R): R {
  reply.header('cache-control', 'no-store')
  reply.header('x-content-type-options', 'nosniff')
  reply.header('x-frame-options', 'DENY')
  reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
  return reply
}

function isApiPath(url: string): boolean {
  const path = url.split('?', 1)[0] ?? url
  return path === '/api' || path.startsWith('/api/')
}

/** Signed-in callers are counted per user (an office shares one address); others per address. */
function callerKey(request: FastifyRequest): string {
  const scope = request.scope as AccessScope | null
  return scope ? `user:${scope.userId}` : `address:${normalizeIP(request.ip)}`
}

function rateLimitedAnswer(name: RateLimitName, limit: RateLimit) {
  return (request: FastifyRequest, context: { ttl: number }) => {
    const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000))
    return new ApiError(
      'EH_ERR_RATE_LIMITED',
      `too many ${name} requests: at most ${limit.max} in ${limit.windowSeconds} s from one ${
        (request.scope as AccessScope | null) ? 'user' : 'address'
      }; retry in ${retryAfterSeconds} s`,
      [],
      ruleRef('request.rateLimited', {
        max: limit.max,
        windowSeconds: limit.windowSeconds,
        retryAfterSeconds,
      }),
    )
  }
}

/** `METHOD /url` of a route; the HEAD route Fastify adds to a GET runs its handler, so counts as it. */
function routeKeys(route: RouteOptions): string[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  return methods.map((method) => `${method === 'HEAD' ? 'GET' : method} ${route.url}`)
}

/**
 * The hub's HTTP policy, in one place: security headers on every answer (helmet), `no-store`
 * on every API answer (they carry personal data, errors included), and rate limits on the
 * routes listed above. Register before any route: the limits are attached as routes are added.
 */
export async function registerHttpPolicy(app: FastifyInstance, policy: HttpPolicy) {
  await app.register(helmet, {
    contentSecurityPolicy: contentSecurityPolicy(policy.https),
    frameguard: { action: 'deny' },
    // A year, this host only: the hub does not know what else runs under its domain.
    hsts: policy.https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  })

  app.addHook('onSend', async (request, reply) => {
    if (isApiPath(request.url)) reply.header('cache-control', 'no-store')
  })

  const limits = policy.rateLimits
  if (!limits) return
  const byRoute = new Map<string, RateLimitName>()
  for (const [name, routes] of Object.entries(rateLimitedRoutes) as [RateLimitName, readonly string[]][])
    for (const route of routes) byRoute.set(route, name)
  const seen = new Set<string>()
  // Before the plugin's own onRoute hook, which reads config.rateLimit.
  app.addHook('onRoute', (route) => {
    const key = routeKeys(route).find((k) => byRoute.has(k))
    const name = key && byRoute.get(key)
    if (!key || !name) return
    seen.add(key)
    const limit = limits[name]
    // The 429 in the API document (and so in the console's generated types).
    const responses = route.schema?.response as Record<string, unknown> | undefined
    if (route.schema && responses && !('429' in responses))
      route.schema = { ...route.schema, response: { ...responses, 429: { $ref: 'ErrorResponse' } } }
    route.config = {
      ...(route.config as object),
      rateLimit: {
        max: limit.max,
        timeWindow: limit.windowSeconds * 1000,
        keyGenerator: callerKey,
        errorResponseBuilder: rateLimitedAnswer(name, limit),
      },
    }
  })
  await app.register(rateLimit, {
    global: false,
    // Room for every address and user of a busy site; the least recent is forgotten first.
    cache: 10_000,
    // X-RateLimit-* on every answer of a limited route; Retry-After with the 429.
    addHeadersOnExceeding: {
      'x-ratelimit-limit': true,
      'x-ratelimit-remaining': true,
      'x-ratelimit-reset': true,
    },
  })
  app.addHook('onReady', async () => {
    const missing = [...byRoute.keys()].filter((k) => !seen.has(k))
    if (missing.length > 0)
      throw new Error(`rate limits: no route ${missing.join(', ')} (renamed? update rateLimitedRoutes)`)
  })
}
