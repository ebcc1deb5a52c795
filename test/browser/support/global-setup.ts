import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { buildConsole } from '../../../dashboards/console/build-console.ts'
import { type RunningDemo, startDemo } from '../../../hub/cli/demo-command.ts'

/** What the browser tests get: the hub's URL and the demo's login (see browser.ts). */
export interface ConsoleHubInfo {
  readonly url: string
  readonly username: string
  readonly password: string
  /** The demo's finance clerk, who approves what demo-admin prepares (bill runs, refunds). */
  readonly finance: { readonly username: string; readonly password: string }
  readonly estateId: string
  /** How long building the console (if stale) and starting the demo took, in ms. */
  readonly startMs: number
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** A local URL answering GET /hub with ConsoleHubInfo once the demo is ready. */
    consoleHubControl: string
  }
}

/**
 * The browser tests' one hub: the demo estate on the embedded stack (PGlite in a temp dir,
 * its own MQTT broker, HTTP on a free port) in this process, with its history, last month's
 * meter reads and bills, and its simulated site. Started on the first test's request, not
 * here: vitest runs every global setup before any test, and the browser tests run last
 * (`sequence.groupOrder`), so the demo's backfill and the console build do not compete with
 * the PGlite suites for the two cores.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-browser-'))
  let demo: RunningDemo | undefined
  let ready: Promise<ConsoleHubInfo> | undefined

  const start = async (): Promise<ConsoleHubInfo> => {
    const started = Date.now()
    await buildConsole({ ifStale: true })
    const config = join(dir, 'hub.yaml')
    writeFileSync(
      config,
      [
        'http:',
        '  port: 0',
        'database:',
        `  dataDir: ${JSON.stringify(join(dir, 'hub'))}`,
        'mqtt:',
        '  port: 0',
        'log:',
        '  level: warn',
        '',
      ].join('\n'),
    )
    demo = await startDemo({ config, handleSignals: false })
    if (!demo) throw new Error('the demo stopped before it was ready')
    await warmUp(demo.hub.url, demo.username, demo.password, demo.estateId)
    return {
      url: demo.hub.url,
      username: demo.username,
      password: demo.password,
      finance: demo.finance,
      estateId: demo.estateId,
      startMs: Date.now() - started,
    }
  }

  const server = createServer((request, response) => {
    if (request.url !== '/hub') {
      response.writeHead(404).end()
      return
    }
    ready ??= start()
    ready.then(
      (info) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info)),
      (error: Error) => response.writeHead(500).end(error.stack ?? error.message),
    )
  })
  // Starting the demo takes a minute on a slow machine; the asking test waits that long.
  server.requestTimeout = 0
  server.headersTimeout = 0
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('the control server has no port')
  project.provide('consoleHubControl', `http://127.0.0.1:${address.port}`)

  return async () => {
    server.close()
    await ready?.catch(() => {})
    await demo?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Asks the freshly started hub once for what the pages show, so the 1 s budget measures a hub
 * that has served its pages before (as one in use has), not the first query plans after the
 * backfill on a machine still busy with it.
 */
async function warmUp(url: string, username: string, password: string, estateId: string) {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  const { token } = (await login.json()) as { token: string }
  const paths = [
    `/api/v1/overview?nodeId=${estateId}`,
    `/api/v1/fee-items?estateId=${estateId}`,
    `/api/v1/fee-standards?estateId=${estateId}`,
    `/api/v1/fee-assignments?estateId=${estateId}`,
    `/api/v1/bill-runs?estateId=${estateId}`,
    `/api/v1/work-orders?estateId=${estateId}`,
    `/api/v1/alarms?estateId=${estateId}`,
    `/api/v1/meter-reads?estateId=${estateId}`,
    `/api/v1/reports/collection-rate?nodeId=${estateId}`,
  ]
  const get = (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  for (const path of paths) await get(path).then((r) => r.arrayBuffer())
  // The meter-reads page's own first queries, for last month (the overview's billed period):
  // on a two-core machine busy with chromium and the demo's polling, the first run of them
  // took 619 ms once where a warm one takes 20.
  const overview = (await (await get(`/api/v1/overview?nodeId=${estateId}`)).json()) as {
    collection: { period: string }
  }
  const period = overview.collection.period
  for (const path of [
    `/api/v1/meter-reads?estateId=${estateId}&period=${period}&limit=20&offset=0`,
    `/api/v1/meter-reads/counts?estateId=${estateId}&period=${period}`,
    `/api/v1/buildings?estateId=${estateId}&limit=500`,
  ])
    await get(path).then((r) => r.arrayBuffer())
}
