import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { ApiError, detail } from '../kernel/api-error.ts'
import { errorReplies, Id } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { BoundedSseWriter, type LiveFeed, type LiveGap, type LiveReading } from './live-feed.ts'
import { latestValuesOf } from './series-routes.ts'

export interface LiveRouteOptions {
  /** A comment line this often keeps idle proxies from closing the stream; default 15 s. */
  readonly heartbeatMs?: number
  /** Open streams per user; one more is refused with 429. Default 5. */
  readonly maxStreamsPerUser?: number
  /** Frames waiting for a slow client before the oldest are dropped; default 2,000. */
  readonly maxQueued?: number
}

export const LIVE_HEARTBEAT_MS = 15_000
export const LIVE_MAX_STREAMS_PER_USER = 5
export const LIVE_MAX_QUEUED = 2_000

const LiveQuery = Type.Object(
  {
    estateId: Id,
    deviceId: Type.Optional(Id),
    once: Type.Optional(
      Type.Boolean({
        description: 'send the snapshot and end the stream (a one-off read; also what the access walk uses)',
      }),
    ),
  },
  { additionalProperties: false },
)

/**
 * `GET /api/v1/live`: Server-Sent Events of an estate's (or one device's) point values. The
 * stream opens with `event: snapshot` (the latest value of every requested point, as
 * /api/v1/latest-values lists them), then `event: reading` for every reading committed after
 * the subscription (on any hub), a `: heartbeat` comment every 15 s, `event: dropped` when a slow
 * client missed frames, and `event: gap` when this hub's relay lost its PostgreSQL connection for a
 * while (readings of other hubs committed meanwhile may be missing). Bearer auth as everywhere (the console reads it with fetch streaming, so no
 * token travels in a URL); estate visibility as every estate route.
 */
export function registerLiveRoutes(
  app: FastifyInstance,
  db: Kysely<Database>,
  feed: LiveFeed,
  options: LiveRouteOptions = {},
) {
  const heartbeatMs = options.heartbeatMs ?? LIVE_HEARTBEAT_MS
  const maxStreams = options.maxStreamsPerUser ?? LIVE_MAX_STREAMS_PER_USER
  const maxQueued = options.maxQueued ?? LIVE_MAX_QUEUED
  const streamsByUser = new Map<string, number>()
  const open = new Set<() => void>()
  // Open streams never end by themselves: end them so closing the server does not wait on them.
  app.addHook('preClose', (done) => {
    for (const close of [...open]) close()
    done()
  })

  app.get(
    '/api/v1/live',
    {
      config: {
        access: {
          estate: { from: 'query.estateId' },
          references: { 'query.deviceId': { table: 'devices', label: 'device', same: true } },
        },
      },
      schema: {
        tags: ['timeseries'],
        summary: 'Live point values of an estate or a device (Server-Sent Events)',
        description: `text/event-stream: \`event: snapshot\` with \`{estateId, deviceId, items}\` (items as /api/v1/latest-values), then \`event: reading\` with \`{pointId, deviceId, ts, value, text, quality, historical}\` per committed reading, a \`: heartbeat\` comment every ${heartbeatMs / 1000} s, \`event: dropped\` with \`{count}\` when a slow client missed readings (the oldest waiting are dropped beyond ${maxQueued}), and \`event: gap\` with \`{from, to}\` when readings committed between those instants may be missing (the hub's relay to PostgreSQL was reconnecting; re-read /api/v1/latest-values). At most ${maxStreams} open streams per user (429 beyond). docs/api.md § Live values.`,
        security: [{ bearerAuth: [] }],
        querystring: LiveQuery,
        response: {
          200: {
            description: 'an event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          429: Type.Ref('ErrorResponse'),
          ...errorReplies,
        },
      },
    },
    async (request, reply) => {
      const q = request.query as { estateId: string; deviceId?: string; once?: boolean }
      const estateId = request.estateId
      const once = q.once === true
      const userId = request.scope.userId
      let counted = false
      let done = false
      // Set when the server starts closing while the snapshot is still being read: the client
      // gets the snapshot it asked for, then the stream ends (as with once=true).
      let endAfterSnapshot = false
      let snapshotSent = false
      const endForClose = () => {
        if (snapshotSent) cleanup()
        else endAfterSnapshot = true
      }
      let timer: NodeJS.Timeout | undefined
      let unsubscribe = () => {}
      const out = new PassThrough()
      const writer = new BoundedSseWriter(out, maxQueued)
      const cleanup = () => {
        if (done) return
        done = true
        if (timer) clearInterval(timer)
        unsubscribe()
        open.delete(endForClose)
        if (counted) {
          const left = (streamsByUser.get(userId) ?? 1) - 1
          if (left > 0) streamsByUser.set(userId, left)
          else streamsByUser.delete(userId)
        }
        writer.end()
      }

      if (!once) {
        // Checked and counted with no await in between: concurrent requests cannot both pass.
        const streams = streamsByUser.get(userId) ?? 0
        if (streams >= maxStreams)
          throw new ApiError(
            'EH_ERR_LOCKED',
            `at most ${maxStreams} live streams per user may be open; close one (a browser tab) first`,
            [
              detail('query.estateId', 'too many open live streams', 'live.tooManyStreams', {
                max: maxStreams,
              }),
            ],
          )
        streamsByUser.set(userId, streams + 1)
        counted = true
        open.add(endForClose)
        // The client may leave while the snapshot is read.
        reply.raw.once('close', cleanup)
      }

      // Subscribed before the snapshot is read: what commits meanwhile follows the snapshot
      // (possibly repeating a value the snapshot has; the client keeps the newest ts).
      let early: LiveReading[] | undefined = []
      let earlyGap: LiveGap | undefined
      if (!once)
        unsubscribe = feed.subscribe(
          q.deviceId === undefined ? { estateId } : { estateId, deviceId: q.deviceId },
          (readings) => {
            if (early === undefined) {
              for (const r of readings) writer.event('reading', r)
              return
            }
            early.push(...readings)
            if (early.length > maxQueued) early.splice(0, early.length - maxQueued)
          },
          (gap) => {
            if (early === undefined) writer.event('gap', gap)
            else earlyGap = gap
          },
        )
      let items: Awaited<ReturnType<typeof latestValuesOf>>
      try {
        // With several hubs: the relay listens to the estate before the snapshot is read.
        if (!once) await feed.ready(estateId)
        items = await latestValuesOf(db, estateId, q.deviceId === undefined ? {} : { deviceId: q.deviceId })
      } catch (error) {
        cleanup()
        throw error
      }
      if (done) return reply.code(204).send()

      writer.event('snapshot', { estateId, deviceId: q.deviceId ?? null, items })
      if (earlyGap) writer.event('gap', earlyGap)
      for (const r of early) writer.event('reading', r)
      early = undefined
      snapshotSent = true
      if (once) writer.end()
      else if (endAfterSnapshot) cleanup()
      else {
        timer = setInterval(() => writer.comment('heartbeat'), heartbeatMs)
        timer.unref()
        out.once('close', cleanup)
        out.once('error', cleanup)
      }
      // A stream holds its connection until it ends; then the socket goes too, so a closing
      // server does not wait out the keep-alive of a connection that was busy a moment ago.
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-transform')
        .header('x-accel-buffering', 'no')
        .header('connection', 'close')
        .send(out)
    },
  )
}
