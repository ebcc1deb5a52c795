import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Value } from 'typebox/value'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ModbusTcpSim, startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'
import type { SimulatedMeter } from '../drivers/sim/simulated-meter.ts'
import { type GatewayConfig, GatewayConfigSchema } from '../gateway/config/gateway-config.ts'
import { type RunningGateway, startGateway } from '../gateway/runtime/gateway-process.ts'
import { Decimal } from '../hub/kernel/decimal.ts'
import { approveClean } from '../hub/metering/meter-read-actions.ts'
import { runMeterReads } from '../hub/metering/meter-read-run.ts'
import type { Store } from '../hub/store/open-store.ts'
import { type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * Simulators → gateway → MQTT → hub → meter reads, on real sockets. The simulated meters run
 * on a clock the test moves (one simulated hour per step), the gateway polls when told, and
 * the period is a few seconds of real time. At the period's start and its cut-off the test
 * holds the clock across two polls, so "the value the meter held at the cut-off" is exact,
 * and the reads must equal it to the last digit.
 */
const ROLLOVER_KWH = 2 ** 32 / 100
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface SimMeter {
  readonly code: string
  readonly sim: ModbusTcpSim
  readonly meter: SimulatedMeter
}

for (const backend of storeBackends()) {
  describe(`automatic meter reads end to end (${backend.name})`, () => {
    let store: Store
    let site: Site
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    let gateway: RunningGateway
    let simNow = Date.parse('2026-10-01T00:00:00Z')
    const clock = () => simNow
    const sims: SimMeter[] = []
    const meterIds = new Map<string, string>()

    const poll = async () => {
      await gateway.pollNow()
      await sleep(25)
    }
    const committedAll = async () => {
      // Every batch sealed so far is committed when the outbox is empty.
      const end = Date.now() + 10_000
      while (Date.now() < end) {
        await ingest.service.idle()
        const health = await fetch(`http://127.0.0.1:${gateway.healthPort}/healthz`).then((r) => r.json())
        if ((health as { outboxBatches: number }).outboxBatches === 0) return
        await sleep(20)
      }
      throw new Error('outbox did not drain')
    }
    const register = (code: string) => sims.find((s) => s.code === code)!.meter.energyKwh()
    /**
     * Polls until the hub's latest value of each meter is the register as it is now, read after
     * this call began: on a loaded machine a poll can be skipped (the start-up poll still
     * running) or time out, and the instant taken next must lie after a current reading.
     */
    const pollUntilCurrent = async (codes: readonly string[]) => {
      const since = Date.now()
      for (let attempt = 0; attempt < 10; attempt++) {
        await poll()
        await committedAll()
        const latest = await store.db
          .selectFrom('latestValues')
          .select(['pointId', 'value', 'ts'])
          .where(
            'pointId',
            'in',
            codes.map((c) => site.pointIds.get(`${c}/energy`)!),
          )
          .execute()
        const current = codes.every((c) => {
          const row = latest.find((l) => l.pointId === site.pointIds.get(`${c}/energy`))
          return (
            row !== undefined &&
            row.ts.getTime() >= since &&
            row.value !== null &&
            Decimal.of(row.value).eq(String(register(c)))
          )
        })
        if (current) return
      }
      throw new Error(`the hub's latest values did not catch up with the meters ${codes.join(', ')}`)
    }

    beforeAll(async () => {
      store = await backend.open()
      const specs: {
        code: string
        options: Record<string, unknown>
        capacity?: string
        multiplier?: string
      }[] = [
        { code: 'E-101', options: {}, capacity: '42949672.96' },
        { code: 'E-102', options: { startKwh: ROLLOVER_KWH - 2 }, capacity: '42949672.96' },
        { code: 'E-103', options: {}, capacity: '42949672.96' },
        { code: 'E-104', options: {}, capacity: '42949672.96' },
        { code: 'E-105', options: {}, capacity: '42949672.96' },
        { code: 'E-106', options: { ctRatio: 40 }, capacity: '42949672.96', multiplier: '40' },
      ]
      site = await seedSite(store.db, {
        code: 'E2E',
        timezone: 'UTC',
        points: specs.map((s) => ({ device: s.code, point: 'energy', kind: 'counter' as const })),
      })
      for (const [i, spec] of specs.entries()) {
        const sim = await startModbusTcpSim({
          port: 0,
          meters: 1,
          firstUnitId: 1,
          meterOptions: { ...spec.options, clock },
        })
        sims.push({ code: spec.code, sim, meter: sim.meter(1) })
        const deviceId = site.deviceIds.get(spec.code)!
        // The hub's offline threshold is 3 poll intervals either side of the cut-off: 3 × 400 ms
        // is the 1.2 s window, so a meter with a reading in the window is never offline, and the
        // silent one (quiet from 3 polls and 1.8 s of sleep before the cut-off) always is.
        await store.db
          .updateTable('devices')
          .set({ connection: { host: '127.0.0.1', port: sim.port, unitId: 1 }, pollIntervalMs: 400 })
          .where('id', '=', deviceId)
          .execute()
        const unit = await store.db
          .insertInto('units')
          .values({
            estateId: site.estateId,
            buildingId: site.buildingId,
            code: `1-${101 + i}`,
            floor: 1,
            areaM2: '88',
            use: 'residence',
            status: 'occupied',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const meter = await store.db
          .insertInto('meters')
          .values({
            estateId: site.estateId,
            code: spec.code,
            kind: 'electricity',
            unitId: unit.id,
            buildingId: site.buildingId,
            pointId: site.pointIds.get(`${spec.code}/energy`)!,
            registerCapacity: spec.capacity ?? null,
            multiplier: spec.multiplier ?? '1',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        meterIds.set(spec.code, meter.id)
      }
      ingest = await startTestIngest(store.db)
      const config = Value.Default(GatewayConfigSchema, {
        gateway: { id: site.gatewayCode, secret: site.secret, hubUrl: ingest.url },
        outbox: { dir: join(mkdtempSync(join(tmpdir(), 'estatehub-e2e-')), 'outbox') },
        http: { port: 0 },
        // Polls happen when the test says (pollNow), not on the clock.
        schedule: { counterIntervalMs: 86_400_000 },
        devices: sims.map((s) => ({
          code: s.code,
          protocol: 'modbus-tcp',
          // A generous timeout, so a loaded CI machine does not turn a poll into a bad reading;
          // the meter made silent answers nothing, so it alone gets a short one.
          connection: {
            host: '127.0.0.1',
            port: s.sim.port,
            unitId: 1,
            timeoutMs: s.code === 'E-105' ? 300 : 5_000,
          },
          points: [
            {
              code: 'energy',
              table: 'holding-register',
              register: 0,
              dataType: 'uint32',
              byteOrder: 'ABCD',
              scale: '0.01',
              kind: 'counter',
            },
          ],
        })),
      }) as GatewayConfig
      gateway = await startGateway(config, () => {})
    })

    afterAll(async () => {
      await gateway?.close()
      await ingest?.close()
      for (const s of sims) await s.sim.close()
      await store?.close()
    })

    it('fills reads equal to the meters at the cut-off, across rollover and replacement; flags backwards and silent meters', async () => {
      const hour = 3_600_000
      await poll()
      simNow += hour
      await pollUntilCurrent(sims.map((m) => m.code))
      // Period start: the clock held across two polls.
      const start = Date.now()
      const atStart = new Map(sims.map((s) => [s.code, register(s.code)]))
      await sleep(25)
      await poll()

      simNow += hour
      await poll()
      // E-103 is replaced mid-period: the old register's final reading is noted, the new
      // meter starts at 5.00 kWh, and the replacement is recorded as a technician would.
      const replacedAt = Date.now()
      const oldFinal = register('E-103')
      sims.find((s) => s.code === 'E-103')!.meter.replaceWithNew(5)
      await store.db
        .insertInto('meterReplacements')
        .values({
          estateId: site.estateId,
          meterId: meterIds.get('E-103')!,
          replacedAt: new Date(replacedAt),
          oldFinalReading: String(oldFinal),
          newStartReading: '5',
          oldMultiplier: '1',
          newMultiplier: '1',
          oldRegisterCapacity: '42949672.96',
          newRegisterCapacity: '42949672.96',
        })
        .execute()
      await sleep(25)
      simNow += hour
      await poll()
      // E-104 starts running backwards; E-105 goes silent for the rest of the period.
      sims.find((s) => s.code === 'E-104')!.sim.setFault(1, { kind: 'backwards', stepKwh: 100 })
      sims.find((s) => s.code === 'E-105')!.sim.setFault(1, { kind: 'timeout' })
      for (let i = 0; i < 3; i++) {
        simNow += hour
        await poll()
        await sleep(600)
      }
      // The cut-off: clock held across two polls again.
      simNow += hour
      await pollUntilCurrent(['E-101', 'E-102', 'E-103', 'E-106'])
      const cutoff = Date.now()
      const atCutoff = new Map(sims.map((s) => [s.code, register(s.code)]))
      await sleep(25)
      await poll()
      await committedAll()
      // Every reading inside the cut-off's window (1.2 s either side) must be in before the
      // first run: on a loaded machine a poll of the backwards meter can land in it late, and
      // the re-run below would then rightly update that read.
      await sleep(Math.max(0, cutoff + 1_200 + 300 - Date.now()))
      await poll()
      await committedAll()

      const report = await runMeterReads(store.db, {
        estateId: site.estateId,
        period: '2026-10',
        bounds: { start, cutoff },
        windowMs: 1_200,
      })
      expect(report).toMatchObject({ meters: 6, created: 6, flagged: 2 })
      const reads = new Map(
        (
          await store.db.selectFrom('meterReads').selectAll().where('estateId', '=', site.estateId).execute()
        ).map((r) => [[...meterIds].find(([, id]) => id === r.meterId)![0], r]),
      )
      const dec = (v: number | string) => Decimal.of(String(v))
      const eq = (stored: string | null, expected: Decimal | number) =>
        expect(stored === null ? null : dec(stored).toString(), `${stored} vs ${expected}`).toBe(
          typeof expected === 'number' ? dec(expected).toString() : expected.toString(),
        )

      // A plain meter: to the last digit.
      const e101 = reads.get('E-101')!
      eq(e101.previousReading, atStart.get('E-101')!)
      eq(e101.currentReading, atCutoff.get('E-101')!)
      eq(e101.consumption, dec(atCutoff.get('E-101')!).minus(atStart.get('E-101')!))
      expect(e101).toMatchObject({ status: 'auto', method: 'interpolated', rollover: false, flags: [] })

      // Rolled over inside the period.
      const e102 = reads.get('E-102')!
      expect(atCutoff.get('E-102')!).toBeLessThan(atStart.get('E-102')!)
      eq(e102.currentReading, atCutoff.get('E-102')!)
      eq(e102.consumption, dec(ROLLOVER_KWH).minus(atStart.get('E-102')!).plus(atCutoff.get('E-102')!))
      expect(e102).toMatchObject({ status: 'auto', rollover: true })

      // Replaced mid-period: old meter's share plus the new meter's.
      const e103 = reads.get('E-103')!
      eq(e103.currentReading, atCutoff.get('E-103')!)
      eq(
        e103.consumption,
        dec(oldFinal)
          .minus(atStart.get('E-103')!)
          .plus(dec(atCutoff.get('E-103')!).minus(5)),
      )
      expect(e103).toMatchObject({ status: 'auto', replacements: 1 })

      // Behind 200/5 A current transformers: the register difference times 40.
      const e106 = reads.get('E-106')!
      eq(e106.consumption, dec(atCutoff.get('E-106')!).minus(atStart.get('E-106')!).times(40))

      // Backwards and silent: flagged, no consumption to bill.
      const e104 = reads.get('E-104')!
      expect(e104.status).toBe('flagged')
      expect(e104.consumption).toBeNull()
      expect(e104.flags.map((f) => f.code)).toContain('reverse')
      const e105 = reads.get('E-105')!
      expect(e105.status).toBe('flagged')
      expect(e105.currentReading).toBeNull()
      expect(e105.flags.map((f) => f.code)).toEqual(expect.arrayContaining(['stale', 'offline']))

      // Only the clean reads are approved for billing.
      const [anyUser] = await store.db
        .insertInto('users')
        .values({ username: 'clerk-e2e', displayName: 'Clerk', passwordHash: 'x' })
        .returning('id')
        .execute()
      expect(
        await approveClean(store.db, { userId: anyUser!.id }, { estateId: site.estateId, period: '2026-10' }),
      ).toBe(4)

      // A re-run changes nothing and never touches the approved ones.
      const again = await runMeterReads(store.db, {
        estateId: site.estateId,
        period: '2026-10',
        bounds: { start, cutoff },
        windowMs: 1_200,
      })
      expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 6, conflicts: [] })
      const approved = await store.db
        .selectFrom('meterReads')
        .select('meterId')
        .where('estateId', '=', site.estateId)
        .where('status', '=', 'approved')
        .execute()
      expect(approved.map((r) => r.meterId).sort()).toEqual(
        ['E-101', 'E-102', 'E-103', 'E-106'].map((c) => meterIds.get(c)!).sort(),
      )
    })
  })
}
