import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { writeConsoleApiTypes } from './console-api-types.ts'
import { type OpenApiDocument, openApiDocument } from './openapi-document.ts'

/** Every route an app registers, seen through Fastify's documented `fastify.initialization` channel. */
async function registeredRoutes(build: () => Promise<unknown>): Promise<RouteOptions[]> {
  const routes: RouteOptions[] = []
  const onInit = (message: unknown) =>
    (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
      routes.push(route)
    })
  subscribe('fastify.initialization', onInit)
  try {
    await build()
  } finally {
    unsubscribe('fastify.initialization', onInit)
  }
  return routes
}

describe('the console API types', () => {
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-api-types-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('the OpenAPI document covers every API route the app registers', async () => {
    let document: OpenApiDocument | undefined
    const routes = await registeredRoutes(async () => {
      document = await openApiDocument()
    })
    const api = routes.filter((r) => r.url.startsWith('/api/'))
    expect(api.length).toBeGreaterThan(90)
    const missing: string[] = []
    for (const route of api) {
      // Fastify's `:id` is OpenAPI's `{id}`; HEAD is Fastify's own twin of each GET.
      const path = route.url.replace(/:(\w+)/g, '{$1}')
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue
        const operations = document?.paths?.[path] as Record<string, unknown> | undefined
        if (!operations?.[method.toLowerCase()]) missing.push(`${method} ${path}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('writes the types for every documented path, and leaves an unchanged file alone', async () => {
    const file = join(dir, 'hub-api.d.ts')
    expect(await writeConsoleApiTypes(file)).toEqual({ changed: true })
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('export interface paths {')
    for (const path of ['/api/v1/units', '/api/v1/units/{id}', '/api/v1/meter-reads/{id}/approve'])
      expect(text).toContain(`"${path}": {`)
    const written = statSync(file).mtimeMs
    expect(await writeConsoleApiTypes(file)).toEqual({ changed: false })
    expect(statSync(file).mtimeMs).toBe(written)
  })
})
