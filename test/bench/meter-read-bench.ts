/**
 * Meter-read benchmark (npm run bench): the month end (runMeterReads) of one estate with
 * 100,000 meters on PostgreSQL, against an indexed `insert … select` of the same rows.
 *
 * A fresh database (`eh_bench_<random>`, dropped at the end) holds the estate seeded by
 * test/support/meter-read-estate.ts (set-based SQL): 99,999 unit meters under one master,
 * each bound to a counter point with readings every 15 minutes for an hour either side of the
 * cut-off, and three approved periods before this one (previous readings, trailing averages).
 *
 * Cases, interleaved over ≥ 3 rounds (test/bench/bench-runs.ts), after a CHECKPOINT each:
 * - month end: the period's records and their audit rows deleted first (and vacuumed), then
 *   the run creates every record (the scheduler's first run of a period);
 * - re-run: the same again with the records in place (the scheduler's final run; nothing
 *   changes, every record is read and compared);
 * - baseline: `insert … select` of the period's records into a scratch copy of meter_reads
 *   with its indexes (`like meter_reads including all`), and the same with their audit rows.
 * Targets (issue 14): month end < 20 s and ≤ 3 × the records baseline (medians).
 *
 * ESTATEHUB_BENCH_MILLION=1: instead, 10 estates of 100,000 meters (1,000,000), one month
 * end per estate in turn, as the scheduler runs them; one round (the seeding takes minutes).
 * ESTATEHUB_BENCH_METERS sizes the estate for a quick try (default 100,000).
 * PostgreSQL at ESTATEHUB_BENCH_PG_URL or ESTATEHUB_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test); skipped when it does not answer.
 */

import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { periodBounds } from '../../hub/metering/cutoff.ts'
import { runMeterReads } from '../../hub/metering/meter-read-run.ts'
import type { Database } from '../../hub/store/database-schema.ts'
import { openStore, type Store } from '../../hub/store/open-store.ts'
import { type MeterEstate, SCALE_PERIOD, seedMeterEstate } from '../support/meter-read-estate.ts'
import { interleave, load1, printStats } from './bench-runs.ts'

const PG_URL =
  process.env.ESTATEHUB_BENCH_PG_URL ??
  process.env.ESTATEHUB_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const MILLION = process.env.ESTATEHUB_BENCH_MILLION === '1'
const METERS = Number(process.env.ESTATEHUB_BENCH_METERS ?? 100_000)
const ESTATES = MILLION ? 10 : 1
const TARGET_MS = 20_000
const TARGET_RATIO = 3
const NOW = periodBounds(SCALE_PERIOD, 'Asia/Shanghai', null).cutoff + 2 * 86_400_000

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** Deletes the period's records of the estate and their audit rows, and tidies up after. */
async function forget(db: Kysely<Database>, estateId: string) {
  await sql`delete from meter_read_changes c using meter_reads r
    where c.meter_read_id = r.id and r.estate_id = ${estateId} and r.period = ${SCALE_PERIOD}`.execute(db)
  await sql`delete from meter_reads where estate_id = ${estateId} and period = ${SCALE_PERIOD}`.execute(db)
  await sql`vacuum analyze meter_reads`.execute(db)
  await sql`vacuum analyze meter_read_changes`.execute(db)
  await sql`checkpoint`.execute(db)
}

async function monthEnd(db: Kysely<Database>, estate: MeterEstate, expect: 'created' | 'unchanged') {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const report = await runMeterReads(db, { estateId: estate.estateId, period: SCALE_PERIOD, now: NOW })
  const ms = performance.now() - started
  const used = process.cpuUsage(cpu)
  if (report[expect] !== report.meters || report.meters !== METERS || report.flagged !== 1)
    throw new Error(`unexpected run: ${JSON.stringify({ ...report, conflicts: report.conflicts.length })}`)
  console.log(
    `    ${expect === 'created' ? 'month end' : 're-run'}: ${fmt(report.meters)} meters, ${fmt(report[expect])} ${expect}, Node CPU ${((used.user + used.system) / 1e6).toFixed(1)} s`,
  )
  return ms
}

async function baseline(db: Kysely<Database>, estateId: string, withChanges: boolean) {
  await sql`truncate bench_meter_reads, bench_meter_read_changes`.execute(db)
  await sql`checkpoint`.execute(db)
  const started = performance.now()
  await db.transaction().execute(async (trx) => {
    await sql`insert into bench_meter_reads select * from meter_reads
      where estate_id = ${estateId} and period = ${SCALE_PERIOD}`.execute(trx)
    if (withChanges)
      await sql`insert into bench_meter_read_changes overriding system value select c.* from meter_read_changes c
        join meter_reads r on r.id = c.meter_read_id
        where r.estate_id = ${estateId} and r.period = ${SCALE_PERIOD}`.execute(trx)
  })
  return performance.now() - started
}

