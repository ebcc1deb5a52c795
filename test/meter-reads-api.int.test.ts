import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkBatch } from '../gateway/contract/index.ts'
import { commitBatch } from '../hub/ingest/batch-writer.ts'
import { PointDirectory } from '../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../hub/ingest/reading-partitions.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Meter reads through the API over five monthly periods of an estate in Asia/Shanghai, with
 * hand-worked numbers: clean reads approved in bulk, then a period with every kind of trouble
 * (master below its sub-meters, zero on an occupied unit, a spike, a silent meter), each put
 * right the way a clerk would, and the next period truing up the estimate.
 */
const cut = (period: string) => {
  // Month end 24:00 in Shanghai is 16:00 UTC on the last day.
  const [y, m] = period.split('-').map(Number) as [number, number]
  return Date.UTC(y, m, 1) - 8 * 3_600_000
}
const periods = ['2025-06', '2025-07', '2025-08', '2025-09', '2025-10', '2025-11']
// Register values at each cut-off (June's is every meter's starting point).
const history: Record<string, (number | null)[]> = {
  MASTER: [0, 200, 400, 600, 690, 890],
  S1: [0, 100, 200, 300, 400, 500],
  S2: [0, 80, 160, 240, 240, 320],
  SPIKE: [0, 100, 200, 300, 1300, 1400],
  SILENT: [0, 10, 20, 30, null, 50],
}

