import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Decimal } from '../hub/kernel/decimal.ts'
import { periodBounds } from '../hub/metering/cutoff.ts'
import { approveClean } from '../hub/metering/meter-read-actions.ts'
import { runMeterReads } from '../hub/metering/meter-read-run.ts'
import type { Store } from '../hub/store/open-store.ts'
import {
  expectedConsumption,
  type MeterEstate,
  SCALE_PERIOD,
  seedMeterEstate,
} from './support/meter-read-estate.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * The month end of one estate with 100,001 meters (100,000 unit meters under one master) on
 * PostgreSQL, in a database of its own. Before issue 14 the run bound one parameter per meter
 * and failed past 65,535 ("34465 parameter formats but 0 parameters"); now every statement
 * takes the meters as one array and the records are written in chunks. Guarded here: the run
 * completes, writes every record with the right consumption (a sample, exact and interpolated,
 * previous from the last record and from the series), flags the master, approves in bulk, and
 * a re-run after late readings updates what the hub owns and reports what a clerk approved.
 * No durations are asserted; they are printed as [timing].
 */
const SUB_METERS = 100_000
const METERS = SUB_METERS + 1
// Minutes on a loaded 2-core machine, not seconds: the limits only stop a run that hangs.
const backend = storeBackends().find((b) => b.name === 'postgres')
if (!backend) console.log('meter-read scale test skipped: ESTATEHUB_TEST_PG_URL is not set (PostgreSQL only)')

