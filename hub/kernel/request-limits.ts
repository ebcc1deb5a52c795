import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { ApiError, detail } from './api-error.ts'

/**
 * The size limits of a request that Fastify and Node enforce before any route runs, answered
 * in the hub's error shape (docs/errors.md) rather than Fastify's or Node's own.
 */

/** Longest URL (path and query) the hub reads; no address of this API comes near it. */
export const MAX_URL_CHARS = 8 * 1024

/** Refuses a URL over MAX_URL_CHARS with 414 before anything reads it. */
export function registerUrlLimit(app: FastifyInstance) {
  app.addHook('onRequest', async (request) => {
    if (request.url.length > MAX_URL_CHARS)
      throw new ApiError('EH_ERR_URI_TOO_LONG', `the URL is longer than ${MAX_URL_CHARS} characters`, [
        detail('request', `longer than ${MAX_URL_CHARS} characters`, 'request.uriTooLong'),
      ])
  })
}

const raw = (status: string, error: ApiError) => {
  const rule = error.rule ? { rule: error.rule.rule, params: error.rule.params } : {}
  const body = JSON.stringify({ error: error.code, message: error.message, ...rule, details: error.details })
  return (
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

/**
 * Node hands the bytes it was parsing: when they are the start of a request line that has not
 * ended yet, the URL is what overflowed (a 100 KB query), and 414 says so better than 431.
 */
function isRequestLine(packet: unknown): boolean {
  // Typed by Fastify as JSON-ish; Node gives the Buffer itself.
  if (!Buffer.isBuffer(packet) || packet.includes('\r\n')) return false
  return /^[A-Z]{3,7} \//.test(packet.subarray(0, 16).toString('latin1'))
}

/**
 * Node's HTTP parser refuses some requests before Fastify has one: the request line and
 * headers over Node's --max-http-header-size (16 KiB; a 100 KB URL lands here, not in the
 * 414 above), or bytes that are not HTTP. Fastify's `clientErrorHandler`: answer in our shape
 * on the raw socket, then close it, as Node and Fastify do.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  let reply: string
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // The client sent no complete request in time: nothing to name, as Node answers it.
    reply = 'HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
  } else if (error.code === 'HPE_HEADER_OVERFLOW' && isRequestLine(error.rawPacket)) {
    reply = raw(
      '414 URI Too Long',
      new ApiError('EH_ERR_URI_TOO_LONG', `the URL is longer than ${MAX_URL_CHARS} characters`, [
        detail('request', `longer than ${MAX_URL_CHARS} characters`, 'request.uriTooLong'),
      ]),
    )
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    const message = 'the request line and headers are larger than the server accepts (16 KiB)'
    reply = raw(
      '431 Request Header Fields Too Large',
      new ApiError('EH_ERR_HEADERS_TOO_LARGE', message, [
        detail('headers', message, 'request.headersTooLarge'),
      ]),
    )
  } else {
    const message = 'the request is not well-formed HTTP'
    reply = raw(
      '400 Bad Request',
      new ApiError('EH_ERR_VALIDATION', message, [detail('request', message, 'request.invalid')]),
    )
  }
  if (socket.writable) socket.write(reply)
  socket.destroy(error)
}
