import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { sql } from 'kysely'
import { Type } from 'typebox'
import type { AuthModuleOptions } from '../auth/auth-module.ts'
import { registerAuthentication } from '../auth/authenticate.ts'
import { STORE_RETRY_AFTER_SECONDS, storeUnavailable } from '../kernel/database-error.ts'
import { handleError, handleNotFound } from '../kernel/error-handler.ts'
import { registerEstateResource } from '../kernel/estate-resource-routes.ts'
import { registerFiniteNumbers } from '../kernel/finite-numbers.ts'
import {
  createMetrics,
  type HubMetrics,
  type MetricsAccess,
  registerMetrics,
} from '../kernel/http-metrics.ts'
import { type RateLimits, refusalHeaders, registerHttpPolicy } from '../kernel/http-policy.ts'
import type { HubModule } from '../kernel/hub-module.ts'
import { answerClientError, registerUrlLimit } from '../kernel/request-limits.ts'
import { registerRequestLog } from '../kernel/request-log.ts'
import { registerRouteAccess } from '../kernel/route-access.ts'
import { ErrorResponse } from '../kernel/schema-parts.ts'
import { registerStorableText } from '../kernel/storable-text.ts'
import type { Store } from '../store/open-store.ts'
import type { LiveFeed } from '../timeseries/live-feed.ts'
import { registerConsole } from './console-static.ts'
import { hubModules } from './hub-modules.ts'

export interface AppOptions {
  readonly store: Store
  readonly auth?: AuthModuleOptions
  readonly logger?: FastifyServerOptions['logger']
  /** The level of the one line logged per request: 'debug' keeps them out of an info-level log. */
  readonly requestLogLevel?: 'info' | 'debug'
  readonly version?: string
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer }
  /** The hub's Prometheus registry and HTTP metrics; created here when absent. */
  readonly metrics?: HubMetrics
  /** Who may read /metrics on this app (http-metrics.ts); public when absent, as in the tests. */
  readonly metricsAccess?: MetricsAccess
  /** Rate limits on login, import and receipts (http-policy.ts); none when absent. */
  readonly rateLimits?: RateLimits
  /** Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs). */
  readonly trustProxy?: readonly string[]
  /** Poked when a failed notification is put back in the queue (the hub's dispatcher). */
  readonly notifications?: { poke(): void }
  /** Where the built web console lies; default dashboards/console/dist. */
  readonly consoleRoot?: string
  /** Committed readings for the live stream (the hub's ingest publishes to it); a silent one when absent. */
  readonly live?: LiveFeed
  /** The domains to serve; every hub module (hub-modules.ts) when absent. */
  readonly modules?: readonly HubModule[]
}

/** Every module's OpenAPI tags in module order; a tag two modules share (reports) is listed once. */
function apiTags(modules: readonly HubModule[]): { name: string; description: string }[] {
  const tags = new Map<string, { name: string; description: string }>()
  for (const tag of modules.flatMap((m) => m.tags ?? []))
    if (!tags.has(tag.name)) tags.set(tag.name, { ...tag })
  return [...tags.values()]
}

/** Builds the hub's HTTP app without listening (tests use `app.inject`). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // Fastify's types split on https; the instance behaves the same to every caller here.
  const { db } = options.store
  const modules =
    options.modules ??
    hubModules({
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.live ? { live: options.live } : {}),
      ...(options.notifications ? { notifications: options.notifications } : {}),
    })
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    // Rate limits count the caller behind these proxies (X-Forwarded-For), not the proxy.
    trustProxy: options.trustProxy ? [...options.trustProxy] : false,
    logger: options.logger ?? false,
    // Unknown body or query keys are refused rather than silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    bodyLimit: 20 * 1024 * 1024,
    // A malformed or over-long URL answers in our error shape too, not Fastify's own.
    frameworkErrors: (error, request, reply) => handleError(error, request, refusalHeaders(reply)),
    // Node's parser refusals (headers over 16 KiB, not HTTP) in our shape too.
    clientErrorHandler: answerClientError,
    // One line per request (registerRequestLog), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setErrorHandler(handleError)
  app.setNotFoundHandler(handleNotFound)
  app.addSchema(ErrorResponse)
  // Security headers, no-store on the API, rate limits: before any route is added.
  await registerHttpPolicy(app, {
    https: Boolean(options.https),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
  })

  // The OpenAPI document and its UI are public; everything they describe is not.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config as object), public: true }
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'EstateHub API',
        version: options.version ?? '0.1.0',
        description:
          'Property operations hub. Log in at POST /api/v1/auth/login and send `Authorization: Bearer <token>`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'operations', description: 'Liveness, metrics and the API document' },
        ...apiTags(modules),
      ],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } })

  const metrics = options.metrics ?? createMetrics()
  registerMetrics(app, metrics, options.metricsAccess)
  registerRequestLog(app, options.requestLogLevel)
  registerUrlLimit(app)
  registerStorableText(app)
  registerFiniteNumbers(app)
  registerAuthentication(app, db)
  registerRouteAccess(app, db)

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Liveness and store reachability',
        description:
          '200 while the store answers `select 1`; 503 `degraded` (in the error shape, with Retry-After) while it does not. The hub keeps running and answers 200 again by itself when the store is back.',
        response: {
          200: Type.Object({ status: Type.String(), store: Type.String() }),
          // The error shape, plus what a load balancer or a person reads at a glance.
          503: Type.Object({
            status: Type.Literal('degraded'),
            store: Type.Literal('unreachable'),
            error: Type.String(),
            message: Type.String(),
            rule: Type.String(),
            params: Type.Object({}),
            details: Type.Array(Type.Object({})),
          }),
        },
      },
    },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(db)
        return { status: 'ok', store: options.store.backend }
      } catch (error) {
        request.log.warn({ err: error }, 'healthz: the store does not answer')
        const down = storeUnavailable()
        return reply.status(503).header('retry-after', STORE_RETRY_AFTER_SECONDS).send({
          status: 'degraded',
          store: 'unreachable',
          error: down.code,
          message: down.message,
          rule: 'store.unavailable',
          params: {},
          details: [],
        })
      }
    },
  )

  // Each module's routes in a plugin of its own: hooks, parsers and decorators stay inside.
  for (const module of modules) {
    await app.register(async (scope) => {
      for (const resource of module.resources ?? []) registerEstateResource(scope, db, resource)
      await module.routes?.(scope, db)
    })
  }
  // The web console at / (registered last: it answers only the GETs no API route takes).
  await registerConsole(app, options.consoleRoot ? { root: options.consoleRoot } : {})
  return app
}
