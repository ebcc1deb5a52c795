import { stat } from 'node:fs/promises'
import { resolve, sep } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where `npm run build:console` writes the web console (dashboards/console). */
export const CONSOLE_DIST = resolve(import.meta.dirname, '..', '..', 'dashboards', 'console', 'dist')

const YEAR_MS = 365 * 86_400_000

/**
 * Paths that belong to the hub itself: an unknown one is the API's 404, never the console.
 * `/metrics` too: where it is not served (metrics.listen, no token), a scraper gets a 404, not
 * the console's page.
 */
function isHubPath(path: string): boolean {
  return (
    path === '/api' ||
    path.startsWith('/api/') ||
    path === '/docs' ||
    path.startsWith('/docs/') ||
    path === '/metrics'
  )
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile()
  } catch {
    return false
  }
}

function notBuilt(request: FastifyRequest, reply: FastifyReply) {
  const message = 'the web console is not built; run npm run build:console (npm start builds it when missing)'
  reply.status(503).header('cache-control', 'no-store')
  if ((request.headers.accept ?? '').includes('text/html')) {
    return reply
      .type('text/html; charset=utf-8')
      .send(
        '<!doctype html><meta charset="utf-8"><title>EstateHub</title>' +
          '<body style="font:16px system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em">' +
          '<h1>EstateHub</h1><p>The web console is not built. In the checkout, run ' +
          '<code>npm run build:console</code> (or <code>npm start</code>, which builds it when it is missing or ' +
          'older than its sources), then reload this page.</p>' +
          '<p>The API answers at <a href="/api/v1">/api/v1</a>; its reference is at <a href="/docs">/docs</a>.</p>',
      )
  }
  return reply.send({ error: 'EH_ERR_CONSOLE_NOT_BUILT', message, details: [] })
}

/**
 * Serves the web console (a single-page app) at `/`: its hashed assets with a year's cache,
 * `index.html` with `no-cache` for every other GET outside `/api` and `/docs`, so a deep link
 * such as `/billing/desk` opens the app at that page. Pre-compressed `.br`/`.gz` files written
 * by the build are sent when the browser accepts them. Without a build: 503 with the command
 * to run. The directory is looked at on each request, so a rebuild needs no restart.
 */
export async function registerConsole(app: FastifyInstance, options: { root?: string } = {}) {
  const root = options.root ?? CONSOLE_DIST
  await app.register(async (scope) => {
    // Decorates reply.sendFile inside this scope only; serves nothing by itself.
    await scope.register(fastifyStatic, { root, serve: false, preCompressed: true, suppressWarning: true })
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0] ?? '/'
      if (isHubPath(path)) return reply.callNotFound()
      if (!(await isFile(resolve(root, 'index.html')))) return notBuilt(request, reply)
      let decoded: string
      try {
        decoded = decodeURIComponent(path)
      } catch {
        return reply.callNotFound()
      }
      const last = decoded.slice(decoded.lastIndexOf('/') + 1)
      if (last.includes('.')) {
        // A file: served when it exists inside the build, else 404 (never index.html for a script).
        const file = resolve(root, `.${decoded}`)
        if (!file.startsWith(root + sep) || !(await isFile(file))) return reply.callNotFound()
        const hashed = decoded.startsWith('/assets/')
        if (!hashed) reply.header('cache-control', 'no-cache')
        return reply.sendFile(
          decoded.slice(1),
          hashed ? { maxAge: YEAR_MS, immutable: true } : { cacheControl: false },
        )
      }
      reply.header('cache-control', 'no-cache')
      return reply.sendFile('index.html', { cacheControl: false })
    }
    // Public (the app itself asks for a login) and left out of the OpenAPI document.
    const route = { config: { public: true }, schema: { hide: true } }
    scope.get('/', route, handler)
    scope.get('/*', route, handler)
  })
}
