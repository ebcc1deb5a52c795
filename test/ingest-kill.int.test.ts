import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { Outbox } from '../gateway/outbox/outbox.ts'
import { Uplink } from '../gateway/uplink/uplink.ts'
import { migrateHub } from '../hub/app/hub-migrations.ts'
import { openStore, type Store, type StoreOptions } from '../hub/store/open-store.ts'
import { seedSite } from './support/ingest-fixture.ts'

/**
 * The hub process killed with SIGKILL in the middle of a stream of batches, then started
 * again: every reading arrives exactly once. A real gateway uplink (durable outbox, resend
 * until acked) talks to the hub's own embedded broker; the hub is a child process on PGlite
 * (a data directory) and on PostgreSQL.
 */
const bin = join(import.meta.dirname, '..', 'bin', 'estatehub.js')
const pgUrl = process.env.ESTATEHUB_TEST_PG_URL
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const BATCHES = 120
const POINTS = 25
const PER_POINT = 8 // readings per point per batch: 200 readings and one event per batch

/** Waits for a condition the system reports, not for a span of wall-clock time. */
async function until(what: string, condition: () => boolean, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await sleep(20)
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

interface Backend {
  readonly name: string
  /** The store options for this test's database, and the YAML `database:` section. */
  prepare(): Promise<{ options: StoreOptions; yaml: string; drop(): Promise<void> }>
}

const backends: Backend[] = [
  {
    name: 'pglite',
    async prepare() {
      const dataDir = join(mkdtempSync(join(tmpdir(), 'estatehub-kill-')), 'data')
      return { options: { dataDir }, yaml: `database:\n  dataDir: ${dataDir}\n`, drop: async () => {} }
    },
  },
  ...(pgUrl
    ? [
        {
          name: 'postgres',
          async prepare() {
            const name = `eh_kill_${randomBytes(5).toString('hex')}`
            const admin = new pg.Client({ connectionString: pgUrl })
            await admin.connect()
            await admin.query(`create database ${name}`)
            await admin.end()
            const url = new URL(pgUrl)
            url.pathname = `/${name}`
            return {
              options: { url: url.toString() },
              yaml: `database:\n  url: ${url.toString()}\n`,
              async drop() {
                const dropper = new pg.Client({ connectionString: pgUrl })
                await dropper.connect()
                await dropper.query(`drop database if exists ${name} with (force)`)
                await dropper.end()
              },
            }
          },
        },
      ]
    : []),
]

function startHub(config: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'hub', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    // A bound, not an expectation: a PGlite hub on a loaded machine takes its time to open.
    const timer = setTimeout(() => {
      child.kill('SIGKILL') // not left running after the test gave up on it
      reject(new Error(`hub did not start: ${out}`))
    }, 120_000)
    child.stdout!.on('data', (d) => {
      out += d
      if (/gateways: mqtt:\/\//.test(out)) {
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.stderr!.on('data', (d) => (out += d))
    child.on('exit', (code) => reject(new Error(`hub exited ${code}: ${out}`)))
  })
}

function stopped(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()))
}

for (const backend of backends) {
  describe(`hub killed with SIGKILL mid-stream (${backend.name})`, () => {
    const cleanups: (() => Promise<void>)[] = []
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    })

    it('loses no reading and stores none twice', { timeout: 600_000 }, async () => {
      const db = await backend.prepare()
      cleanups.push(db.drop)
      let store: Store = await openStore(db.options)
      await migrateHub(store.db)
      const points = Array.from({ length: POINTS }, (_, i) => ({
        device: `m${i}`,
        point: 'energy',
        kind: 'counter' as const,
      }))
      const site = await seedSite(store.db, { code: 'KILL', points })
      await store.close() // PGlite: one process per data directory, and the hub is that process

      const mqttPort = await freePort()
      const dir = mkdtempSync(join(tmpdir(), 'estatehub-kill-gw-'))
      const config = join(dir, 'hub.yaml')
      writeFileSync(config, `http:\n  port: 0\n${db.yaml}mqtt:\n  port: ${mqttPort}\nlog:\n  level: warn\n`)
      let hub = await startHub(config)
      cleanups.push(async () => {
        hub.kill('SIGKILL')
        await stopped(hub)
      })

      const outbox = await Outbox.open(join(dir, 'outbox'), {
        maxBatches: 10_000,
        maxBytes: 64 * 1024 * 1024,
      })
      const uplink = new Uplink(outbox, {
        url: `mqtt://127.0.0.1:${mqttPort}`,
        gatewayId: site.gatewayCode,
        secret: site.secret,
        ackTimeoutMs: 1_000,
        reconnectMinMs: 100,
        reconnectMaxMs: 500,
        connectTimeoutMs: 2_000,
        log: () => {},
      })
      cleanups.push(async () => {
        await uplink.close()
        await outbox.close()
      })
      uplink.start()

      // A steady stream: one batch every 15 ms; the hub dies a third of the way through.
      const base = Date.now() - 3_600_000
      let killed = false
      for (let b = 0; b < BATCHES; b++) {
        const readings = []
        for (let p = 0; p < POINTS; p++)
          for (let k = 0; k < PER_POINT; k++)
            readings.push({
              point: `m${p}/energy`,
              ts: base + b * 1000 + k,
              value: b * 1000 + k,
              quality: 'good' as const,
            })
        await uplink.enqueue({
          readings,
          events: [
            { source: `m${b % POINTS}`, ts: base + b * 1000, type: 'state_change', payload: { batch: b } },
          ],
        })
        const killAt = Math.floor(BATCHES / 3)
        // The hub acks a batch only once it is committed; a busy machine may not have got that
        // far yet, so wait for it (PGlite's data directory is the hub process's, not ours to read).
        if (b === killAt - 11) await until('the hub committed a batch', () => outbox.ackedSeq > 0)
        // Ten batches in a burst just before the kill, so some are in flight when it lands.
        if (b < killAt - 10 || b > killAt) await sleep(15)
        if (!killed && b === killAt) {
          expect(outbox.ackedSeq, 'some batches were committed before the kill').toBeGreaterThan(0)
          expect(outbox.depth, 'some batches were not yet acknowledged at the kill').toBeGreaterThan(0)
          hub.kill('SIGKILL')
          await stopped(hub)
          killed = true
          await sleep(300)
          hub = await startHub(config)
        }
      }
      const end = Date.now() + 60_000
      while (outbox.depth > 0 && Date.now() < end) await sleep(100)
      expect(outbox.depth, 'every batch acknowledged').toBe(0)

      hub.kill('SIGTERM')
      await stopped(hub)
      store = await openStore(db.options)
      try {
        const readings = await store.db
          .selectFrom('readings')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
        expect(Number(readings.n)).toBe(BATCHES * POINTS * PER_POINT)
        const events = await store.db.selectFrom('deviceEvents').select('data').execute()
        // Events have no natural key: a batch stored twice would show as a second copy here.
        expect(events).toHaveLength(BATCHES)
        expect(new Set(events.map((e) => (e.data as { batch: number }).batch)).size).toBe(BATCHES)
        const link = await store.db
          .selectFrom('gatewayLinks')
          .select('committedSeq')
          .executeTakeFirstOrThrow()
        expect(link.committedSeq).toBe(outbox.lastSeq)
      } finally {
        await store.close()
      }
    })
  })
}
