import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { sql } from 'kysely'
import { Type } from 'typebox'
import { registerAlarmReportRoutes } from '../alarms/alarm-report-routes.ts'
import { alarmResources } from '../alarms/alarm-rule-resource.ts'
import { registerEventRoutes } from '../alarms/event-routes.ts'
import { slaPolicyResource } from '../alarms/sla-policy-resource.ts'
import { registerWorkOrderRoutes } from '../alarms/work-order-routes.ts'
import { registerAuthRoutes } from '../auth/auth-routes.ts'
import { registerAuthentication } from '../auth/authenticate.ts'
import { LoginThrottle } from '../auth/login-throttle.ts'
import { registerUserRoutes } from '../auth/user-routes.ts'
import { registerBillingRoutes } from '../billing/billing-routes.ts'
import { feeResources } from '../billing/fee-resources.ts'
import { registerReportRoutes } from '../billing/report-routes.ts'
import { deviceResource } from '../devices/device-resource.ts'
import { gatewayResource } from '../devices/gateway-resource.ts'
import { registerGatewayRoutes } from '../devices/gateway-routes.ts'
import { pointResource } from '../devices/point-resource.ts'
import { registerPresenceRoutes } from '../devices/presence-routes.ts'
import { registerImportRoutes } from '../import/import-routes.ts'
import { registerIngestRoutes } from '../ingest/ingest-routes.ts'
import { ApiError } from '../kernel/api-error.ts'
import { handleError } from '../kernel/error-handler.ts'
import { registerEstateResource } from '../kernel/estate-resource-routes.ts'
import { createMetrics, type HubMetrics, registerMetrics } from '../kernel/http-metrics.ts'
import { ErrorResponse } from '../kernel/schema-parts.ts'
import { registerMeterReadRoutes } from '../metering/meter-read-routes.ts'
import { meterReplacementResource } from '../metering/meter-replacement-resource.ts'
import { registerMeterReplacementRoutes } from '../metering/meter-replacement-routes.ts'
import { meterResource } from '../metering/meter-resource.ts'
import { notificationChannelResource } from '../notify/notification-channel-resource.ts'
import { registerNotificationRoutes } from '../notify/notification-routes.ts'
import { registerOrgRoutes } from '../org/org-routes.ts'
import { registerOverviewRoutes } from '../overview/overview-routes.ts'
import { buildingResource } from '../property/building-resource.ts'
import { customerCredentialResource } from '../property/customer-credential-resource.ts'
import { customerResource } from '../property/customer-resource.ts'
import { occupancyResource } from '../property/occupancy-resource.ts'
import { unitResource } from '../property/unit-resource.ts'
import type { Store } from '../store/open-store.ts'
import { LiveFeed } from '../timeseries/live-feed.ts'
import { registerLiveRoutes } from '../timeseries/live-routes.ts'
import { registerSeriesRoutes } from '../timeseries/series-routes.ts'
import { registerConsole } from './console-static.ts'

export interface AppOptions {
  readonly store: Store
  readonly auth?: { tokenTtlMinutes?: number; loginMaxFailures?: number; loginLockMinutes?: number }
  readonly logger?: FastifyServerOptions['logger']
  readonly version?: string
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer }
  /** The hub's Prometheus registry and HTTP metrics; created here when absent. */
  readonly metrics?: HubMetrics
  /** Poked when a failed notification is put back in the queue (the hub's dispatcher). */
  readonly notifications?: { poke(): void }
  /** Where the built web console lies; default dashboards/console/dist. */
  readonly consoleRoot?: string
  /** Committed readings for the live stream (the hub's ingest publishes to it); a silent one when absent. */
  readonly live?: LiveFeed
}

/** Every estate-scoped resource served by the generic routes; order sets the OpenAPI order. */
export const estateResources = [
  buildingResource,
  unitResource,
  customerResource,
  customerCredentialResource,
  occupancyResource,
  gatewayResource,
  deviceResource,
  pointResource,
  meterResource,
  meterReplacementResource,
  ...feeResources,
  ...alarmResources,
  notificationChannelResource,
  slaPolicyResource,
]

/** Builds the hub's HTTP app without listening (tests use `app.inject`). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // Fastify's types split on https; the instance behaves the same to every caller here.
  const { db } = options.store
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    logger: options.logger ?? false,
    // Unknown body or query keys are refused rather than silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    bodyLimit: 20 * 1024 * 1024,
  })
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) =>
    handleError(
      new ApiError('EH_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  )
  app.addSchema(ErrorResponse)

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
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } })

  const metrics = options.metrics ?? createMetrics()
  registerMetrics(app, metrics)
  registerAuthentication(app, db)

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Liveness and store reachability',
        response: {
          200: Type.Object({ status: Type.String(), store: Type.String() }),
          503: Type.Ref('ErrorResponse'),
        },
      },
    },
    async (_request, reply) => {
      try {
        await sql`select 1`.execute(db)
        return { status: 'ok', store: options.store.backend }
      } catch {
        return reply
          .status(503)
          .send({ error: 'EH_ERR_STORE_DOWN', message: 'the store does not answer', details: [] })
      }
    },
  )

  const auth = options.auth ?? {}
  registerAuthRoutes(app, db, {
    tokenTtlMinutes: auth.tokenTtlMinutes ?? 720,
    throttle: new LoginThrottle(auth.loginMaxFailures ?? 10, auth.loginLockMinutes ?? 15),
  })
  registerUserRoutes(app, db)
  registerOrgRoutes(app, db)
  for (const resource of estateResources) registerEstateResource(app, db, resource)
  registerGatewayRoutes(app, db)
  registerMeterReplacementRoutes(app, db)
  registerImportRoutes(app, db)
  registerSeriesRoutes(app, db)
  registerPresenceRoutes(app, db)
  registerLiveRoutes(app, db, options.live ?? new LiveFeed())
  registerOverviewRoutes(app, db)
  registerIngestRoutes(app, db)
  registerMeterReadRoutes(app, db)
  registerBillingRoutes(app, db)
  registerReportRoutes(app, db)
  registerAlarmReportRoutes(app, db)
  registerWorkOrderRoutes(app, db)
  registerEventRoutes(app, db)
  registerNotificationRoutes(app, db, options.notifications)
  // The web console at / (registered last: it answers only the GETs no API route takes).
  await registerConsole(app, options.consoleRoot ? { root: options.consoleRoot } : {})
  return app
}
