import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { DeviceEvent } from '../driver-types.ts'
import { AccessError } from './access-errors.ts'
import { type ParsedAccessEvent, parseAccessEvents } from './access-event-parse.ts'
import { type AccessControllerConfig, checkControllers, createTokenMatcher } from './controller-auth.ts'
import { RecentEventIds } from './recent-event-ids.ts'

/**
 * The gateway's receiver for access controllers that push events over HTTP
 * (docs/access-events.md). It authenticates the controller, checks each event, drops
 * retries it has already delivered and hands the rest to `onEvent` as DeviceEvents.
 */

export interface AccessReceiverAppOptions {
  readonly controllers: readonly AccessControllerConfig[]
  /**
   * Called once per new event. The reply waits for it, so a Promise that rejects (the
   * outbox is full, the disk failed) becomes a 500 and the controller retries the event.
   */
  readonly onEvent: (event: DeviceEvent) => void | Promise<void>
  /** Event ids remembered per controller for de-duplication; default 10,000. */
  readonly dedupWindow?: number
  /** Largest request body; default 1 MiB (500 events fit in well under that). */
  readonly bodyLimitBytes?: number
  /** The gateway's clock, for the future-timestamp check; tests pass their own. */
  readonly now?: () => number
  readonly logger?: boolean
}

export interface AccessReceiverOptions extends AccessReceiverAppOptions {
  readonly host: string
  /** 0 picks a free port; read it back from the result. */
  readonly port: number
}

export interface AccessReceiver {
  readonly port: number
  close(): Promise<void>
}

export const defaultDedupWindow = 10_000
export const defaultBodyLimitBytes = 1_048_576

/** What a controller gets back for an accepted request. */
export interface AccessIngestResult {
  /** Events in the request. */
  readonly received: number
  /** Events handed on; the rest were retries of events already delivered. */
  readonly emitted: number
  readonly duplicates: number
}

const unauthenticated = () =>
  // One answer for a missing header, a malformed one and an unknown token alike.
  new AccessError('EH_ERR_UNAUTHENTICATED', 'missing or unknown bearer token', [
    { field: 'headers.authorization', message: 'missing or unknown bearer token' },
  ])

function toAccessError(error: FastifyError | Error): AccessError | undefined {
  if (error instanceof AccessError) return error
  const e = error as FastifyError
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new AccessError('EH_ERR_PAYLOAD_TOO_LARGE', error.message, [
      { field: 'body', message: 'too large' },
    ])
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new AccessError('EH_ERR_UNSUPPORTED_MEDIA', 'send application/json', [
      { field: 'headers.content-type', message: 'must be application/json' },
    ])
  }
  // Invalid JSON, an empty JSON body and other client errors Fastify raises before the route.
  if (e.statusCode !== undefined && e.statusCode < 500) {
    return new AccessError('EH_ERR_VALIDATION', error.message, [{ field: 'request', message: error.message }])
  }
  return undefined
}

function toDeviceEvent(controller: AccessControllerConfig, p: ParsedAccessEvent): DeviceEvent {
  const { event } = p
  const payload: Record<string, unknown> = { controllerId: event.controllerId, eventId: event.eventId }
  if (event.credential !== undefined) payload.credential = { ...event.credential }
  if (event.person !== undefined) payload.person = event.person
  if (event.input !== undefined) payload.input = event.input
  return { source: `${controller.device}/${event.door}`, ts: p.tsMs, type: event.type, payload }
}

/** The Fastify app, not listening: tests may `inject()` into it; startAccessReceiver listens. */
export function buildAccessReceiver(opts: AccessReceiverAppOptions): FastifyInstance {
  const problems = checkControllers(opts.controllers)
  if (problems.length > 0) throw new Error(`access receiver: ${problems.join('; ')}`)
  const matchToken = createTokenMatcher(opts.controllers)
  const recent = new RecentEventIds(opts.dedupWindow ?? defaultDedupWindow)
  const now = opts.now ?? Date.now
  // Who authenticated each request; a WeakMap keeps Fastify's request type untouched.
  const callers = new WeakMap<FastifyRequest, AccessControllerConfig>()

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimitBytes ?? defaultBodyLimitBytes,
  })

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const mapped = toAccessError(error)
    if (!mapped) request.log.error({ err: error }, 'access event delivery failed')
    const out =
      mapped ?? new AccessError('EH_ERR_INTERNAL', 'internal error; the gateway log has the details')
    if (out.code === 'EH_ERR_UNAUTHENTICATED') void reply.header('www-authenticate', 'Bearer')
    return reply.status(out.statusCode).send(out.toBody())
  })
  app.setNotFoundHandler((request, reply) => {
    const e = new AccessError('EH_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)
    return reply.status(e.statusCode).send(e.toBody())
  })

  // Only JSON is spoken here: a text/plain body gets a 415, not a confusing 400.
  app.removeContentTypeParser('text/plain')

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.post(
    '/v1/events',
    {
      // onRequest runs before the body is read: an unknown caller never gets us to parse 1 MB.
      onRequest: async (request) => {
        const controller = matchToken(request.headers.authorization)
        if (!controller) throw unauthenticated()
        callers.set(request, controller)
      },
    },
    async (request): Promise<AccessIngestResult> => {
      const controller = callers.get(request)
      if (!controller) throw unauthenticated()
      const parsed = parseAccessEvents(request.body, now())
      const foreign = parsed.filter((p) => p.event.controllerId !== controller.id)
      if (foreign.length > 0) {
        // A token speaks for one controller only; a mismatch is a misconfigured or cloned device.
        throw new AccessError(
          'EH_ERR_FORBIDDEN',
          "controllerId is not the token's controller",
          foreign.map((p) => ({
            field: `${p.field}.controllerId`,
            message: "is not the token's controller",
          })),
        )
      }
      let emitted = 0
      for (const p of parsed) {
        const { eventId } = p.event
        if (recent.has(controller.id, eventId)) continue
        // Marked before delivery so a concurrent retry of the same event is not emitted twice;
        // unmarked if delivery fails so the controller's next retry gets through.
        recent.add(controller.id, eventId)
        try {
          await opts.onEvent(toDeviceEvent(controller, p))
        } catch (error) {
          recent.delete(controller.id, eventId)
          throw error
        }
        emitted++
      }
      return { received: parsed.length, emitted, duplicates: parsed.length - emitted }
    },
  )
  return app
}

/** Builds the receiver and listens on host:port. */
export async function startAccessReceiver(opts: AccessReceiverOptions): Promise<AccessReceiver> {
  const app = buildAccessReceiver(opts)
  await app.listen({ host: opts.host, port: opts.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  return { port, close: () => app.close() }
}