async function single(db: Kysely<Database>, version: string) {
  console.log(
    `Meter reads at month end on PostgreSQL ${version}: ${fmt(METERS)} meters in one estate (${fmt(METERS - 1)} unit meters under one master), period ${SCALE_PERIOD}`,
  )
  let started = performance.now()
  const estate = await seedMeterEstate(db, { subMeters: METERS - 1, history: 'three', label: 'BENCH' })
  console.log(
    `  seeding (set-based SQL + ANALYZE, not part of the result): ${secs(performance.now() - started)}`,
  )
  await sql`create table bench_meter_reads (like meter_reads including all)`.execute(db)
  await sql`create table bench_meter_read_changes (like meter_read_changes including all)`.execute(db)
  started = performance.now()
  const stats = await interleave([
    {
      name: 'month end (creates every record)',
      run: async () => {
        await forget(db, estate.estateId)
        return monthEnd(db, estate, 'created')
      },
    },
    {
      name: 're-run (nothing changed)',
      run: async () => {
        await sql`checkpoint`.execute(db)
        return monthEnd(db, estate, 'unchanged')
      },
    },
    { name: 'insert … select of the records', run: () => baseline(db, estate.estateId, false) },
    { name: 'insert … select of the records and audit rows', run: () => baseline(db, estate.estateId, true) },
  ])
  printStats(
    `Meter reads at month end, ${fmt(METERS)} meters (ms, ${stats[0]!.samples.length} interleaved rounds, ${secs(performance.now() - started)} in all)`,
    stats,
    'insert … select of the records',
  )
  const run = stats[0]!.median
  const ratio = run / stats[2]!.median
  console.log(
    `  targets: under ${TARGET_MS / 1000} s: ${run < TARGET_MS ? 'met' : 'NOT met'} (${secs(run)}); ≤ ${TARGET_RATIO} × the insert … select: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'} (${ratio.toFixed(2)} ×)`,
  )
}

async function million(db: Kysely<Database>, version: string) {
  console.log(
    `Meter reads at month end on PostgreSQL ${version}: ${ESTATES} estates × ${fmt(METERS)} meters, period ${SCALE_PERIOD}, one round`,
  )
  let started = performance.now()
  const estates: MeterEstate[] = []
  for (let i = 0; i < ESTATES; i++)
    estates.push(await seedMeterEstate(db, { subMeters: METERS - 1, history: 'half', label: `MILLION${i}` }))
  console.log(`  seeding (not part of the result): ${secs(performance.now() - started)}`)
  await sql`checkpoint`.execute(db)
  started = performance.now()
  for (const [i, estate] of estates.entries()) {
    const one = performance.now()
    await monthEnd(db, estate, 'created')
    console.log(`  estate ${i + 1}: ${secs(performance.now() - one)}  (load ${load1().toFixed(2)})`)
  }
  const total = performance.now() - started
  console.log(
    `  month end of ${fmt(ESTATES * METERS)} meters in ${ESTATES} estates, one after another: ${secs(total)} (one run; load ${load1().toFixed(2)})`,
  )
}

async function main() {
  if (!Number.isSafeInteger(METERS) || METERS < 2)
    throw new Error(`ESTATEHUB_BENCH_METERS must be an integer ≥ 2, got ${METERS}`)
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5_000 })
  try {
    await admin.connect()
  } catch (error) {
    console.log(
      `Meter-read benchmark skipped: PostgreSQL does not answer at ${PG_URL} (${(error as Error).message}).`,
    )
    return
  }
  const version =
    (await admin.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]?.v ?? '?'
  const name = `eh_bench_${randomBytes(6).toString('hex')}`
  await admin.query(`create database ${name}`)
  const dbUrl = new URL(PG_URL)
  dbUrl.pathname = `/${name}`
  let store: Store | undefined
  try {
    store = await openStore({ url: dbUrl.toString(), poolMax: 4 })
    await migrateHub(store.db)
    if (MILLION) await million(store.db, version)
    else await single(store.db, version)
  } finally {
    await store?.close()
    // pg-pool's end() resolves before its idle connections have closed: wait until they are gone.
    for (let i = 0; i < 50; i++) {
      const open = await admin.query('select 1 from pg_stat_activity where datname = $1', [name])
      if (open.rowCount === 0) break
      await new Promise((r) => setTimeout(r, 100))
    }
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

await main()
