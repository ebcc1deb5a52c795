import type { FastifyInstance } from 'fastify'
import { cutText } from './api-error.ts'

/**
 * One log line per request, when it is answered (Fastify's own logging, switched off in
 * buildApp, writes two: "incoming request" and "request completed"). `level: 'debug'` keeps
 * them out of an info-level terminal, as the demo's.
 */
export function registerRequestLog(app: FastifyInstance, level: 'info' | 'debug' = 'info') {
  app.addHook('onResponse', async (request, reply) => {
    request.log[level](
      {
        method: request.method,
        url: cutText(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    )
  })
}