describe.skipIf(!backend)('meter reads at month end for 100,001 meters (PostgreSQL)', () => {
  let store: Store
  let estate: MeterEstate
  const bounds = periodBounds(SCALE_PERIOD, 'Asia/Shanghai', null)
  const now = bounds.cutoff + 2 * 86_400_000
  const sample = [1, 2, 3, 4, 7, 9_999, 10_000, 10_001, 33_333, 49_998, 50_001, 77_777, 99_999, 100_000]
  const code = (i: number) => `E-${String(i).padStart(7, '0')}`
  const timed = async <T>(label: string, action: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    const result = await action()
    console.log(`[timing] ${label}: ${((performance.now() - started) / 1000).toFixed(2)} s`)
    return result
  }
  const recordsOf = async (codes: readonly string[]) =>
    store.db
      .selectFrom('meterReads')
      .innerJoin('meters', 'meters.id', 'meterReads.meterId')
      .select([
        'meters.code',
        'meterReads.consumption',
        'meterReads.method',
        'meterReads.previousSource',
        'meterReads.status',
        'meterReads.flags',
        'meterReads.version',
      ])
      .where('meterReads.estateId', '=', estate.estateId)
      .where('meterReads.period', '=', SCALE_PERIOD)
      .where('meters.code', '=', sql<string>`any(${codes}::text[])`)
      .execute()
  const same = (a: string | null | undefined, b: string) =>
    a !== null && a !== undefined && Decimal.of(a).eq(b)

  beforeAll(async () => {
    store = await backend!.open()
    estate = await timed(`seeding ${METERS} meters`, () =>
      seedMeterEstate(store.db, { subMeters: SUB_METERS, history: 'half' }),
    )
  }, 600_000)
  afterAll(() => store?.close())

  it('writes a record for every meter, with the right consumption, and flags the master', async () => {
    const report = await timed(`month end for ${METERS} meters`, () =>
      runMeterReads(store.db, { estateId: estate.estateId, period: SCALE_PERIOD, now }),
    )
    expect(report).toMatchObject({
      meters: METERS,
      created: METERS,
      updated: 0,
      unchanged: 0,
      flagged: 1,
      conflicts: [],
    })
    const counts = await sql<{ reads: number; logged: number }>`
      select (select count(*) from meter_reads where estate_id = ${estate.estateId} and period = ${SCALE_PERIOD})::int as reads,
        (select count(*) from meter_read_changes where estate_id = ${estate.estateId} and action = 'computed')::int as logged`.execute(
      store.db,
    )
    expect(counts.rows[0]).toEqual({ reads: METERS, logged: METERS })

    const rows = await recordsOf(sample.map(code))
    expect(rows).toHaveLength(sample.length)
    for (const i of sample) {
      const row = rows.find((r) => r.code === code(i))!
      const expected = expectedConsumption(i, estate.quarters)
      expect(same(row.consumption, expected), `${code(i)}: ${row.consumption} ≠ ${expected}`).toBe(true)
      expect(row, code(i)).toMatchObject({
        method: i % 2 === 0 ? 'exact' : 'interpolated',
        previousSource: i % 2 === 0 ? 'read' : 'series',
        status: 'auto',
        flags: [],
      })
    }
    const [master] = await recordsOf(['E-MAIN'])
    expect(master?.status).toBe('flagged')
    expect(master?.flags.map((f) => f.code)).toEqual(['master_below_subs'])
  }, 900_000)

  it('approves in bulk, and a re-run updates the records the hub owns and reports the approved ones', async () => {
    expect(
      await timed('re-run, nothing changed', () =>
        runMeterReads(store.db, { estateId: estate.estateId, period: SCALE_PERIOD, now }),
      ),
    ).toMatchObject({ meters: METERS, created: 0, updated: 0, unchanged: METERS, flagged: 1, conflicts: [] })

    // Building 1 (meters 1…10,000) approved by a clerk.
    const building = await store.db
      .selectFrom('buildings')
      .select('id')
      .where('estateId', '=', estate.estateId)
      .where('code', '=', 'B001')
      .executeTakeFirstOrThrow()
    const clerk = await anyUser()
    const approved = await timed('approve clean, one building', () =>
      approveClean(
        store.db,
        { userId: clerk.id },
        { estateId: estate.estateId, period: SCALE_PERIOD, buildingId: building.id },
      ),
    )
    expect(approved).toBe(10_000)

    // A gateway's outbox replays a reading at the cut-off for odd meters 1…19,999, 0.05 above
    // the line: 5,000 of them approved (conflicts), 5,000 the hub's own (updated), and the
    // master's flag now names a larger sum of its sub-meters (updated too).
    await sql`insert into readings (point_id, ts, counter, value, quality)
      select m.point_id, ${new Date(bounds.cutoff).toISOString()}::timestamptz, true,
        (1000 + i % 5000) + (1 + i % 7) * 0.01 * ${estate.quarters}::int + 0.05, 'good'
      from generate_series(1, 19999, 2) i
      join meters m on m.estate_id = ${estate.estateId} and m.code = 'E-' || lpad(i::text, 7, '0')`.execute(
      store.db,
    )
    const report = await timed(`re-run after 10,000 late readings`, () =>
      runMeterReads(store.db, { estateId: estate.estateId, period: SCALE_PERIOD, now }),
    )
    expect(report).toMatchObject({ meters: METERS, created: 0, updated: 5_001, unchanged: METERS - 10_001 })
    expect(report.conflicts).toHaveLength(5_000)
    expect(report.conflicts[0]).toMatchObject({ meterCode: code(1), status: 'approved' })
    expect(report.conflicts.at(-1)).toMatchObject({ meterCode: code(9_999), status: 'approved' })
    expect(Object.keys(report.conflicts[0]!.differences).sort()).toEqual(['consumption', 'currentReading'])

    const rows = await recordsOf([code(1), code(2), code(10_001), code(19_999), code(20_001)])
    const of = (i: number) => rows.find((r) => r.code === code(i))!
    const plus5 = (i: number) => Decimal.of(expectedConsumption(i, estate.quarters)).plus('0.05').toString()
    expect(of(1)).toMatchObject({ status: 'approved', method: 'interpolated', version: 2 })
    expect(same(of(1).consumption, expectedConsumption(1, estate.quarters))).toBe(true)
    expect(of(2)).toMatchObject({ status: 'approved', method: 'exact', version: 2 })
    for (const i of [10_001, 19_999]) {
      expect(of(i), code(i)).toMatchObject({ status: 'auto', method: 'exact', version: 2 })
      expect(same(of(i).consumption, plus5(i)), `${code(i)}: ${of(i).consumption}`).toBe(true)
    }
    expect(of(20_001)).toMatchObject({ status: 'auto', method: 'interpolated', version: 1 })
    const logged = await sql<{ n: number }>`
      select count(*)::int as n from meter_read_changes where estate_id = ${estate.estateId} and action = 'recomputed'`.execute(
      store.db,
    )
    expect(logged.rows[0]?.n).toBe(5_001)
  }, 900_000)

  async function anyUser() {
    const existing = await store.db.selectFrom('users').select('id').executeTakeFirst()
    if (existing) return existing
    return store.db
      .insertInto('users')
      .values({ username: 'scale-clerk', displayName: 'clerk', passwordHash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow()
  }
})
