import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitBatch } from '../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { runMeterReads } from '../hub/metering/meter-read-run.ts'
import type { Store } from '../hub/store/open-store.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * A re-run with the same readings gives the same records, however late it runs: the clerk's
 * re-run two hours after the cut-off and the scheduler's final run a day later change nothing.
 * The `offline` flag used to be judged against the clock (the point's latest good reading
 * against now, and only within a day of the cut-off), so time passing alone added it to a
 * record or took it away. Every reading here is stored before the first run.
 */
const START = Date.parse('2026-09-30T16:00:00Z') // 2026-10's start in Shanghai
const CUTOFF = Date.parse('2026-10-31T16:00:00Z') // and its cut-off
const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Every 15 minutes (the devices' default poll interval), 0.25 kWh apart, over [from, to]. */
function quarterHours(from: number, to: number, startKwh: number) {
  const samples: { t: number; v: number }[] = []
  for (let t = from, v = startKwh; t <= to; t += 15 * MINUTE, v += 0.25) samples.push({ t, v })
  return samples
}

// Offline threshold: 3 intervals of 15 minutes, 45 minutes either side of the cut-off.
const SERIES: Record<string, { t: number; v: number }[]> = {
  // Reports across the cut-off.
  live: quarterHours(CUTOFF - 2 * HOUR, CUTOFF + HOUR, 100),
  // Silent from two hours before the cut-off on: its last reading is inside the 24 h window.
  dead: quarterHours(CUTOFF - 6 * HOUR, CUTOFF - 2 * HOUR, 200),
  // Last heard 15 minutes before the cut-off, then silent.
  late: quarterHours(CUTOFF - 2 * HOUR, CUTOFF - 15 * MINUTE, 300),
  // Silent from three hours before the cut-off, back 30 minutes after it.
  back: [
    ...quarterHours(CUTOFF - 5 * HOUR, CUTOFF - 3 * HOUR, 400),
    ...quarterHours(CUTOFF + 30 * MINUTE, CUTOFF + 2 * HOUR, 402),
  ],
}

describe.each(storeBackends())('meter-read re-runs on $name', (backend) => {
  let store: Store
  let site: Site
  const meterIds = new Map<string, string>()

  beforeAll(async () => {
    store = await backend.open()
    const codes = Object.keys(SERIES)
    site = await seedSite(store.db, {
      code: 'RERUN',
      points: codes.map((device) => ({ device, point: 'energy', kind: 'counter' as const })),
    })
    for (const code of codes) {
      const meter = await store.db
        .insertInto('meters')
        .values({
          estateId: site.estateId,
          code: `E-${code}`,
          kind: 'electricity',
          pointId: site.pointIds.get(`${code}/energy`)!,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      meterIds.set(code, meter.id)
    }
    // A reading at the period's start for each meter, so no record lacks a previous reading.
    const readings = codes.flatMap((code, i) => [
      { p: `${code}/energy`, t: START, v: 100 * (i + 1) - 50, q: 'good' as const },
      ...SERIES[code]!.map(({ t, v }) => ({ p: `${code}/energy`, t, v, q: 'good' as const })),
    ])
    const gateway = (await new PointDirectory(store.db).gateway(site.gatewayCode))!
    await commitBatch(
      store.db,
      new ReadingPartitions(store.db),
      gateway,
      {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: 1,
        oldest: 1,
        sentAt: CUTOFF + 2 * HOUR,
        historical: false,
        readings,
        events: [],
      },
      { now: CUTOFF + 2 * HOUR },
    )
  })
  afterAll(() => store?.close())

  const run = (now: number) => runMeterReads(store.db, { estateId: site.estateId, period: '2026-10', now })
  const flagsByMeter = async () => {
    const rows = await store.db
      .selectFrom('meterReads')
      .select(['meterId', 'flags', 'method', 'version'])
      .where('estateId', '=', site.estateId)
      .execute()
    return Object.fromEntries(
      [...meterIds].map(([code, id]) => {
        const row = rows.find((r) => r.meterId === id)!
        return [code, { flags: row.flags.map((f) => f.code), method: row.method, version: row.version }]
      }),
    )
  }

  it('flags offline from the readings around the cut-off, and a later re-run changes nothing', async () => {
    const first = await run(CUTOFF + 20 * MINUTE)
    expect(first).toMatchObject({ meters: 4, created: 4, flagged: 1 })
    const expected = {
      live: { flags: [], method: 'exact', version: 1 },
      dead: { flags: ['offline'], method: 'nearest', version: 1 },
      late: { flags: [], method: 'nearest', version: 1 },
      back: { flags: [], method: 'interpolated', version: 1 },
    }
    expect(await flagsByMeter()).toEqual(expected)

    // A clerk's re-run two hours on, the scheduler's final run a day on, a re-run next month.
    for (const now of [CUTOFF + 2 * HOUR, CUTOFF + 25 * HOUR, CUTOFF + 40 * 24 * HOUR]) {
      expect(await run(now), `re-run at cut-off + ${(now - CUTOFF) / MINUTE} min`).toMatchObject({
        created: 0,
        updated: 0,
        unchanged: 4,
        flagged: 1,
        conflicts: [],
      })
    }
    expect(await flagsByMeter()).toEqual(expected)
    const recomputed = await store.db
      .selectFrom('meterReadChanges')
      .select('id')
      .where('estateId', '=', site.estateId)
      .where('action', '=', 'recomputed')
      .execute()
    expect(recomputed).toEqual([])
  })
})
