import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitBatch } from '../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { MeterReadScheduler } from '../hub/metering/meter-read-scheduler.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

// October 2026's cut-off in Shanghai: 2026-10-31 24:00 local = 16:00 UTC.
const CUTOFF = Date.parse('2026-10-31T16:00:00Z')
const MINUTE = 60_000

describe.each(storeBackends())('meter-read scheduler on $name', (backend) => {
  let store: Store
  let site: Site
  let meterId: string

  beforeAll(async () => {
    store = await backend.open()
    site = await seedSite(store.db, {
      code: 'SCH',
      points: [{ device: 'm1', point: 'energy', kind: 'counter' }],
    })
    meterId = (
      await store.db
        .insertInto('meters')
        .values({
          estateId: site.estateId,
          code: 'E-1',
          kind: 'electricity',
          pointId: site.pointIds.get('m1/energy')!,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
  })
  afterAll(() => store?.close())

  async function store15MinuteReadings(from: number, to: number, start: number) {
    const gateway = (await new PointDirectory(store.db).gateway(site.gatewayCode))!
    const readings = []
    for (let t = from, v = start; t <= to; t += 15 * MINUTE, v += 0.25)
      readings.push({ p: 'm1/energy', t, v, q: 'good' as const })
    const seq = from
    await commitBatch(
      store.db,
      new ReadingPartitions(store.db),
      gateway,
      {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq,
        oldest: seq,
        sentAt: to,
        historical: false,
        readings,
        events: [],
      },
      { now: to },
    )
  }

  it('waits for the first poll after the cut-off, runs once per phase, and again when the window has passed', async () => {
    const log = captureLog()
    const scheduler = new MeterReadScheduler(store.db, log)
    // Readings every 15 minutes around the cut-off, 1 kWh an hour.
    await store15MinuteReadings(CUTOFF - 2 * 3_600_000, CUTOFF + 3_600_000, 100)

    expect(await scheduler.tick(CUTOFF + 10 * MINUTE)).toEqual([]) // too early
    const first = await scheduler.tick(CUTOFF + 31 * MINUTE)
    expect(first).toHaveLength(1)
    expect(first[0]).toMatchObject({ period: '2026-10', created: 1 })
    expect(await scheduler.tick(CUTOFF + 40 * MINUTE)).toEqual([]) // same phase: not again

    const read = await store.db
      .selectFrom('meterReads')
      .selectAll()
      .where('meterId', '=', meterId)
      .executeTakeFirstOrThrow()
    // 100 at two hours before, +0.25 per quarter hour: 102 at the cut-off, read exactly.
    expect(Number(read.currentReading)).toBe(102)
    expect(read.method).toBe('exact')

    const final = await scheduler.tick(CUTOFF + 25 * 3_600_000)
    expect(final).toHaveLength(1)
    expect(final[0]).toMatchObject({ created: 0, unchanged: 1 })
    expect(await scheduler.tick(CUTOFF + 8 * 86_400_000)).toEqual([]) // past the horizon
    expect(log.lines.some((l) => /meter reads for 2026-10/.test(l.message))).toBe(true)
  })
})
