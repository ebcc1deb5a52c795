// Access declared per route: a route that declares nothing is refused when the app is built,
// and the declaration (not the handler) decides who gets through.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { Database } from '../store/database-schema.ts'
import { AccessScope } from './access-scope.ts'
import { handleError } from './error-handler.ts'
import { registerRouteAccess } from './route-access.ts'

// `self`, `global` and `anywhere` are decided from the scope alone: no query reaches this.
const noDatabase = new Proxy(
  {},
  {
    get() {
      throw new Error('the database was asked')
    },
  },
) as Kysely<Database>

const tree = [
  { id: 'G', kind: 'group', parentId: null },
  { id: 'C', kind: 'company', parentId: 'G' },
  { id: 'E', kind: 'estate', parentId: 'C' },
] as const

let app: FastifyInstance | undefined
afterEach(() => app?.close())

function appWith(scope: AccessScope) {
  app = Fastify()
  app.setErrorHandler(handleError)
  app.decorateRequest('scope', null as unknown as AccessScope)
  // Stands in for authentication (hub/auth/authenticate.ts), which sets the caller's scope.
  app.addHook('onRequest', async (request) => {
    request.scope = scope
  })
  registerRouteAccess(app, noDatabase)
  return app
}

describe('route access', () => {
  it('refuses to build an app with a route that declares no access', async () => {
    const undeclared = appWith(new AccessScope('u', 'walker', [], tree))
    expect(() => undeclared.get('/api/v1/forgotten', async () => ({ leaked: true }))).toThrow(
      /GET \/api\/v1\/forgotten declares no access/,
    )
  })

  it('builds with public routes and declared ones', async () => {
    const built = appWith(new AccessScope('u', 'walker', [], tree))
    built.get('/healthz', { config: { public: true } }, async () => ({ ok: true }))
    built.get('/api/v1/me', { config: { access: { self: true } } }, async () => ({ ok: true }))
    await built.ready()
    expect((await built.inject({ url: '/healthz' })).statusCode).toBe(200)
    expect((await built.inject({ url: '/api/v1/me' })).statusCode).toBe(200)
  })

  it('lets through only a caller holding a `global` permission on the whole tree', async () => {
    for (const [grant, status] of [
      [{ role: 'admin', nodeId: null }, 200],
      [{ role: 'admin', nodeId: 'C' }, 403],
    ] as const) {
      const built = appWith(new AccessScope('u', 'walker', [grant], tree))
      built.post('/api/v1/groups', { config: { access: { global: 'org.write' } } }, async () => ({
        ok: true,
      }))
      const response = await built.inject({ method: 'POST', url: '/api/v1/groups' })
      expect(response.statusCode, JSON.stringify(grant)).toBe(status)
      if (status === 403) expect(response.json()).toMatchObject({ error: 'EH_ERR_FORBIDDEN' })
      await built.close()
    }
  })

  it('lets through `anywhere` a caller holding the permission on some node, not a viewer', async () => {
    for (const [role, status] of [
      ['admin', 200],
      ['viewer', 403],
    ] as const) {
      const built = appWith(new AccessScope('u', 'walker', [{ role, nodeId: 'E' }], tree))
      built.get('/api/v1/users', { config: { access: { anywhere: 'users.manage' } } }, async () => ({
        ok: true,
      }))
      expect((await built.inject({ url: '/api/v1/users' })).statusCode, role).toBe(status)
      await built.close()
    }
  })
})