for (const backend of storeBackends()) {
  describe(`meter reads API (${backend.name})`, () => {
    let hub: TestHub
    let site: Site
    let clerk: string
    let viewer: string
    const meterIds = new Map<string, string>()
    const readOf = async (code: string, period: string) => {
      const list = await hub.call(clerk, {
        method: 'GET',
        url: `/api/v1/meter-reads?estateId=${site.estateId}&period=${period}&meterId=${meterIds.get(code)}`,
      })
      expect(list.status).toBe(200)
      return list.body.items[0]
    }
    const run = async (period: string) => {
      const response = await hub.call(clerk, {
        method: 'POST',
        url: '/api/v1/meter-reads/runs',
        payload: { estateId: site.estateId, period },
      })
      expect(response.status, JSON.stringify(response.body)).toBe(200)
      return response.body
    }
    const act = (id: string, action: string, payload: object, token = clerk) =>
      hub.call(token, { method: 'POST', url: `/api/v1/meter-reads/${id}/${action}`, payload })

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const db = hub.store.db
      site = await seedSite(db, {
        code: 'MR',
        points: Object.keys(history).map((code) => ({
          device: code,
          point: 'energy',
          kind: 'counter' as const,
        })),
      })
      const master = await db
        .insertInto('meters')
        .values({
          estateId: site.estateId,
          code: 'MASTER',
          kind: 'electricity',
          buildingId: site.buildingId,
          pointId: site.pointIds.get('MASTER/energy')!,
          billing: false,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      meterIds.set('MASTER', master.id)
      for (const code of ['S1', 'S2', 'SPIKE', 'SILENT']) {
        const unit = await db
          .insertInto('units')
          .values({
            estateId: site.estateId,
            buildingId: site.buildingId,
            code: `U-${code}`,
            floor: 1,
            areaM2: '90',
            use: 'residence',
            status: 'occupied',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const meter = await db
          .insertInto('meters')
          .values({
            estateId: site.estateId,
            code,
            kind: 'electricity',
            unitId: unit.id,
            buildingId: site.buildingId,
            pointId: site.pointIds.get(`${code}/energy`)!,
            parentMeterId: code.startsWith('S') && code.length === 2 ? master.id : null,
            registerCapacity: '1000000',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        meterIds.set(code, meter.id)
      }
      // The readings, through the ingest's own commit: one at each cut-off, and the silent
      // meter's last sign of life in mid-October.
      const gateway = (await new PointDirectory(db).gateway(site.gatewayCode))!
      const readings: UplinkBatch['readings'] = []
      for (const [code, values] of Object.entries(history))
        values.forEach((v, i) => {
          if (v !== null) readings.push({ p: `${code}/energy`, t: cut(periods[i]!), v, q: 'good' })
        })
      readings.push({ p: 'SILENT/energy', t: cut('2025-09') + 15 * 86_400_000, v: 35, q: 'good' })
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: 1,
        oldest: 1,
        sentAt: Date.now(),
        historical: true,
        readings,
        events: [],
      }
      await commitBatch(db, new ReadingPartitions(db), gateway, batch, {
        now: Date.parse('2025-12-15T00:00:00Z'),
      })
      clerk = await hub.userWithGrants('mr-clerk', [{ role: 'finance', nodeId: site.estateId }])
      viewer = await hub.userWithGrants('mr-viewer', [{ role: 'viewer', nodeId: site.estateId }])
    })
    afterAll(() => hub?.close())

    it('fills clean periods and approves them in bulk', async () => {
      for (const period of ['2025-07', '2025-08', '2025-09']) {
        const report = await run(period)
        expect(report).toMatchObject({
          meters: 5,
          created: 5,
          flagged: 0,
          cutoffAt: new Date(cut(period)).toISOString(),
        })
        const approved = await hub.call(clerk, {
          method: 'POST',
          url: '/api/v1/meter-reads/approve-clean',
          payload: { estateId: site.estateId, period },
        })
        expect(approved.body).toEqual({ approved: 5 })
      }
      const july = await readOf('S2', '2025-07')
      expect(july).toMatchObject({ previousSource: 'series', method: 'exact', status: 'approved', flags: [] })
      expect(Number(july.consumption)).toBe(80)
      const aug = await readOf('S2', '2025-08')
      expect(aug.previousSource).toBe('read')
    })

    it('flags the troubled period, each for its reason', async () => {
      const report = await run('2025-10')
      expect(report).toMatchObject({ created: 5, flagged: 4 })
      const codes = async (code: string) =>
        (await readOf(code, '2025-10')).flags.map((f: { code: string }) => f.code)
      expect(await codes('MASTER')).toEqual(['master_below_subs'])
      expect(await codes('S2')).toEqual(['zero_occupied'])
      expect(await codes('SPIKE')).toEqual(['spike'])
      // Silent around the cut-off: offline too, in a past period as in the current one.
      expect(await codes('SILENT')).toEqual(['stale', 'offline'])
      expect(await codes('S1')).toEqual([])
      const spike = await readOf('SPIKE', '2025-10')
      expect(spike.flags[0].message).toBe('consumption 1000 is above 3 × the trailing average 100')
    })

    it('lets a clerk override with a reason and approve, keeping who, when, why and the old value', async () => {
      const s2 = await readOf('S2', '2025-10')
      expect((await act(s2.id, 'override', { currentReading: '250.5' })).status).toBe(400)
      const overridden = await act(s2.id, 'override', {
        currentReading: '250.5',
        reason: '现场复核读数 250.5',
        version: s2.version,
      })
      expect(overridden.status, JSON.stringify(overridden.body)).toBe(200)
      expect(overridden.body).toMatchObject({ status: 'overridden', method: 'manual', consumption: '10.500' })
      // A stale version is refused: someone else changed it meanwhile.
      expect((await act(s2.id, 'approve', { version: s2.version })).status).toBe(409)
      // A viewer may not approve.
      expect((await act(s2.id, 'approve', {}, viewer)).status).toBe(403)
      const approved = await act(s2.id, 'approve', {})
      expect(approved.body).toMatchObject({ status: 'approved' })
      const detail = await hub.call(clerk, { method: 'GET', url: `/api/v1/meter-reads/${s2.id}` })
      expect(detail.body.changes.map((c: { action: string }) => c.action)).toEqual([
        'computed',
        'overridden',
        'approved',
      ])
      const change = detail.body.changes[1]
      expect(change).toMatchObject({ reason: '现场复核读数 250.5', changedByName: 'mr-clerk' })
      expect(Number(change.old.currentReading)).toBe(240)
      expect(Number(change.new.currentReading)).toBe(250.5)
      expect(detail.body.readings.length).toBeGreaterThan(0)
    })

    it('approves a flagged read only with a reason, and never one without consumption', async () => {
      const spike = await readOf('SPIKE', '2025-10')
      const refused = await act(spike.id, 'approve', {})
      expect(refused.status).toBe(400)
      expect(refused.body.details[0].field).toBe('body.reason')
      expect((await act(spike.id, 'approve', { reason: '业主确认当月装修用电' })).body.status).toBe(
        'approved',
      )
      const silent = await readOf('SILENT', '2025-10')
      expect((await act(silent.id, 'approve', { reason: 'x' })).status).toBe(409)
    })

    it('estimates a silent meter from its daily average, and the next real reading trues it up', async () => {
      const silent = await readOf('SILENT', '2025-10')
      const estimated = await act(silent.id, 'estimate', {})
      expect(estimated.status, JSON.stringify(estimated.body)).toBe(200)
      // 30 → 35 over 15 days is 1/3 a day; 16 more days from 35 gives 40.33 (the 0.01 register).
      expect(estimated.body).toMatchObject({
        status: 'estimated',
        method: 'estimated',
        currentReading: '40.330',
        consumption: '10.330',
      })
      expect((await act(silent.id, 'approve', {})).body.status).toBe('approved')

      await run('2025-11')
      const november = await readOf('SILENT', '2025-11')
      expect(november).toMatchObject({
        truesUp: true,
        previousReading: '40.330',
        currentReading: '50.000',
        consumption: '9.670',
        status: 'auto',
      })
    })

    it('re-runs without writing over approved records, reporting what differs', async () => {
      const before = await readOf('S2', '2025-10')
      const report = await run('2025-10')
      // Only the master's record changes: its check now counts S2's overridden 10.5.
      expect(report, JSON.stringify(report)).toMatchObject({ created: 0, updated: 1, unchanged: 2 })
      expect((await readOf('MASTER', '2025-10')).flags[0].message).toMatch(/sum 110\.5 of its 2 sub-meters/)
      const conflict = report.conflicts.find((c: { meterCode: string }) => c.meterCode === 'S2')
      expect(conflict.differences.currentReading).toEqual({ stored: '250.5', computed: '240' })
      expect(await readOf('S2', '2025-10')).toEqual(before)
    })

    it('reports consumption per unit and month, and the loss behind the master meter', async () => {
      const usage = await hub.call(clerk, {
        method: 'GET',
        url: `/api/v1/meter-reads/consumption?estateId=${site.estateId}&from=2025-09&to=2025-10&groupBy=unit&approvedOnly=true`,
      })
      expect(usage.status, JSON.stringify(usage.body)).toBe(200)
      const row = (period: string, unit: string) =>
        usage.body.items.find(
          (r: { period: string; groupCode: string }) => r.period === period && r.groupCode === unit,
        )
      expect(row('2025-10', 'U-S2')).toMatchObject({ consumption: '10.5', reads: 1, pending: 0 })
      expect(row('2025-10', 'U-SPIKE')).toMatchObject({ consumption: '1000' })
      expect(row('2025-10', 'U-S1')).toBeUndefined() // not approved yet
      const loss = await hub.call(clerk, {
        method: 'GET',
        url: `/api/v1/meter-reads/loss?estateId=${site.estateId}&period=2025-09`,
      })
      // September: master 200, subs 100 + 80.
      expect(loss.body.items).toEqual([
        expect.objectContaining({
          masterCode: 'MASTER',
          master: '200',
          subs: '180',
          loss: '20',
          lossPercent: '10',
          subMeters: 2,
        }),
      ])
    })

    it('flags zero use only on a unit occupied for the whole period', async () => {
      const db = hub.store.db
      const customer = await db
        .insertInto('customers')
        .values({ estateId: site.estateId, code: 'C-ZERO', kind: 'person', name: '李四' })
        .returning('id')
        .executeTakeFirstOrThrow()
      const readings: UplinkBatch['readings'] = []
      for (const [code, since] of [
        ['FULL', '2025-01-01'],
        ['MOVEIN', '2025-11-10'],
      ] as const) {
        const device = await db
          .insertInto('devices')
          .values({
            estateId: site.estateId,
            gatewayId: site.gatewayId,
            code,
            name: code,
            protocol: 'modbus-tcp',
            connection: { host: '127.0.0.1', port: 502, unitId: 1 },
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const point = await db
          .insertInto('points')
          .values({
            estateId: site.estateId,
            deviceId: device.id,
            code: 'energy',
            name: 'energy',
            address: { table: 'holding-register', register: 0 },
            dataType: 'uint32',
            scale: '0.01',
            kind: 'counter',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const unit = await db
          .insertInto('units')
          .values({
            estateId: site.estateId,
            buildingId: site.buildingId,
            code: `U-${code}`,
            floor: 2,
            areaM2: '90',
            use: 'residence',
            status: 'occupied',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        await db
          .insertInto('occupancies')
          .values({
            estateId: site.estateId,
            unitId: unit.id,
            customerId: customer.id,
            role: 'owner',
            startDate: since,
          })
          .execute()
        const meter = await db
          .insertInto('meters')
          .values({ estateId: site.estateId, code, kind: 'electricity', unitId: unit.id, pointId: point.id })
          .returning('id')
          .executeTakeFirstOrThrow()
        meterIds.set(code, meter.id)
        for (const period of ['2025-10', '2025-11'])
          readings.push({ p: `${code}/energy`, t: cut(period), v: 500, q: 'good' })
      }
      const gateway = (await new PointDirectory(db).gateway(site.gatewayCode))!
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: 2,
        oldest: 2,
        sentAt: Date.now(),
        historical: true,
        readings,
        events: [],
      }
      await commitBatch(db, new ReadingPartitions(db), gateway, batch, {
        now: Date.parse('2025-12-15T00:00:00Z'),
      })
      await run('2025-11')
      expect((await readOf('FULL', '2025-11')).flags.map((f: { code: string }) => f.code)).toEqual([
        'zero_occupied',
      ])
      // Moved in on November 10th: zero use before that is no anomaly.
      expect((await readOf('MOVEIN', '2025-11')).flags).toEqual([])
    })

    it('keeps per-estate settings: a cut-off day moves the period bounds', async () => {
      const put = await hub.call(clerk, {
        method: 'PUT',
        url: `/api/v1/estates/${site.estateId}/metering-settings`,
        payload: { cutoffDay: 25, spikeFactorElectricity: '4' },
      })
      expect(put.status, JSON.stringify(put.body)).toBe(200)
      expect(put.body).toMatchObject({ cutoffDay: 25, spikeFactorElectricity: '4', windowHours: 24 })
      expect(
        (
          await hub.call(clerk, {
            method: 'PUT',
            url: `/api/v1/estates/${site.estateId}/metering-settings`,
            payload: { spikeFactorWater: 1 },
          })
        ).status,
      ).toBe(400)
      const report = await run('2025-08')
      expect(report.cutoffAt).toBe('2025-08-25T16:00:00.000Z')
      // A period whose cut-off is still ahead cannot be run.
      const future = await hub.call(clerk, {
        method: 'POST',
        url: '/api/v1/meter-reads/runs',
        payload: { estateId: site.estateId, period: '2999-01' },
      })
      expect(future.status).toBe(400)
      expect(future.body.details[0].field).toBe('body.period')
    })
  })
}
