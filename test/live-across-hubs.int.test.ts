import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireReading } from '../gateway/contract/index.ts'
import { hashPassword } from '../hub/auth/password.ts'
import { createUser, grantRole } from '../hub/auth/user-accounts.ts'
import { type RunningHub, startHub } from '../hub/cli/hub-command.ts'
import { loadHubConfig } from '../hub/config/hub-config.ts'
import type { Database } from '../hub/store/database-schema.ts'
import { LIVE_RELAY_APPLICATION, LIVE_WATCH_LOCK, liveChannel } from '../hub/timeseries/live-relay.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { TEST_PASSWORD } from './support/test-hub.ts'
import { connectWireGateway, type WireGateway } from './support/wire-gateway.ts'

/**
 * Three hub processes' worth of hubs (each its own pool, HTTP server, embedded broker and
 * relay connection) on one PostgreSQL: a live stream on hub 1 receives every reading hub 2 and
 * hub 3 commit, and hub 1's own, once each; when PostgreSQL ends the relays' LISTEN
 * connections, the stream is told it may have missed readings, and later ones arrive again.
 * Each gateway talks to one hub, so which hub commits which batch is known.
 */
const pgUrl = process.env.ESTATEHUB_TEST_PG_URL
const inCi = process.env.CI === 'true'
if (!pgUrl && inCi)
  throw new Error('CI=true but ESTATEHUB_TEST_PG_URL is not set: live across hubs needs PostgreSQL')
if (!pgUrl) console.warn('[live-across-hubs] ESTATEHUB_TEST_PG_URL not set: skipped (it needs PostgreSQL)')

/** Only catches a hang: how fast is printed ([timing]), never asserted. */
const HANG_MS = 30_000

interface Frame {
  readonly event: string
  readonly data: any
}

