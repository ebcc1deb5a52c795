import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { ReadingPartitions } from '../../hub/ingest/reading-partitions.ts'
import { periodBounds, shiftPeriod } from '../../hub/metering/cutoff.ts'
import { createOrgChain } from '../../hub/org/org-chain.ts'
import type { Database } from '../../hub/store/database-schema.ts'

/**
 * A large estate for the month-end meter-read run (the scale test and the meter-read bench),
 * seeded with set-based SQL (insert … select … from generate_series), in one transaction.
 *
 * Sub-meter i (1…n) is an electricity meter of an occupied unit, bound to a counter point of
 * scale 0.01 (100 points per device), all under one estate master `E-MAIN`. Its register reads
 * base_i + rate_i × 0.01 per quarter hour, base_i = 1000 + i mod 5000, rate_i = 1 + i mod 7,
 * every 15 minutes from one hour before the cut-off to one hour after; an even meter also
 * reported at the cut-off itself (read `exact`), an odd one did not (`interpolated`). So the
 * period's consumption is rate_i × 0.01 × the period's quarter hours, whatever the path.
 *
 * History: 'half' gives even meters last period's approved record (previous reading
 * from the record) and odd ones readings around the period's start (previous from the series);
 * 'three' gives every meter three approved periods before this one (trailing averages too).
 * The master reads one 0.01 per quarter hour less than its sub-meters together: flagged.
 */
export interface MeterEstate {
  readonly estateId: string
  readonly masterId: string
  /** Quarter hours from the period's start to its cut-off. */
  readonly quarters: number
}

export const SCALE_PERIOD = '2026-10'
const TIME_ZONE = 'Asia/Shanghai'
const QUARTER_MS = 900_000

export function quartersOf(period: string): number {
  const b = periodBounds(period, TIME_ZONE, null)
  return (b.cutoff - b.start) / QUARTER_MS
}

/** The consumption the run must find for sub-meter i (a decimal string, 2 places). */
export function expectedConsumption(i: number, quarters: number): string {
  return (((1 + (i % 7)) * quarters) / 100).toFixed(2)
}

