import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkBatch, WireReading } from '../gateway/contract/index.ts'
import { commitBatch } from '../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

const at = (iso: string) => Date.parse(iso)
/** 2025-03-10, UTC hours; local midnight in Asia/Shanghai is 16:00 UTC. */
const mar10 = (hhmm: string) => at(`2025-03-10T${hhmm}:00Z`)
/** commitBatch refuses readings older than 400 days: commit the fixed-date ones "the next day". */
const FIXED_NOW = at('2025-03-12T00:00:00Z')

describe.each(storeBackends())('time series and presence API on $name', (backend) => {
  let hub: TestHub
  let token: string
  let viewerOfOther: string
  let site: Site
  let other: Site
  let seq = 0
  const get = (url: string, as = token) => hub.call(as, { method: 'GET', url })
  const point = (name: string) => site.pointIds.get(name)!

  async function store(
    on: Site,
    readings: WireReading[],
    options: { historical?: boolean; now?: number } = {},
  ): Promise<void> {
    const db = hub.store.db
    const gateway = (await new PointDirectory(db).gateway(on.gatewayCode))!
    const partitions = new ReadingPartitions(db)
    for (let i = 0; i < readings.length; i += 5_000) {
      seq += 1
      const batch: UplinkBatch = {
        v: 1,
        gateway: on.gatewayCode,
        session: 'test-session',
        seq,
        oldest: seq,
        sentAt: options.now ?? Date.now(),
        historical: options.historical ?? false,
        readings: readings.slice(i, i + 5_000),
        events: [],
      }
      const result = await commitBatch(db, partitions, gateway, batch, {
        ...(options.now === undefined ? {} : { now: options.now }),
      })
      expect(result.unmatched).toBe(0)
    }
  }

  beforeAll(async () => {
    hub = await openTestHub(backend)
    token = await hub.userWithGrants('ts-root', [{ role: 'admin', nodeId: null }])
    site = await seedSite(hub.store.db, {
      code: 'TS',
      points: [
        { device: 'm1', point: 'energy', kind: 'counter' },
        { device: 'm1', point: 'power', kind: 'gauge' },
        { device: 'm1', point: 'freq', kind: 'gauge' },
        { device: 'm3', point: 'water', kind: 'counter' },
        { device: 'door', point: 'state', kind: 'state' },
      ],
    })
    other = await seedSite(hub.store.db, {
      code: 'PR',
      points: [
        { device: 'live', point: 'power', kind: 'gauge' },
        { device: 'meter', point: 'energy', kind: 'counter' },
        { device: 'stale', point: 'energy', kind: 'counter' },
        { device: 'flaky', point: 'temp', kind: 'gauge' },
        { device: 'flaky', point: 'hum', kind: 'gauge' },
        { device: 'silent', point: 'power', kind: 'gauge' },
      ],
    })
    viewerOfOther = await hub.userWithGrants('ts-viewer', [{ role: 'viewer', nodeId: other.estateId }])

    const e = (t: number, v: number, q: WireReading['q'] = 'good'): WireReading => ({
      p: 'm1/energy',
      t,
      v,
      q,
    })
    await store(
      site,
      [
        e(mar10('14:00'), 100),
        e(mar10('14:30'), 102.5),
        e(mar10('15:00'), 104),
        e(mar10('15:45'), 107.25),
        e(mar10('16:00'), 108),
        e(mar10('16:15'), 110.5),
        e(mar10('17:30'), 115),
        { ...e(mar10('17:45'), 999, 'bad'), r: 'CRC error' },
        e(mar10('18:00'), 116, 'uncertain'),
        // A gauge: three readings in one quarter hour, then only a bad one in the next.
        { p: 'm1/power', t: mar10('14:00'), v: 1, q: 'good' },
        { p: 'm1/power', t: mar10('14:05'), v: 1, q: 'good' },
        { p: 'm1/power', t: mar10('14:10'), v: '2.000', q: 'good' },
        { p: 'm1/power', t: mar10('14:20'), v: 50, q: 'bad', r: 'out of range' },
        // A meter replaced at 11:00: the counter starts again from 2.
        { p: 'm3/water', t: mar10('10:00'), v: 50, q: 'good' },
        { p: 'm3/water', t: mar10('10:20'), v: 55, q: 'good' },
        { p: 'm3/water', t: mar10('11:10'), v: 2, q: 'good' },
        { p: 'm3/water', t: mar10('11:40'), v: 4, q: 'good' },
        { p: 'door/state', t: mar10('12:00'), v: 'open', q: 'good' },
      ],
      { now: FIXED_NOW },
    )
    // Replayed late from a gateway's outbox, after a gap.
    await store(site, [e(mar10('20:30'), 117.125)], { historical: true, now: FIXED_NOW })
  })
  afterAll(() => hub?.close())

  describe('latest value', () => {
    it("answers a point's latest value, exact, with its last good instant", async () => {
      const energy = await get(`/api/v1/points/${point('m1/energy')}/latest`)
      expect(energy.status).toBe(200)
      expect(energy.body).toMatchObject({
        pointId: point('m1/energy'),
        ts: '2025-03-10T20:30:00.000Z',
        value: '117.125',
        text: null,
        quality: 'good',
        reason: null,
        lastGoodAt: '2025-03-10T20:30:00.000Z',
      })
      expect(typeof energy.body.receivedAt).toBe('string')

      const power = await get(`/api/v1/points/${point('m1/power')}/latest`)
      expect(power.body).toMatchObject({
        ts: '2025-03-10T14:20:00.000Z',
        value: '50',
        quality: 'bad',
        reason: 'out of range',
        lastGoodAt: '2025-03-10T14:10:00.000Z',
      })
      const door = await get(`/api/v1/points/${point('door/state')}/latest`)
      expect(door.body).toMatchObject({ value: null, text: 'open' })
    })

    it('answers 404 for a point that never reported, and for one the caller may not see', async () => {
      const silent = await get(`/api/v1/points/${other.pointIds.get('silent/power')}/latest`)
      expect(silent.status).toBe(404)
      const unseen = await get(`/api/v1/points/${point('m1/energy')}/latest`, viewerOfOther)
      expect(unseen.status).toBe(404)
      expect(unseen.body).toMatchObject({ error: 'EH_ERR_NOT_FOUND', details: [{ field: 'params.id' }] })
      const unknown = await get('/api/v1/points/00000000-0000-4000-8000-000000000000/latest')
      expect(unknown.status).toBe(404)
    })

    it('lists the latest values of an estate, filtered by device or building', async () => {
      const all = await get(`/api/v1/latest-values?estateId=${site.estateId}`)
      expect(all.status).toBe(200)
      expect(all.body.items.map((i: any) => `${i.deviceCode}/${i.pointCode}`)).toEqual([
        'door/state',
        'm1/energy',
        'm1/freq',
        'm1/power',
        'm3/water',
      ])
      expect(all.body.items.find((i: any) => i.pointCode === 'energy')).toEqual({
        pointId: point('m1/energy'),
        deviceId: site.deviceIds.get('m1'),
        deviceCode: 'm1',
        pointCode: 'energy',
        kind: 'counter',
        unit: null,
        ts: '2025-03-10T20:30:00.000Z',
        value: '117.125',
        text: null,
        quality: 'good',
        lastGoodAt: '2025-03-10T20:30:00.000Z',
      })
      const m3 = await get(
        `/api/v1/latest-values?estateId=${site.estateId}&deviceId=${site.deviceIds.get('m3')}`,
      )
      expect(m3.body.items).toHaveLength(1)
      expect(m3.body.items[0]).toMatchObject({ pointCode: 'water', value: '4' })
      const building = await get(
        `/api/v1/latest-values?estateId=${site.estateId}&buildingId=${site.buildingId}`,
      )
      expect(building.body.items).toHaveLength(5)

      const foreignDevice = await get(
        `/api/v1/latest-values?estateId=${site.estateId}&deviceId=${other.deviceIds.get('live')}`,
      )
      expect(foreignDevice.status).toBe(400)
      expect(foreignDevice.body.details[0].field).toBe('query.deviceId')
      const unseen = await get(`/api/v1/latest-values?estateId=${site.estateId}`, viewerOfOther)
      expect(unseen.status).toBe(404)
      expect(unseen.body.details[0].field).toBe('query.estateId')
      const missing = await get('/api/v1/latest-values')
      expect(missing.status).toBe(400)
      expect(missing.body.details[0].field).toBe('query.estateId')
    })
  })

  describe('series', () => {
    const series = (name: string, query: string, as = token) =>
      get(`/api/v1/points/${point(name)}/series?${query}`, as)

    it('lists raw readings of every quality in [from, to)', async () => {
      const power = await series('m1/power', 'from=2025-03-10T14:00:00Z&to=2025-03-10T14:20:00Z')
      expect(power.status).toBe(200)
      expect(power.body).toEqual({
        bucket: 'raw',
        items: [
          { ts: '2025-03-10T14:00:00.000Z', value: '1', text: null, quality: 'good', historical: false },
          { ts: '2025-03-10T14:05:00.000Z', value: '1', text: null, quality: 'good', historical: false },
          { ts: '2025-03-10T14:10:00.000Z', value: '2.000', text: null, quality: 'good', historical: false },
        ],
      })
      const withBad = await series('m1/power', 'bucket=raw&from=2025-03-10T14:00:00Z&to=2025-03-10T15:00:00Z')
      expect(withBad.body.items.at(-1)).toEqual({
        ts: '2025-03-10T14:20:00.000Z',
        value: '50',
        text: null,
        quality: 'bad',
        historical: false,
      })
      const late = await series('m1/energy', 'from=2025-03-10T18:00:00Z&to=2025-03-11T00:00:00Z')
      expect(late.body.items).toEqual([
        { ts: '2025-03-10T18:00:00.000Z', value: '116', text: null, quality: 'uncertain', historical: false },
        { ts: '2025-03-10T20:30:00.000Z', value: '117.125', text: null, quality: 'good', historical: true },
      ])
      const text = await series('door/state', 'from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z')
      expect(text.body.items).toEqual([
        { ts: '2025-03-10T12:00:00.000Z', value: null, text: 'open', quality: 'good', historical: false },
      ])
    })

    it('aggregates hourly, excluding bad readings, with counter consumption per bucket', async () => {
      const hourly = await series('m1/energy', 'bucket=1h&from=2025-03-10T14:00:00Z&to=2025-03-10T21:00:00Z')
      expect(hourly.status).toBe(200)
      expect(hourly.body.bucket).toBe('1h')
      const empty = { first: null, last: null, min: null, max: null, avg: null, count: 0, consumption: null }
      expect(hourly.body.items).toEqual([
        {
          start: '2025-03-10T14:00:00.000Z',
          first: '100',
          last: '102.5',
          min: '100',
          max: '102.5',
          avg: '101.25',
          count: 2,
          consumption: '2.5',
        },
        {
          start: '2025-03-10T15:00:00.000Z',
          first: '104',
          last: '107.25',
          min: '104',
          max: '107.25',
          avg: '105.625',
          count: 2,
          consumption: '4.75',
        },
        {
          start: '2025-03-10T16:00:00.000Z',
          first: '108',
          last: '110.5',
          min: '108',
          max: '110.5',
          avg: '109.25',
          count: 2,
          consumption: '3.25',
        },
        // The bad 999 at 17:45 is left out.
        {
          start: '2025-03-10T17:00:00.000Z',
          first: '115',
          last: '115',
          min: '115',
          max: '115',
          avg: '115',
          count: 1,
          consumption: '4.5',
        },
        {
          start: '2025-03-10T18:00:00.000Z',
          first: '116',
          last: '116',
          min: '116',
          max: '116',
          avg: '116',
          count: 1,
          consumption: '1',
        },
        { start: '2025-03-10T19:00:00.000Z', ...empty },
        // The advance over the empty hour is booked to the next hour with a reading.
        {
          start: '2025-03-10T20:00:00.000Z',
          first: '117.125',
          last: '117.125',
          min: '117.125',
          max: '117.125',
          avg: '117.125',
          count: 1,
          consumption: '1.125',
        },
      ])
    })

    it('aggregates per local day: Asia/Shanghai days start at 16:00 UTC', async () => {
      const expected = [
        {
          start: '2025-03-09T16:00:00.000Z',
          first: '100',
          last: '107.25',
          min: '100',
          max: '107.25',
          avg: '103.4375',
          count: 4,
          consumption: '7.25',
        },
        {
          start: '2025-03-10T16:00:00.000Z',
          first: '108',
          last: '117.125',
          min: '108',
          max: '117.125',
          avg: '113.325',
          count: 5,
          consumption: '9.875',
        },
      ]
      const range = 'from=2025-03-09T16:00:00Z&to=2025-03-11T16:00:00Z'
      const shanghai = await series('m1/energy', `bucket=1d&tz=Asia/Shanghai&${range}`)
      expect(shanghai.status).toBe(200)
      expect(shanghai.body).toEqual({ bucket: '1d', tz: 'Asia/Shanghai', items: expected })
      // Default: the estate's own time zone.
      const byEstate = await series('m1/energy', `bucket=1d&${range}`)
      expect(byEstate.body).toEqual(shanghai.body)

      // The same readings in UTC days: all on 2025-03-10.
      const utc = await series(
        'm1/energy',
        'bucket=1d&tz=UTC&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z',
      )
      expect(utc.body.tz).toBe('UTC')
      expect(utc.body.items).toEqual([
        {
          start: '2025-03-10T00:00:00.000Z',
          first: '100',
          last: '117.125',
          min: '100',
          max: '117.125',
          avg: '108.930556',
          count: 9,
          consumption: '17.125',
        },
      ])
    })

    it('aggregates 15-minute buckets of a gauge, avg rounded to 6 places and no consumption', async () => {
      const quarter = await series('m1/power', 'bucket=15m&from=2025-03-10T14:00:00Z&to=2025-03-10T14:30:00Z')
      expect(quarter.status).toBe(200)
      expect(quarter.body.items).toEqual([
        {
          start: '2025-03-10T14:00:00.000Z',
          first: '1',
          last: '2.000',
          min: '1',
          max: '2.000',
          avg: '1.333333',
          count: 3,
        },
        // Only the bad reading: an empty bucket.
        {
          start: '2025-03-10T14:15:00.000Z',
          first: null,
          last: null,
          min: null,
          max: null,
          avg: null,
          count: 0,
        },
      ])
    })

    it('reports a counter going backwards as a reset, not a negative consumption', async () => {
      const water = await series('m3/water', 'bucket=1h&from=2025-03-10T10:00:00Z&to=2025-03-10T12:00:00Z')
      expect(water.body.items).toEqual([
        {
          start: '2025-03-10T10:00:00.000Z',
          first: '50',
          last: '55',
          min: '50',
          max: '55',
          avg: '52.5',
          count: 2,
          consumption: '5',
        },
        {
          start: '2025-03-10T11:00:00.000Z',
          first: '2',
          last: '4',
          min: '2',
          max: '4',
          avg: '3',
          count: 2,
          consumption: null,
          note: 'reset',
        },
      ])
    })

    it('refuses a raw listing of more than 10,000 readings, but serves it bucketed', async () => {
      const start = at('2025-03-01T00:00:00Z')
      await store(
        site,
        Array.from({ length: 10_001 }, (_, i) => ({
          p: 'm1/freq',
          t: start + i * 1000,
          v: 50,
          q: 'good' as const,
        })),
        { now: FIXED_NOW },
      )
      const range = 'from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z'
      const raw = await series('m1/freq', range)
      expect(raw.status).toBe(400)
      expect(raw.body.error).toBe('EH_ERR_VALIDATION')
      expect(raw.body.details[0].field).toBe('query.bucket')
      expect(raw.body.message).toMatch(/bucket/)
      const exactly = await series('m1/freq', 'from=2025-03-01T00:00:00Z&to=2025-03-01T02:46:40Z')
      expect(exactly.status).toBe(200)
      expect(exactly.body.items).toHaveLength(10_000)
      const hourly = await series('m1/freq', `bucket=1h&${range}`)
      expect(hourly.status).toBe(200)
      expect(hourly.body.items).toHaveLength(24)
      expect(hourly.body.items.slice(0, 4).map((b: any) => b.count)).toEqual([3600, 3600, 2801, 0])
      expect(hourly.body.items[2]).toMatchObject({ avg: '50', min: '50', max: '50' })
    })

    it('refuses bad ranges, buckets and zones, naming the field', async () => {
      const id = point('m1/energy')
      const bad = async (query: string, field: string) => {
        const response = await get(`/api/v1/points/${id}/series?${query}`)
        expect(response.status, query).toBe(400)
        expect(response.body.error).toBe('EH_ERR_VALIDATION')
        expect(
          response.body.details.map((d: any) => d.field),
          `${query} ${JSON.stringify(response.body)}`,
        ).toContain(field)
      }
      await bad('from=2025-03-11T00:00:00Z&to=2025-03-10T00:00:00Z', 'query.from')
      await bad('from=2025-03-10T00:00:00Z&to=2025-03-10T00:00:00Z', 'query.from')
      await bad('from=yesterday&to=2025-03-10T00:00:00Z', 'query.from')
      await bad('from=2025-03-10T00:00:00Z&to=2025-03-11', 'query.to')
      await bad('bucket=week&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z', 'query.bucket')
      await bad('bucket=1d&tz=Mars/Olympus&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z', 'query.tz')
      await bad('bucket=1d&tz=%2B08:00&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z', 'query.tz')
      await bad('bucket=1d&from=2024-01-01T00:00:00Z&to=2025-03-01T00:00:00Z', 'query.to')
      await bad('bucket=1h&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z&colour=red', 'query.colour')
    })

    it('answers 404 for a point of an estate the caller may not see', async () => {
      const unseen = await series(
        'm1/energy',
        'bucket=1h&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z',
        viewerOfOther,
      )
      expect(unseen.status).toBe(404)
      expect(unseen.body).toMatchObject({ error: 'EH_ERR_NOT_FOUND', details: [{ field: 'params.id' }] })
      // Without from/to: the last 24 hours.
      const recent = await get(`/api/v1/points/${other.pointIds.get('live/power')}/series`, viewerOfOther)
      expect(recent.status).toBe(200)
      expect(recent.body.bucket).toBe('raw')
    })
  })

  describe('presence', () => {
    const presence = (query = '', as = token) => get(`/api/v1/estates/${other.estateId}/presence${query}`, as)
    const device = (body: any, code: string) => body.devices.find((d: any) => d.code === code)

    beforeAll(async () => {
      const now = Date.now()
      await store(other, [
        { p: 'live/power', t: now - 30_000, v: 3.5, q: 'good' },
        { p: 'meter/energy', t: now - 20 * 60_000, v: 10, q: 'good' },
        { p: 'stale/energy', t: now - 2 * 3_600_000, v: 10, q: 'good' },
        { p: 'flaky/temp', t: now - 20_000, v: 21.5, q: 'good' },
        { p: 'flaky/hum', t: now - 5_000, v: null, q: 'bad', r: 'timeout' },
      ])
      await hub.store.db
        .updateTable('devices')
        .set({ pollIntervalMs: 5_000 })
        .where('id', '=', other.deviceIds.get('flaky')!)
        .execute()
    })

    it('tells online from stale devices by their poll interval', async () => {
      const response = await presence()
      expect(response.status).toBe(200)
      const { body } = response
      expect(body.offlineAfterIntervals).toBe(3)
      expect(body.devices.map((d: any) => d.code)).toEqual(['flaky', 'live', 'meter', 'silent', 'stale'])
      expect(device(body, 'live')).toMatchObject({
        id: other.deviceIds.get('live'),
        name: 'live',
        gatewayId: other.gatewayId,
        online: true,
        intervalMs: 60_000,
        pointsBad: 0,
      })
      expect(typeof device(body, 'live').lastSeenAt).toBe('string')
      // A counter-only device is read every 15 minutes: 20 minutes of silence is fine.
      expect(device(body, 'meter')).toMatchObject({ online: true, intervalMs: 900_000, pointsBad: 0 })
      expect(device(body, 'stale')).toMatchObject({ online: false, intervalMs: 900_000 })
      // Polled every 5 s; the last good reading is 20 s old, and one point is bad.
      expect(device(body, 'flaky')).toMatchObject({ online: false, intervalMs: 5_000, pointsBad: 1 })
      expect(Date.parse(device(body, 'flaky').lastSeenAt)).toBeLessThan(Date.now() - 15_000)
      expect(device(body, 'silent')).toMatchObject({ lastSeenAt: null, online: false, pointsBad: 0 })
    })

    it('takes the number of intervals from the query, else the estate settings', async () => {
      const lenient = await presence('?offlineAfterIntervals=10')
      expect(lenient.body.offlineAfterIntervals).toBe(10)
      expect(device(lenient.body, 'stale').online).toBe(true)
      expect(device(lenient.body, 'flaky').online).toBe(true)

      await hub.store.db
        .insertInto('meteringSettings')
        .values({ estateId: other.estateId, offlineAfterIntervals: 10 })
        .execute()
      const bySettings = await presence()
      expect(bySettings.body.offlineAfterIntervals).toBe(10)
      expect(device(bySettings.body, 'stale').online).toBe(true)
      const strict = await presence('?offlineAfterIntervals=3')
      expect(device(strict.body, 'stale').online).toBe(false)

      const zero = await presence('?offlineAfterIntervals=0')
      expect(zero.status).toBe(400)
      expect(zero.body.details[0].field).toBe('query.offlineAfterIntervals')
    })

    it("reports a gateway's status from its link", async () => {
      const before = await presence()
      expect(before.body.gateways).toEqual([
        {
          id: other.gatewayId,
          code: other.gatewayCode,
          name: other.gatewayCode,
          status: 'unknown',
          statusAt: null,
          lastBatchAt: expect.any(String),
        },
      ])
      const statusAt = new Date('2025-03-10T08:00:00Z')
      await hub.store.db
        .updateTable('gatewayLinks')
        .set({ status: 'offline', statusAt })
        .where('gatewayId', '=', other.gatewayId)
        .execute()
      const after = await presence()
      expect(after.body.gateways[0]).toMatchObject({
        status: 'offline',
        statusAt: '2025-03-10T08:00:00.000Z',
      })
      // A gateway the hub never heard from has no link row at all.
      await hub.store.db
        .insertInto('gateways')
        .values({ estateId: site.estateId, code: 'zz-unheard', name: 'unheard', secretHash: 'x' })
        .execute()
      const unheard = await get(`/api/v1/estates/${site.estateId}/presence`)
      expect(unheard.body.gateways.map((g: any) => [g.status, g.lastBatchAt === null])).toEqual([
        ['unknown', false],
        ['unknown', true],
      ])
    })

    it('answers 404 for an estate the caller may not see', async () => {
      const own = await presence('', viewerOfOther)
      expect(own.status).toBe(200)
      const unseen = await get(`/api/v1/estates/${site.estateId}/presence`, viewerOfOther)
      expect(unseen.status).toBe(404)
      expect(unseen.body.details[0].field).toBe('params.estateId')
    })
  })
})
