import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerConsole } from './console-static.ts'

const dist = mkdtempSync(join(tmpdir(), 'estatehub-console-'))
const index = '<!doctype html><div id="app"></div>'
let built: FastifyInstance
let missing: FastifyInstance

async function appFor(root: string) {
  const app = Fastify()
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'EH_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url}` }),
  )
  app.get('/api/v1/ping', async () => ({ pong: true }))
  app.get('/docs/json', async () => ({ openapi: '3.0.3' }))
  await registerConsole(app, { root })
  await app.ready()
  return app
}

beforeAll(async () => {
  mkdirSync(join(dist, 'assets'))
  writeFileSync(join(dist, 'index.html'), index)
  writeFileSync(join(dist, 'favicon.svg'), '<svg/>')
  writeFileSync(join(dist, 'assets', 'app-1a2b3c.js'), 'console.log(1)')
  writeFileSync(join(dist, 'assets', 'app-1a2b3c.js.gz'), gzipSync('console.log(1)'))
  built = await appFor(dist)
  missing = await appFor(join(dist, 'nothing-here'))
})

afterAll(async () => {
  await built?.close()
  await missing?.close()
  rmSync(dist, { recursive: true, force: true })
})

describe('the console served at /', () => {
  it('answers / and any deep link with index.html, not cached', async () => {
    for (const url of ['/', '/billing/desk', '/setup/units?x=1', '/login']) {
      const response = await built.inject({ method: 'GET', url })
      expect(response.statusCode, url).toBe(200)
      expect(response.headers['content-type']).toMatch(/text\/html/)
      expect(response.headers['cache-control']).toBe('no-cache')
      expect(response.body).toBe(index)
    }
  })

  it('serves hashed assets for a year, pre-compressed when accepted', async () => {
    const plain = await built.inject({ method: 'GET', url: '/assets/app-1a2b3c.js' })
    expect(plain.statusCode).toBe(200)
    expect(plain.body).toBe('console.log(1)')
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    const gzip = await built.inject({
      method: 'GET',
      url: '/assets/app-1a2b3c.js',
      headers: { 'accept-encoding': 'gzip' },
    })
    expect(gzip.headers['content-encoding']).toBe('gzip')
    const other = await built.inject({ method: 'GET', url: '/favicon.svg' })
    expect(other.statusCode).toBe(200)
    expect(other.headers['cache-control']).toBe('no-cache')
  })

  it('leaves /api and /docs to the hub, and answers a missing file with 404', async () => {
    expect((await built.inject({ method: 'GET', url: '/api/v1/ping' })).json()).toEqual({ pong: true })
    expect((await built.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200)
    for (const url of [
      '/api/v1/nothing',
      '/api',
      '/docs/nothing',
      '/assets/gone-123.js',
      '/../package.json',
    ]) {
      const response = await built.inject({ method: 'GET', url })
      expect(response.statusCode, url).toBe(404)
      expect(response.json().error, url).toBe('EH_ERR_NOT_FOUND')
    }
    expect((await built.inject({ method: 'POST', url: '/billing' })).statusCode).toBe(404)
  })

  it('says how to build it when it is not built', async () => {
    const json = await missing.inject({ method: 'GET', url: '/' })
    expect(json.statusCode).toBe(503)
    expect(json.json()).toMatchObject({ error: 'EH_ERR_CONSOLE_NOT_BUILT' })
    expect(json.json().message).toContain('npm run build:console')
    const html = await missing.inject({ method: 'GET', url: '/overview', headers: { accept: 'text/html' } })
    expect(html.statusCode).toBe(503)
    expect(html.body).toContain('npm run build:console')
    expect((await missing.inject({ method: 'GET', url: '/api/v1/ping' })).statusCode).toBe(200)
  })
})
