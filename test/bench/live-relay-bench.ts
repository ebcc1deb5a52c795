/**
 * What the live relay costs the ingest (docs/decisions/0015): commitBatch() on PostgreSQL with
 * and without the NOTIFY in each batch's transaction, the latter with nobody listening and with
 * three listeners on every estate: bare pg clients (PostgreSQL's side) and three hubs' relays in
 * this process (which adds their decoding to the committer's event loop). Per run GATEWAYS
 * gateways (one estate each, 25 gauges) commit BATCHES batches of READINGS readings each,
 * gateways in parallel, each in order, through one pool of 8 connections (a hub's). The measure is committed readings per
 * second from the first commit to the last; with listeners, also the time until the last
 * reading reached every relay's feed (delivery lag after the last commit).
 *
 *   npx tsx test/bench/live-relay-bench.ts   (PostgreSQL at ESTATEHUB_BENCH_PG_URL or
 *                                             ESTATEHUB_TEST_PG_URL; skipped when none answers)
 *   LIVE_BENCH_RUNS=5 LIVE_BENCH_BATCHES=20 LIVE_BENCH_READINGS=1000   (defaults 3, 10, 500)
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import type { UplinkBatch } from '../../gateway/contract/index.ts'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { commitBatch, type InCommitHook } from '../../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../../hub/ingest/reading-partitions.ts'
import { openStore } from '../../hub/store/open-store.ts'
import { LiveFeed } from '../../hub/timeseries/live-feed.ts'
import { LIVE_WATCH_LOCK, LiveRelay, liveChannel, liveNotifyHook } from '../../hub/timeseries/live-relay.ts'
import { type Site, seedSite } from '../support/ingest-fixture.ts'
import { interleave, printStats } from './bench-runs.ts'

const PG_URL =
  process.env.ESTATEHUB_BENCH_PG_URL ??
  process.env.ESTATEHUB_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const RUNS = Number(process.env.LIVE_BENCH_RUNS ?? 3)
const BATCHES = Number(process.env.LIVE_BENCH_BATCHES ?? 10)
const READINGS = Number(process.env.LIVE_BENCH_READINGS ?? 500)
const GATEWAYS = 4
const POINTS = 25
const quiet = { info() {}, warn: (fields: object, message: string) => console.warn(message, fields) }

async function main() {
  const admin = new pg.Client({ connectionString: PG_URL })
  try {
    await admin.connect()
  } catch (error) {
    console.log(
      `live-relay bench skipped: PostgreSQL does not answer at ${PG_URL} (${(error as Error).message})`,
    )
    return
  }
  const name = `eh_bench_live_${randomBytes(5).toString('hex')}`
  await admin.query(`create database ${name}`)
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  const store = await openStore({ url: url.toString(), poolMax: 8 })
  const relays: LiveRelay[] = []
  const rawClients: pg.Client[] = []
  try {
    await migrateHub(store.db)
    const points = Array.from({ length: POINTS }, (_, i) => ({
      device: `m${i % 5}`,
      point: `p${i}`,
      kind: 'gauge' as const,
    }))
    const sites: Site[] = []
    for (let g = 0; g < GATEWAYS; g++) sites.push(await seedSite(store.db, { code: `LIVEBENCH${g}`, points }))
    const directory = new PointDirectory(store.db)
    const partitions = new ReadingPartitions(store.db)
    await partitions.load()
    const entries = await Promise.all(sites.map((s) => directory.gateway(s.gatewayCode)))
    const seqs = sites.map(() => 0)
    let runNo = 0
    // Three hubs' relays, subscribed to every estate, counting what reaches their feeds.
    const feeds = [0, 1, 2].map(() => new LiveFeed())
    const delivered = feeds.map(() => 0)
    for (const feed of feeds) {
      const relay = new LiveRelay({ url: url.toString(), feed, log: quiet })
      relays.push(relay)
      relay.start()
    }
    // Three bare listeners (LISTEN and the watch lock, no decoding): PostgreSQL's side of the cost
    // without the relays' JSON work, which in a deployment runs in the other hubs' processes.
    const raw = await Promise.all(
      [0, 1, 2].map(async () => {
        const client = new pg.Client({ connectionString: url.toString() })
        await client.connect()
        const heard = { payloads: 0, ends: 0 }
        client.on('notification', (m) => {
          if (m.payload === 'end') heard.ends += 1
          else heard.payloads += 1
        })
        rawClients.push(client)
        return { client, heard }
      }),
    )
    const channels = sites.map((s) => liveChannel(s.estateId))
    const estates = sites.map((s) => s.estateId)
    const lockAll = `select pg_advisory_lock_shared($1::int, hashtext(e)) from unnest($2::text[]) as e`
    const unlockAll = `select pg_advisory_unlock_shared($1::int, hashtext(e)) from unnest($2::text[]) as e`
    const unsubscribeAll: (() => void)[] = []
    const run = async (hook: InCommitHook | undefined, listening: 'none' | 'relays' | 'bare') => {
      runNo += 1
      const base = Date.now() - 86_400_000 + runNo * 60_000
      delivered.fill(0)
      if (listening === 'bare')
        for (const { client, heard } of raw) {
          heard.payloads = 0
          heard.ends = 0
          await client.query(channels.map((c) => `listen "${c}"`).join('; '))
          await client.query(lockAll, [LIVE_WATCH_LOCK, estates])
        }
      if (listening === 'relays') {
        for (const [i, feed] of feeds.entries())
          for (const site of sites)
            unsubscribeAll.push(
              feed.subscribe({ estateId: site.estateId }, (readings) => {
                delivered[i]! += readings.length
              }),
            )
        await Promise.all(feeds.flatMap((feed) => sites.map((s) => feed.ready(s.estateId))))
      }
      const started = performance.now()
      await Promise.all(
        sites.map(async (site, g) => {
          const names = [...site.pointIds.keys()]
          for (let b = 0; b < BATCHES; b++) {
            const seq = ++seqs[g]!
            const batch: UplinkBatch = {
              v: 1,
              gateway: site.gatewayCode,
              session: 'bench',
              seq,
              oldest: seq,
              sentAt: Date.now(),
              historical: false,
              readings: Array.from({ length: READINGS }, (_, i) => ({
                p: names[i % names.length]!,
                t: base + b * READINGS + i,
                v: (b * READINGS + i) / 4,
                q: 'good' as const,
              })),
              events: [],
            }
            await commitBatch(store.db, partitions, entries[g]!, batch, hook ? { inCommit: hook } : {})
          }
        }),
      )
      const committedMs = performance.now() - started
      if (listening === 'bare') {
        // Delivered in commit order: once every listener has the ends, it has every payload.
        await sql`select pg_notify(c, 'end') from unnest(${channels}::text[]) as c`.execute(store.db)
        const until = Date.now() + 60_000
        while (raw.some((r) => r.heard.ends < channels.length)) {
          if (Date.now() > until) throw new Error('bare listeners did not hear the end')
          await new Promise((r) => setTimeout(r, 5))
        }
        const lag = performance.now() - started - committedMs
        console.log(
          `    [bare] ${raw[0]!.heard.payloads} payloads on each of 3 listeners ${lag.toFixed(0)} ms after the last commit`,
        )
        for (const { client } of raw) {
          await client.query(channels.map((c) => `unlisten "${c}"`).join('; '))
          await client.query(unlockAll, [LIVE_WATCH_LOCK, estates])
        }
      }
      if (listening === 'relays') {
        const want = GATEWAYS * BATCHES * READINGS
        const until = Date.now() + 60_000
        while (delivered.some((n) => n < want)) {
          if (Date.now() > until) throw new Error(`relays got ${delivered.join('/')} of ${want}`)
          await new Promise((r) => setTimeout(r, 5))
        }
        const lag = performance.now() - started - committedMs
        console.log(`    [relay] every reading on all 3 relays ${lag.toFixed(0)} ms after the last commit`)
        for (const u of unsubscribeAll.splice(0)) u()
      }
      return (GATEWAYS * BATCHES * READINGS) / (committedMs / 1_000)
    }
    const notify = liveNotifyHook(quiet)
    // One warm-up of each path (JIT, partitions, plans).
    await run(undefined, 'none')
    await run(notify, 'none')
    const stats = await interleave(
      [
        { name: 'commit, no NOTIFY', unit: 'readings/s', run: () => run(undefined, 'none') },
        { name: 'commit + NOTIFY, nobody listening', unit: 'readings/s', run: () => run(notify, 'none') },
        { name: 'commit + NOTIFY, 3 bare listeners', unit: 'readings/s', run: () => run(notify, 'bare') },
        {
          name: 'commit + NOTIFY, 3 relays in this process',
          unit: 'readings/s',
          run: () => run(notify, 'relays'),
        },
      ],
      { runs: RUNS },
    )
    printStats(
      `live relay: ${GATEWAYS} gateways × ${BATCHES} batches × ${READINGS} readings, pool of 8, PostgreSQL`,
      stats,
      'commit, no NOTIFY',
    )
  } finally {
    for (const relay of relays) await relay.close()
    for (const client of rawClients) await client.end()
    await store.close()
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

await main()