/** The console's way of reading the stream: fetch with a bearer header, frames parsed as they come. */
async function openStream(url: string, token: string) {
  const abort = new AbortController()
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal })
  const frames: Frame[] = []
  let ended = false
  const reading = (async () => {
    if (!response.ok || !response.body) return
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (frame.startsWith(':')) continue
          const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message'
          const data = /^data: (.*)$/m.exec(frame)?.[1]
          frames.push({ event, data: data === undefined ? undefined : JSON.parse(data) })
        }
      }
    } catch {
      // aborted
    } finally {
      ended = true
    }
  })()
  return {
    response,
    frames,
    async until(what: string, check: () => boolean) {
      const end = Date.now() + HANG_MS
      while (!check()) {
        if (ended) throw new Error(`${what}: the stream ended`)
        if (Date.now() > end) throw new Error(`${what}: still waiting after ${HANG_MS} ms`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async close() {
      abort.abort()
      await reading
    },
  }
}

/** Another gateway of `site`'s estate, with the same devices and points (a site of its own). */
async function addGateway(db: Kysely<Database>, site: Site, tag: string): Promise<Site> {
  const secret = randomBytes(18).toString('base64url')
  const gatewayCode = `${site.gatewayCode}-${tag}`
  const gateway = await db
    .insertInto('gateways')
    .values({
      estateId: site.estateId,
      code: gatewayCode,
      name: gatewayCode,
      secretHash: await hashPassword(secret),
      enabled: true,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  const deviceIds = new Map<string, string>()
  const pointIds = new Map<string, string>()
  for (const key of site.pointIds.keys()) {
    const [device, point] = key.split('/') as [string, string]
    let deviceId = deviceIds.get(device)
    if (deviceId === undefined) {
      deviceId = (
        await db
          .insertInto('devices')
          .values({
            estateId: site.estateId,
            gatewayId: gateway.id,
            code: `${device}-${tag}`,
            name: device,
            protocol: 'modbus-tcp',
            connection: { host: '127.0.0.1', port: 502, unitId: 1 },
            buildingId: site.buildingId,
            enabled: true,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      deviceIds.set(device, deviceId)
    }
    const kind = point.startsWith('state') ? 'state' : 'gauge'
    const row = await db
      .insertInto('points')
      .values({
        estateId: site.estateId,
        deviceId,
        code: point,
        name: point,
        address: { table: 'holding-register', register: 0 },
        dataType: 'uint32',
        byteOrder: 'ABCD',
        scale: '1',
        kind,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    pointIds.set(`${device}-${tag}/${point}`, row.id)
  }
  return { ...site, gatewayId: gateway.id, gatewayCode, secret, pointIds, deviceIds }
}

/** What the stream should say for a reading sent on the wire: point id, instant, value, text. */
const expected = (site: Site, r: WireReading) =>
  JSON.stringify([
    site.pointIds.get(r.p),
    new Date(r.t).toISOString(),
    typeof r.v === 'number' ? String(r.v) : null,
    typeof r.v === 'string' ? r.v : null,
  ])
const received = (f: Frame) => JSON.stringify([f.data.pointId, f.data.ts, f.data.value, f.data.text])

describe.skipIf(!pgUrl)('live values across hubs (PostgreSQL LISTEN/NOTIFY)', () => {
  const dbName = `eh_test_live_${randomBytes(5).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-live-hubs-'))
  const hubs: RunningHub[] = []
  const gateways: WireGateway[] = []
  let admin: pg.Client
  let dbUrl: string
  let sites: Site[] = []
  let token: string

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl })
    await admin.connect()
    await admin.query(`create database ${dbName}`)
    const url = new URL(pgUrl!)
    url.pathname = `/${dbName}`
    dbUrl = url.toString()
    for (const n of [1, 2, 3]) {
      const file = join(dir, `hub-${n}.yaml`)
      writeFileSync(
        file,
        [
          'http: { port: 0 }',
          'mqtt: { port: 0 }',
          `database: { url: ${JSON.stringify(url.toString())}, poolMax: 3 }`,
          'log: { level: warn }',
          '',
        ].join('\n'),
      )
      // One after another: each migrates the shared database at start.
      hubs.push(await startHub(loadHubConfig(file, {}), { requestLogLevel: 'debug' }))
    }
    const db = hubs[0]!.store.db
    const points = [
      ...Array.from({ length: 25 }, (_, i) => ({
        device: `m${i % 5}`,
        point: `p${i}`,
        kind: 'gauge' as const,
      })),
      { device: 'm0', point: 'state', kind: 'state' as const },
    ]
    const first = await seedSite(db, { code: 'LIVEHUBS', points })
    sites = [first, await addGateway(db, first, 'h2'), await addGateway(db, first, 'h3')]
    // Gateway n speaks to hub n only.
    for (const [n, site] of sites.entries())
      gateways.push(await connectWireGateway(hubs[n]!.mqttUrl, site, HANG_MS))
    const user = await createUser(db, { username: 'live-hubs-viewer', password: TEST_PASSWORD })
    await grantRole(db, user.id, 'viewer', first.estateId, null)
    const login = await fetch(`${hubs[0]!.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'live-hubs-viewer', password: TEST_PASSWORD }),
    })
    token = ((await login.json()) as { token: string }).token
  }, 180_000)

  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => {})
    for (const hub of hubs) {
      // Spare keep-alive connections of fetch would hold close() up until they time out.
      const closing = hub.app.close()
      hub.app.server.closeAllConnections()
      await closing.catch(() => {})
    }
    await admin?.query(`drop database if exists ${dbName} with (force)`).catch(() => {})
    await admin?.end()
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  /** A batch of `count` readings of the site's gauges, values unique to this call. */
  let serial = 0
  const gaugeBatch = (site: Site, count: number): WireReading[] => {
    const names = [...site.pointIds.keys()].filter((k) => !k.endsWith('/state'))
    const base = Date.now() - 60_000
    return Array.from({ length: count }, (_, i) => ({
      p: names[i % names.length]!,
      t: base + i,
      v: ++serial + 0.25,
      q: 'good' as const,
    }))
  }

  it('a stream on hub 1 gets every reading hubs 1, 2 and 3 commit, once each and exactly', async () => {
    const stream = await openStream(`${hubs[0]!.url}/api/v1/live?estateId=${sites[0]!.estateId}`, token)
    try {
      expect(stream.response.status).toBe(200)
      await stream.until('the snapshot', () => stream.frames.some((f) => f.event === 'snapshot'))
      const want: string[] = []
      const sent = async (n: number, readings: WireReading[]) => {
        for (const r of readings) want.push(expected(sites[n]!, r))
        await gateways[n]!.send({ readings })
      }
      // Text values of 1,024 CJK characters (3 KB each in UTF-8) make hub 3's big batch span many
      // NOTIFY payloads (each under 8,000 bytes).
      const long = (i: number) => `状态${i}-${'长'.repeat(1_018)}`.slice(0, 1_024)
      const bigBatch = [
        ...gaugeBatch(sites[2]!, 580),
        ...Array.from({ length: 20 }, (_, i) => ({
          p: 'm0-h3/state',
          t: Date.now() - 30_000 + i,
          v: long(i),
          q: 'good' as const,
        })),
      ]
      const started = Date.now()
      await Promise.all([
        (async () => {
          for (let b = 0; b < 5; b++) await sent(1, gaugeBatch(sites[1]!, 40))
        })(),
        (async () => {
          await sent(2, bigBatch)
          for (let b = 0; b < 4; b++) await sent(2, gaugeBatch(sites[2]!, 30))
        })(),
        (async () => {
          for (let b = 0; b < 3; b++) await sent(0, gaugeBatch(sites[0]!, 10))
        })(),
      ])
      // Committed after every batch above was acked: NOTIFY delivers in commit order, so when
      // this arrives everything before it (and any duplicate of it) has.
      const sentinel = gaugeBatch(sites[1]!, 1)
      await sent(1, sentinel)
      const sentinelKey = expected(sites[1]!, sentinel[0]!)
      await stream.until('the last batch', () =>
        stream.frames.some((f) => f.event === 'reading' && received(f) === sentinelKey),
      )
      console.log(
        `[timing] ${want.length} readings from 3 hubs on hub 1's stream in ${Date.now() - started} ms`,
      )
      const got = stream.frames.filter((f) => f.event === 'reading').map(received)
      expect(stream.frames.filter((f) => f.event === 'dropped' || f.event === 'gap')).toEqual([])
      expect(got.length).toBe(want.length)
      expect(new Set(got).size).toBe(got.length)
      expect([...got].sort()).toEqual([...want].sort())
      // Each gateway's readings in the order they were sent (one batch's NOTIFYs in order too).
      for (const site of sites) {
        const ids = new Set(site.pointIds.values())
        const mine = (list: string[]) => list.filter((k) => ids.has(JSON.parse(k)[0]))
        expect(mine(got)).toEqual(mine(want))
      }
    } finally {
      await stream.close()
    }
  }, 120_000)

  it('when PostgreSQL ends the relays’ connections, the stream is told of a gap and readings arrive again', async () => {
    const stream = await openStream(`${hubs[0]!.url}/api/v1/live?estateId=${sites[0]!.estateId}`, token)
    try {
      await stream.until('the snapshot', () => stream.frames.some((f) => f.event === 'snapshot'))
      const terminated = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2',
        [dbName, LIVE_RELAY_APPLICATION],
      )
      // Every hub listens on a connection of its own.
      expect(terminated.rowCount).toBe(3)
      const cut = Date.now()
      await stream.until('the gap event', () => stream.frames.some((f) => f.event === 'gap'))
      console.log(
        `[timing] hub 1's relay listened again ${Date.now() - cut} ms after its connection was ended`,
      )
      const gap = stream.frames.find((f) => f.event === 'gap')!.data
      expect(Date.parse(gap.from)).toBeLessThanOrEqual(Date.parse(gap.to))
      expect(Date.parse(gap.to)).toBeGreaterThanOrEqual(cut - 1_000)
      const readingsBefore = stream.frames.filter((f) => f.event === 'reading').length
      const fromHub2 = gaugeBatch(sites[1]!, 5)
      const fromHub3 = gaugeBatch(sites[2]!, 7)
      await gateways[1]!.send({ readings: fromHub2 })
      await gateways[2]!.send({ readings: fromHub3 })
      const want = [
        ...fromHub2.map((r) => expected(sites[1]!, r)),
        ...fromHub3.map((r) => expected(sites[2]!, r)),
      ]
      await stream.until('the readings after the reconnect', () =>
        want.every((k) => stream.frames.some((f) => f.event === 'reading' && received(f) === k)),
      )
      const after = stream.frames
        .filter((f) => f.event === 'reading')
        .slice(readingsBefore)
        .map(received)
      expect(after).toEqual(want)
      // The listener connections are back.
      const listening = await admin.query(
        'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2',
        [dbName, LIVE_RELAY_APPLICATION],
      )
      expect(listening.rows[0].n).toBe(3)
    } finally {
      await stream.close()
    }
  }, 120_000)

  it('an estate nobody watches costs no NOTIFY; a watched one gets the batch in payloads under 8,000 bytes', async () => {
    const estateId = sites[0]!.estateId
    const watchLocks = async () =>
      (
        await admin.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = $1
             and database = (select oid from pg_database where datname = $2)`,
          [LIVE_WATCH_LOCK, dbName],
        )
      ).rows[0].n as number
    // The streams of the tests before have closed: their relay lets the estate go.
    const end = Date.now() + HANG_MS
    while ((await watchLocks()) > 0) {
      if (Date.now() > end) throw new Error('the relays still hold watch locks')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const listener = new pg.Client({ connectionString: dbUrl })
    await listener.connect()
    const heard: string[] = []
    listener.on('notification', (m) => heard.push(m.payload ?? ''))
    try {
      await listener.query(`listen "${liveChannel(estateId)}"`)
      const sentinel = async (tag: string) => {
        // Notifications arrive in commit order: once this one is heard, any of the batch before it was.
        await listener.query(`notify "${liveChannel(estateId)}", '${tag}'`)
        const until = Date.now() + HANG_MS
        while (!heard.includes(tag)) {
          if (Date.now() > until) throw new Error(`${tag}: not heard`)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        return heard.splice(0).filter((p) => p !== tag)
      }
      await gateways[1]!.send({ readings: gaugeBatch(sites[1]!, 10) })
      expect(await sentinel('unwatched')).toEqual([])

      const stream = await openStream(`${hubs[0]!.url}/api/v1/live?estateId=${estateId}`, token)
      try {
        await stream.until('the snapshot', () => stream.frames.some((f) => f.event === 'snapshot'))
        expect(await watchLocks()).toBe(1)
        const readings = gaugeBatch(sites[1]!, 300)
        await gateways[1]!.send({ readings })
        const payloads = await sentinel('watched')
        expect(payloads.length).toBeGreaterThan(1)
        for (const p of payloads) expect(Buffer.byteLength(p, 'utf8')).toBeLessThan(8_000)
        const parsed = payloads.map((p) => JSON.parse(p))
        expect(parsed.map((p) => p.i)).toEqual(parsed.map((_, i) => i))
        expect(parsed.flatMap((p) => p.r).length).toBe(readings.length)
      } finally {
        await stream.close()
      }
    } finally {
      await listener.end()
    }
  }, 120_000)
})
