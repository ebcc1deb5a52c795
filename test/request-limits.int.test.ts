import net from 'node:net'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../hub/app/build-app.ts'
import { MAX_ECHO_CHARS } from '../hub/kernel/api-error.ts'
import { MAX_URL_CHARS } from '../hub/kernel/request-limits.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/** Sends raw bytes to the listening hub and returns its answer: status and JSON body. */
async function rawRequest(port: number, request: string): Promise<{ status: number; body: any }> {
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8')
    })
    socket.on('close', () => resolve(text))
    socket.on('error', (error) => (text ? resolve(text) : reject(error)))
    socket.end(request)
  })
  const [head = '', body = ''] = answer.split('\r\n\r\n')
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body) }
}

// Fastify's and Node's own refusals (before any route runs) come out in the hub's error shape,
// and no error echoes more than a bounded piece of what the request sent. The store is not
// involved, so PGlite alone.
describe('request limits and echoed values', () => {
  let hub: TestHub
  let port: number
  let token: string
  beforeAll(async () => {
    hub = await openTestHub(storeBackends()[0]!)
    token = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
    await hub.app.listen({ port: 0, host: '127.0.0.1' })
    port = (hub.app.server.address() as net.AddressInfo).port
  })
  afterAll(() => hub?.close())

  const shape = (error: string, rule: string) => ({
    error,
    rule,
    details: [expect.objectContaining({ rule, field: expect.any(String), message: expect.any(String) })],
  })

  it(`answers a URL over ${MAX_URL_CHARS} characters with 414`, async () => {
    const response = await hub.call(token, {
      method: 'GET',
      url: `/api/v1/buildings?q=${'x'.repeat(MAX_URL_CHARS)}`,
    })
    expect(response.status).toBe(414)
    expect(response.body).toMatchObject(shape('EH_ERR_URI_TOO_LONG', 'request.uriTooLong'))
  })

  it("answers a 100 KB URL (over Node's header limit) with 414 in our shape, on a real socket", async () => {
    const response = await rawRequest(
      port,
      `GET /api/v1/buildings?q=${'x'.repeat(100_000)} HTTP/1.1\r\nHost: hub\r\n\r\n`,
    )
    expect(response.status).toBe(414)
    expect(response.body).toMatchObject(shape('EH_ERR_URI_TOO_LONG', 'request.uriTooLong'))
  })

  it('answers headers over 16 KiB with 431 in our shape', async () => {
    const response = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Padding: ${'x'.repeat(20_000)}\r\n\r\n`,
    )
    expect(response.status).toBe(431)
    expect(response.body).toMatchObject(shape('EH_ERR_HEADERS_TOO_LARGE', 'request.headersTooLarge'))
  })

  it('answers bytes that are not HTTP (a NUL in a header) with 400 in our shape', async () => {
    const response = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: hub\r\nX-A: a\u0000b\r\n\r\n')
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject(shape('EH_ERR_VALIDATION', 'request.invalid'))
  })

  it('answers a body over the limit with 413', async () => {
    const response = await hub.call(undefined, {
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: `{"username":"${'x'.repeat(21 * 1024 * 1024)}"}`,
    })
    expect(response.status).toBe(413)
    expect(response.body).toMatchObject(shape('EH_ERR_PAYLOAD_TOO_LARGE', 'request.bodyTooLarge'))
  })

  it('answers bad JSON and empty JSON with 400, the parser message cut', async () => {
    const bad = await hub.call(undefined, {
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: `{"username": ${'x'.repeat(100_000)}}`,
    })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject(shape('EH_ERR_VALIDATION', 'request.badJson'))
    expect(JSON.stringify(bad.body).length).toBeLessThan(3000)
    const empty = await hub.call(undefined, {
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '',
    })
    expect(empty.status).toBe(400)
    expect(empty.body).toMatchObject(shape('EH_ERR_VALIDATION', 'request.emptyJson'))
  })

  it('cuts every echoed value: a 100,000-character field name comes back as 200 and an ellipsis', async () => {
    const key = `k${'y'.repeat(100_000)}`
    const response = await hub.call(token, {
      method: 'POST',
      url: '/api/v1/org-nodes',
      payload: { kind: 'group', code: 'G9', name: 'G', [key]: 1 },
    })
    expect(response.status).toBe(400)
    const detail = response.body.details.find((d: any) => d.rule === 'field.unknown')
    expect(detail.field).toBe(`${`body.${key}`.slice(0, MAX_ECHO_CHARS)}…`)
    expect(response.body.message.length).toBeLessThanOrEqual(1001)
    expect(JSON.stringify(response.body).length).toBeLessThan(4000)
  })

  it('logs one line per request at info, none when requests are logged at debug (the demo)', async () => {
    for (const requestLogLevel of ['info', 'debug'] as const) {
      const lines: { msg: string; status?: number; url?: string }[] = []
      const stream = new Writable({
        write(chunk, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line))
          done()
        },
      })
      const app = await buildApp({ store: hub.store, logger: { level: 'info', stream }, requestLogLevel })
      try {
        await app.inject({ method: 'GET', url: '/healthz' })
        await app.inject({ method: 'GET', url: '/api/v1/no-such-thing' })
      } finally {
        await app.close()
      }
      const requests = lines.filter((line) => line.msg !== 'Server listening at')
      if (requestLogLevel === 'info')
        expect(requests).toEqual([
          expect.objectContaining({ msg: 'request', url: '/healthz', status: 200 }),
          expect.objectContaining({ msg: 'request', url: '/api/v1/no-such-thing', status: 404 }),
        ])
      else expect(requests).toEqual([])
    }
  })
})
