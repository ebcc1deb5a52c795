import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Outbox } from '../gateway/outbox/outbox.ts'
import { Uplink } from '../gateway/uplink/uplink.ts'
import { migrateHub } from '../hub/app/hub-migrations.ts'
import { openStore, type Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import {
  type ScratchPostgres,
  scratchPostgresMissing,
  startScratchPostgres,
} from './support/scratch-postgres.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Issue 13: PostgreSQL goes away (ended connections, then a stopped server) and comes back.
 * The hub keeps running, answers 503 EH_ERR_STORE_UNAVAILABLE and /healthz `degraded` while
 * the server is down, acks no batch it could not commit, and recovers by itself: every reading
 * a real gateway uplink sent during the outage is stored exactly once.
 *
 * The test runs a PostgreSQL server of its own (test/support/scratch-postgres.ts) because it
 * stops it. PGlite does not apply: it runs inside the hub's process, with no connection to lose.
 */
const missing = scratchPostgresMissing()
if (missing && process.env.CI === 'true')
  throw new Error(`CI=true but the store-outage test cannot run: ${missing}`)
if (missing) console.warn(`[estatehub tests] store-outage test skipped: ${missing}`)

const POINTS = 4
const PER_POINT = 5 // readings per point per batch
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A TCP link between the hub and PostgreSQL that can be cut the way a network fails: open
 * connections end, and new ones are accepted but never answered (no refusal to fail on).
 */
async function cuttableLink(target: number) {
  const open = new Set<Socket>()
  let cut = false
  const server: Server = createServer((client) => {
    open.add(client)
    client.on('close', () => open.delete(client))
    client.on('error', () => {})
    if (cut) return // accepted, never answered
    const upstream = tcpConnect(target, '127.0.0.1')
    open.add(upstream)
    upstream.on('close', () => open.delete(upstream))
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    cut() {
      cut = true
      for (const socket of open) socket.destroy()
    },
    mend() {
      cut = false
      for (const socket of open) socket.destroy() // the unanswered ones
    },
    close: () => {
      for (const socket of open) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within ${ms / 1000} s: ${what}`)
    await sleep(50)
  }
}

describe.skipIf(missing)('the hub through a PostgreSQL outage', () => {
  let server: ScratchPostgres
  let link: Awaited<ReturnType<typeof cuttableLink>>
  let store: Store
  let hub: TestHub
  let token: string
  let site: Site
  let ingest: Awaited<ReturnType<typeof startTestIngest>>
  let outbox: Outbox
  let uplink: Uplink
  let work: string
  const lost: Error[] = []
  const ingestLog = captureLog()
  let batchesSent = 0
  const base = Date.now() - 3_600_000

  /** One batch of POINTS × PER_POINT readings and one event, each batch at its own instants. */
  async function sendBatch() {
    const b = batchesSent++
    const readings = []
    for (let p = 0; p < POINTS; p++)
      for (let k = 0; k < PER_POINT; k++)
        readings.push({
          point: `m${p}/energy`,
          ts: base + b * 1_000 + k,
          value: b * 100 + k,
          quality: 'good' as const,
        })
    await uplink.enqueue({
      readings,
      events: [{ source: 'm0', ts: base + b * 1_000, type: 'state_change', payload: { batch: b } }],
    })
  }

  const failedCommits = async () => {
    const metric = await ingest.registry.getSingleMetric('estatehub_ingest_batches_total')?.get()
    return metric?.values.find((v) => v.labels.result === 'failed')?.value ?? 0
  }

  beforeAll(async () => {
    server = await startScratchPostgres()
    link = await cuttableLink(server.port)
    const viaLink = new URL(server.url)
    viaLink.port = String(link.port)
    store = await openStore({ url: viaLink.toString(), poolMax: 5, connectTimeoutMs: 2_000 })
    store.onConnectionLost((error) => lost.push(error))
    await migrateHub(store.db)
    hub = await openTestHub({ name: 'postgres', open: async () => store })
    token = await hub.userWithGrants('outage-admin', [{ role: 'admin', nodeId: null }])
    const points = Array.from({ length: POINTS }, (_, i) => ({
      device: `m${i}`,
      point: 'energy',
      kind: 'counter' as const,
    }))
    site = await seedSite(store.db, { code: 'OUT', points })
    ingest = await startTestIngest(store.db, ingestLog)
    work = mkdtempSync(join(tmpdir(), 'estatehub-outage-gw-'))
    outbox = await Outbox.open(join(work, 'outbox'), { maxBatches: 1_000, maxBytes: 16 * 1024 * 1024 })
    uplink = new Uplink(outbox, {
      url: ingest.url,
      gatewayId: site.gatewayCode,
      secret: site.secret,
      // Short, so the gateway resends soon after the store is back (the default is 30 s).
      ackTimeoutMs: 500,
      reconnectMinMs: 100,
      reconnectMaxMs: 500,
      connectTimeoutMs: 2_000,
      log: () => {},
    })
    uplink.start()
  }, 120_000)

  afterAll(async () => {
    await uplink?.close()
    await outbox?.close()
    await ingest?.close()
    await hub?.close()
    await link?.close()
    await server?.destroy()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('keeps running and serving when the server ends every connection', async () => {
    for (let i = 0; i < 3; i++) await sendBatch()
    await until('the first batches are acked', () => outbox.depth === 0)
    const admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    const before = lost.length
    const ended = await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
    )
    await admin.end()
    expect(ended.rowCount).toBeGreaterThan(0)
    // The pool hears of every idle connection it lost before the next request takes one.
    await until('the pool hears its ended connections', () => lost.length > before)
    await sleep(200)
    const health = await hub.call(undefined, { method: 'GET', url: '/healthz' })
    expect(health).toEqual({ status: 200, body: { status: 'ok', store: 'postgres' } })
    expect((await hub.call(token, { method: 'GET', url: '/api/v1/buildings' })).status).toBe(200)
    await sendBatch()
    await until('a batch after the ended connections is acked', () => outbox.depth === 0)
  })

  it('answers 503 after the connect timeout when the network to the server is cut', async () => {
    const before = lost.length
    link.cut()
    // The pool drops the connections it had; the next request must open one, and waits.
    await until('the pool hears its connections end', () => lost.length > before)
    await sleep(200)
    const started = performance.now()
    const api = await hub.app.inject({
      method: 'GET',
      url: '/api/v1/buildings',
      headers: { authorization: `Bearer ${token}` },
    })
    const apiMs = performance.now() - started
    expect(api.statusCode).toBe(503)
    expect(api.json()).toMatchObject({ error: 'EH_ERR_STORE_UNAVAILABLE', rule: 'store.unavailable' })
    const health = await hub.call(undefined, { method: 'GET', url: '/healthz' })
    expect(health.status).toBe(503)
    expect(health.body.status).toBe('degraded')
    console.info(
      `[store-outage] API answered 503 in ${Math.round(apiMs)} ms with the network cut (connect timeout 2000 ms)`,
    )
    link.mend()
    await until('/healthz answers 200 once the network is back', async () => {
      return (await hub.call(undefined, { method: 'GET', url: '/healthz' })).status === 200
    })
    expect((await hub.call(token, { method: 'GET', url: '/api/v1/buildings' })).status).toBe(200)
  })

  it('answers 503 while the server is stopped, and acks no batch', async () => {
    const ackedBefore = outbox.ackedSeq
    const failedBefore = await failedCommits()
    const logFrom = ingestLog.lines.length
    await server.stop('fast')

    const started = performance.now()
    const api = await hub.app.inject({
      method: 'GET',
      url: '/api/v1/buildings',
      headers: { authorization: `Bearer ${token}` },
    })
    const apiMs = performance.now() - started
    expect(api.statusCode).toBe(503)
    expect(api.headers['retry-after']).toBe('5')
    expect(api.json()).toEqual({
      error: 'EH_ERR_STORE_UNAVAILABLE',
      message: 'the store (database) does not answer; try again shortly',
      rule: 'store.unavailable',
      params: {},
      details: [],
    })
    const login = await hub.call(undefined, {
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'outage-admin', password: 'not-checked-while-down' },
    })
    expect(login.status).toBe(503)
    expect(login.body.error).toBe('EH_ERR_STORE_UNAVAILABLE')

    const health = await hub.app.inject({ method: 'GET', url: '/healthz' })
    expect(health.statusCode).toBe(503)
    expect(health.headers['retry-after']).toBe('5')
    expect(health.json()).toMatchObject({
      status: 'degraded',
      store: 'unreachable',
      error: 'EH_ERR_STORE_UNAVAILABLE',
      rule: 'store.unavailable',
    })
    console.info(`[store-outage] API answered 503 in ${Math.round(apiMs)} ms with the server stopped`)

    // Batches sealed meanwhile reach the hub (resent at every ack timeout) and are refused.
    for (let i = 0; i < 4; i++) await sendBatch()
    await until(
      'the hub tried the outage batches and failed',
      async () => (await failedCommits()) >= failedBefore + 8,
    )
    expect(outbox.ackedSeq).toBe(ackedBefore)
    expect(outbox.depth).toBe(4)
    expect(uplink.resent).toBeGreaterThan(0)
    // Said once for the outage, not once per batch; nothing logged as an unexplained failure.
    const outageLog = ingestLog.lines.slice(logFrom)
    expect(outageLog.filter((l) => l.message.includes('the store does not answer'))).toHaveLength(1)
    expect(outageLog.filter((l) => l.level === 'error')).toEqual([])
  })

  it('recovers by itself when the server is back: every reading stored once', async () => {
    await server.start()
    await until('/healthz answers 200 again', async () => {
      const health = await hub.call(undefined, { method: 'GET', url: '/healthz' })
      return health.status === 200
    })
    expect((await hub.call(token, { method: 'GET', url: '/api/v1/buildings' })).status).toBe(200)
    await until('the gateway resends and the hub acks every batch', () => outbox.depth === 0)
    await sendBatch()
    await until('a batch after the outage is acked', () => outbox.depth === 0)
    expect(ingestLog.lines.some((l) => l.message.includes('the store answers again'))).toBe(true)

    const readings = await store.db
      .selectFrom('readings')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(readings.n)).toBe(batchesSent * POINTS * PER_POINT)
    // Events have no natural key: a batch committed twice would show as a second copy.
    const events = await store.db.selectFrom('deviceEvents').select('data').execute()
    expect(events).toHaveLength(batchesSent)
    expect(new Set(events.map((e) => (e.data as { batch: number }).batch)).size).toBe(batchesSent)
    const link = await store.db.selectFrom('gatewayLinks').select('committedSeq').executeTakeFirstOrThrow()
    expect(link.committedSeq).toBe(outbox.lastSeq)
  })
})