export async function seedMeterEstate(
  db: Kysely<Database>,
  options: { subMeters: number; buildings?: number; history: 'half' | 'three'; label?: string },
): Promise<MeterEstate> {
  const n = options.subMeters
  const buildings = options.buildings ?? 10
  const perBuilding = Math.ceil(n / buildings)
  const suffix = `${options.label ?? 'SCALE'}-${randomBytes(3).toString('hex')}`
  const bounds = periodBounds(SCALE_PERIOD, TIME_ZONE, null)
  const quarters = (bounds.cutoff - bounds.start) / QUARTER_MS
  const iso = (ms: number) => new Date(ms).toISOString()
  await new ReadingPartitions(db).ensure([
    { counter: true, ts: bounds.start - 3_600_000 },
    { counter: true, ts: bounds.start + 3_600_000 },
    { counter: true, ts: bounds.cutoff - 3_600_000 },
    { counter: true, ts: bounds.cutoff + 3_600_000 },
  ])

  const seeded = await db.transaction().execute(async (trx) => {
    const { estateId } = await createOrgChain(trx, {
      group: { code: `G-${suffix}` },
      company: { code: `C-${suffix}` },
      estate: { code: `E-${suffix}`, timezone: TIME_ZONE },
    })
    const run = (query: ReturnType<typeof sql>) => query.execute(trx)
    await run(sql`create temp table seed_b on commit drop as
      select b, gen_random_uuid() as id from generate_series(1, ${buildings}::int) b`)
    await run(sql`create temp table seed_m on commit drop as
      select i, ((i - 1) / ${perBuilding}::int) + 1 as b, ((i - 1) / 100) + 1 as d,
        gen_random_uuid() as meter_id, gen_random_uuid() as point_id, gen_random_uuid() as unit_id,
        (1000 + i % 5000)::numeric as base, (1 + i % 7) as rate
      from generate_series(1, ${n}::int) i`)
    await run(sql`create temp table seed_d on commit drop as
      select d, min(b) as b, gen_random_uuid() as id from seed_m group by d`)
    await run(sql`insert into buildings (id, estate_id, code, name, floors_above, floors_below)
      select id, ${estateId}::uuid, 'B' || lpad(b::text, 3, '0'), b || '号楼', 30, 2 from seed_b`)
    const gatewayId = (
      await trx
        .insertInto('gateways')
        .values({ estateId, code: `gw-${suffix}`, name: `gw-${suffix}`, secretHash: 'x', enabled: true })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
    await run(sql`insert into devices (id, estate_id, gateway_id, code, name, protocol, connection, building_id)
      select d.id, ${estateId}::uuid, ${gatewayId}::uuid, 'meters-' || d.d, 'meters ' || d.d, 'modbus-tcp',
        '{"host": "127.0.0.1", "port": 502, "unitId": 1}'::jsonb, b.id
      from seed_d d join seed_b b using (b)`)
    await run(sql`insert into points (id, estate_id, device_id, code, name, address, data_type, scale, kind)
      select m.point_id, ${estateId}::uuid, d.id, 'energy-' || m.i, 'energy ' || m.i, '{"register": 0}'::jsonb,
        'uint32', 0.01, 'counter'
      from seed_m m join seed_d d using (d)`)
    await run(sql`insert into units (id, estate_id, building_id, code, floor, area_m2, use, status)
      select m.unit_id, ${estateId}::uuid, b.id, 'U' || lpad(m.i::text, 7, '0'), 1 + (m.i % 30), 90, 'residence',
        'occupied'
      from seed_m m join seed_b b using (b)`)
    // The master: its own point on the first device, one 0.01 per quarter hour short of its subs.
    const masterRate = await run(sql`select coalesce(sum(rate), 0)::int - 1 as rate from seed_m`)
    const rate = (masterRate.rows[0] as { rate: number }).rate
    const masterPoint = (
      await run(sql`insert into points (estate_id, device_id, code, name, address, data_type, scale, kind)
        select ${estateId}::uuid, id, 'energy-main', 'energy main', '{"register": 0}'::jsonb, 'uint32', 0.01,
          'counter' from seed_d where d = 1 returning id`)
    ).rows[0] as { id: string }
    const masterId = (
      await trx
        .insertInto('meters')
        .values({ estateId, code: 'E-MAIN', kind: 'electricity', pointId: masterPoint.id, billing: false })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
    await run(sql`insert into meters (id, estate_id, code, kind, unit_id, building_id, point_id, parent_meter_id)
      select m.meter_id, ${estateId}::uuid, 'E-' || lpad(m.i::text, 7, '0'), 'electricity', m.unit_id, b.id,
        m.point_id, ${masterId}::uuid
      from seed_m m join seed_b b using (b)`)

    // Readings around the cut-off (quarter hours -4…4; even meters also at 0).
    const cutoff = iso(bounds.cutoff)
    await run(sql`insert into readings (point_id, ts, counter, value, quality)
      select point_id, ${cutoff}::timestamptz + k * interval '15 minutes', true,
        base + rate * 0.01 * (${quarters}::int + k), 'good'
      from seed_m cross join generate_series(-4, 4) k
      where k <> 0 or i % 2 = 0
      union all
      select ${masterPoint.id}::uuid, ${cutoff}::timestamptz + k * interval '15 minutes', true,
        1000000 + ${rate}::numeric * 0.01 * (${quarters}::int + k), 'good'
      from generate_series(-4, 4) k`)

    // History: the periods before this one, approved, each ending where the next begins.
    const periods = options.history === 'three' ? [1, 2, 3] : [1]
    let endQuarters = 0 // quarter hours from this period's start back to the record's cut-off
    for (const back of periods) {
      const period = shiftPeriod(SCALE_PERIOD, -back)
      const b = periodBounds(period, TIME_ZONE, null)
      const q = (b.cutoff - b.start) / QUARTER_MS
      const which = options.history === 'half' ? sql`where i % 2 = 0` : sql``
      await run(sql`insert into meter_reads (estate_id, meter_id, period, period_start, cutoff_at,
          previous_reading, previous_at, previous_source, current_reading, current_at, method, multiplier,
          consumption, status, approved_at)
        select ${estateId}::uuid, meter_id, ${period}, ${iso(b.start)}::timestamptz, ${iso(b.cutoff)}::timestamptz,
          base - rate * 0.01 * ${endQuarters + q}::int, ${iso(b.start)}::timestamptz, 'read',
          base - rate * 0.01 * ${endQuarters}::int, ${iso(b.cutoff)}::timestamptz, 'exact', 1,
          rate * 0.01 * ${q}::int, 'approved', now()
        from seed_m ${which}`)
      endQuarters += q
    }
    if (options.history === 'half') {
      // Odd meters: no record, readings around the period's start instead (exact at it).
      await run(sql`insert into readings (point_id, ts, counter, value, quality)
        select point_id, ${iso(bounds.start)}::timestamptz + k * interval '15 minutes', true,
          base + rate * 0.01 * k, 'good'
        from seed_m cross join generate_series(-2, 2) k where i % 2 = 1`)
    }
    await run(sql`insert into readings (point_id, ts, counter, value, quality)
      select ${masterPoint.id}::uuid, ${iso(bounds.start)}::timestamptz + k * interval '15 minutes', true,
        1000000 + ${rate}::numeric * 0.01 * k, 'good'
      from generate_series(-2, 2) k`)
    return { estateId, masterId, quarters }
  })
  await sql`analyze`.execute(db)
  return seeded
}
