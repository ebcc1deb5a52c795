// The Modbus driver against simulated meters on real sockets: a Modbus TCP endpoint
// (modbus-serial's ServerTCP) and an RS-485 bus behind an RTU-over-TCP converter.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Reading } from '../drivers/driver-types.ts'
import { type ModbusDevice, ModbusDriver } from '../drivers/modbus/modbus-driver.ts'
import type { ModbusPoint } from '../drivers/modbus/modbus-types.ts'
import { planReads } from '../drivers/modbus/read-planner.ts'
import { interFrameSilenceMs } from '../drivers/modbus/rtu-timing.ts'
import { type ModbusTcpSim, startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'
import { type RtuOverTcpSim, startRtuOverTcpSim } from '../drivers/sim/rtu-over-tcp-sim.ts'
import { simulatedMeterPoints } from '../drivers/sim/simulated-meter.ts'

const wide: ModbusPoint = {
  code: 'limit',
  table: 'holding-register',
  register: 12,
  dataType: 'uint32',
  byteOrder: 'ABCD',
  kind: 'state',
}
const points: readonly ModbusPoint[] = [...simulatedMeterPoints, wide]
const value = (readings: readonly Reading[], code: string) =>
  readings.find((r) => r.point.endsWith(`/${code}`))
const byCode = (readings: readonly Reading[]) =>
  Object.fromEntries(readings.map((r) => [r.point.split('/')[1], r.value]))

let now = Date.parse('2026-01-01T00:00:00Z')
const clock = () => now

describe('Modbus TCP: ten meters behind one endpoint', () => {
  let sim: ModbusTcpSim
  let driver: ModbusDriver
  const meterDevice = (unitId: number, extra: Partial<ModbusDevice['connection']> = {}): ModbusDevice => ({
    code: `tcp-m${unitId}`,
    protocol: 'modbus-tcp',
    // A meter that answers is never waited on this long, however busy the machine: a shorter
    // timeout there would turn a late reply into a retry and an extra request counted below.
    connection: { host: '127.0.0.1', port: sim.port, unitId, timeoutMs: 2_000, retries: 2, ...extra },
    points,
  })

  beforeAll(async () => {
    sim = await startModbusTcpSim({ meters: 10, meterOptions: { clock } })
    driver = new ModbusDriver()
  })
  afterAll(async () => {
    await driver.close()
    await sim.close()
  })

  it('reads every meter with the values the meters hold, in exactly the planned requests', async () => {
    const devices = Array.from({ length: 10 }, (_, i) => meterDevice(i + 1))
    const before = sim.requests
    const started = performance.now()
    const all = await Promise.all(devices.map((d) => driver.read(d)))
    const elapsed = performance.now() - started
    for (const [i, readings] of all.entries()) {
      const meter = sim.meter(i + 1)
      expect(readings.every((r) => r.quality === 'good')).toBe(true)
      expect(byCode(readings)).toEqual({
        energy: meter.energyKwh(),
        'energy-float': Math.fround(meter.energyKwh()),
        water: meter.waterM3(),
        setpoint: 0,
        limit: 0,
        voltage: Math.fround(meter.voltage()),
        power: Math.fround(meter.powerKw()),
        relay: false,
        tamper: (i + 1) % 5 === 0,
      })
    }
    expect(byCode(all[2]!).energy).toBe(1300.75)
    const planned = devices.reduce((n, d) => n + planReads(d.connection.unitId, d.points).length, 0)
    expect(sim.requests - before).toBe(planned)
    console.info(`[measure] TCP: 10 meters, ${planned} requests in ${elapsed.toFixed(1)} ms`)
  })

  it('reports an exception reply as bad with the exception name, without retrying it', async () => {
    sim.setFault(4, { kind: 'exception', code: 2 })
    const before = sim.requests
    const readings = await driver.read(meterDevice(4))
    sim.setFault(4, null)
    expect(readings.every((r) => r.quality === 'bad' && r.value === null)).toBe(true)
    expect(value(readings, 'energy')?.reason).toBe(
      'exception 2 ILLEGAL DATA ADDRESS (unit 4 FC3 @0×14, 1 attempt)',
    )
    expect(sim.requests - before).toBe(planReads(4, points).length)
    expect(driver.deviceStatus('tcp-m4').online).toBe(true) // it answered
  })

  it('decodes garbage registers as good-but-odd integers, and a NaN float as bad', async () => {
    sim.setFault(6, { kind: 'garbage', fill: 0xffff })
    const filled = await driver.read(meterDevice(6))
    sim.setFault(6, { kind: 'garbage' })
    const random = await driver.read(meterDevice(6))
    sim.setFault(6, null)
    expect(value(filled, 'energy')).toMatchObject({ quality: 'good', value: 42_949_672.95 })
    expect(value(filled, 'water')).toMatchObject({ quality: 'good', value: 4_294_967.295 })
    expect(value(filled, 'setpoint')).toMatchObject({ quality: 'good', value: 65_535 })
    expect(value(filled, 'energy-float')).toMatchObject({
      quality: 'bad',
      value: null,
      reason: expect.stringMatching(/NaN/),
    })
    expect(value(filled, 'voltage')?.quality).toBe('bad')
    const energy = value(random, 'energy')
    expect(energy?.quality).toBe('good')
    expect(energy?.value).not.toBe(sim.meter(6).energyKwh())
  })

  it('passes counters that run backwards on as read (judging them is the hub’s job)', async () => {
    sim.setFault(8, { kind: 'backwards' })
    const first = value(await driver.read(meterDevice(8)), 'energy')?.value as number
    const second = value(await driver.read(meterDevice(8)), 'energy')?.value as number
    sim.setFault(8, null)
    expect(second).toBeCloseTo(first - 5, 2)
  })

  it('times out a silent unit and marks its points bad, costing one request’s attempts only', async () => {
    sim.setFault(7, { kind: 'timeout' })
    const before = sim.log.length
    const started = performance.now()
    const readings = await driver.read(meterDevice(7, { timeoutMs: 100, retries: 1 }))
    const elapsed = performance.now() - started
    sim.setFault(7, null)
    expect(value(readings, 'relay')?.reason).toBe('timeout (unit 7 FC1 @0×1, 2 attempts of 100 ms)')
    expect(value(readings, 'energy')?.reason).toBe('skipped: unit did not answer earlier in this cycle')
    // What the read cost is what the unit was sent: the first request twice (2 × 100 ms of
    // waiting), nothing for the points skipped after it. Counted, not timed: the sim sees the
    // last attempt's bytes a moment after the driver may have given up on it.
    const sent = () => sim.log.slice(before).map((r) => `${r.unitId} FC${r.functionCode} @${r.start}`)
    await vi.waitFor(() => expect(sent().length).toBeGreaterThanOrEqual(2), { timeout: 10_000 })
    expect(sent()).toEqual(['7 FC1 @0', '7 FC1 @0'])
    console.info(
      `[timing] TCP silent unit: read gave up after ${elapsed.toFixed(0)} ms (2 attempts of 100 ms)`,
    )
  })

  it('writes a coil (FC5), a register (FC6) and a register pair (FC16), and reads them back', async () => {
    const d = meterDevice(2)
    await driver.write(d, 'relay', true)
    await driver.write(d, 'setpoint', 1234)
    await driver.write(d, 'limit', 123_456_789)
    expect(byCode(await driver.read(d))).toMatchObject({ relay: true, setpoint: 1234, limit: 123_456_789 })
    await expect(driver.write(d, 'energy', 1)).rejects.toMatchObject({
      code: 'EH_ERR_MODBUS_EXCEPTION',
      message: expect.stringContaining('ILLEGAL DATA ADDRESS'),
    })
  })

  it('shows a counter rolling over its uint32 register', async () => {
    const rolling = await startModbusTcpSim({ meters: 1, meterOptions: { clock, nearRollover: true } })
    const d: ModbusDevice = {
      code: 'rollover',
      protocol: 'modbus-tcp',
      connection: { host: '127.0.0.1', port: rolling.port, unitId: 1 },
      points,
    }
    try {
      const before = value(await driver.read(d), 'energy')?.value as number
      now += 3_600_000 // an hour at 0.5-3 kW
      const after = value(await driver.read(d), 'energy')?.value as number
      expect(before).toBe(42_949_672.46)
      expect(after).toBeGreaterThan(0)
      expect(after).toBeLessThan(3)
    } finally {
      await rolling.close()
    }
  })
})

describe('Modbus TCP: reconnecting', () => {
  it('reconnects after the endpoint restarts', async () => {
    let sim = await startModbusTcpSim({ meters: 1 })
    const port = sim.port
    const driver = new ModbusDriver()
    const d: ModbusDevice = {
      code: 'reconnect',
      protocol: 'modbus-tcp',
      connection: { host: '127.0.0.1', port, unitId: 1, timeoutMs: 300 },
      points,
    }
    try {
      expect((await driver.read(d)).every((r) => r.quality === 'good')).toBe(true)
      await sim.close()
      const down = await driver.read(d)
      expect(down.every((r) => r.quality === 'bad')).toBe(true)
      expect(down[0]?.reason).toMatch(/^connection: /)
      sim = await startModbusTcpSim({ meters: 1, port })
      const restartedAt = performance.now()
      let readings = await driver.read(d)
      while (readings.some((r) => r.quality !== 'good') && performance.now() - restartedAt < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        readings = await driver.read(d)
      }
      expect(readings.every((r) => r.quality === 'good')).toBe(true)
      expect(driver.busFor(d).connections).toBe(2)
      expect(sim.connections).toBe(1)
      console.info(
        `[measure] TCP reconnect: good again ${(performance.now() - restartedAt).toFixed(0)} ms after restart`,
      )
    } finally {
      await driver.close()
      await sim.close()
    }
  })
})

describe('RTU over TCP: five meters on one RS-485 bus at 9600 baud', () => {
  let sim: RtuOverTcpSim
  let driver: ModbusDriver
  /** The dead meter's timeout: what it may cost the others, per attempt. */
  const TIMEOUT_MS = 150
  /**
   * The meters that answer: never waited on this long, however busy the machine. With 150 ms
   * a reply late by a stalled event loop became a retry and an extra request on the bus.
   */
  const ANSWERING_TIMEOUT_MS = 2_000
  const RETRIES = 2
  const DEAD_UNIT = 3
  const meterDevice = (unitId: number, timeoutMs = ANSWERING_TIMEOUT_MS): ModbusDevice => ({
    code: `rtu-m${unitId}`,
    protocol: 'modbus-rtu-over-tcp',
    connection: {
      host: '127.0.0.1',
      port: sim.port,
      unitId,
      baudRate: 9600,
      timeoutMs,
      retries: RETRIES,
    },
    points,
  })
  /** The five meters; `dead` (if given) with the short timeout the dead-meter test budgets. */
  const devices = (dead?: number) =>
    [1, 2, 3, 4, 5].map((u) => meterDevice(u, u === dead ? TIMEOUT_MS : ANSWERING_TIMEOUT_MS))

  /** One poll cycle: all five devices read concurrently; how long each took. */
  async function cycle(dead?: number) {
    const started = performance.now()
    const done: Record<number, number> = {}
    const readings = await Promise.all(
      devices(dead).map(async (d) => {
        const r = await driver.read(d)
        done[d.connection.unitId] = performance.now() - started
        return r
      }),
    )
    return { readings, done, total: performance.now() - started, logFrom: sim.log.length }
  }

  beforeAll(async () => {
    sim = await startRtuOverTcpSim({ meters: 5, baudRate: 9600, responseDelayMs: 5, meterOptions: { clock } })
    driver = new ModbusDriver()
  })
  afterAll(async () => {
    await driver.close()
    await sim.close()
  })

  it('never lets two requests overlap on the bus while five devices are read concurrently', async () => {
    const first = sim.log.length
    const runs = [await cycle(), await cycle()]
    for (const run of runs) expect(run.readings.flat().every((r) => r.quality === 'good')).toBe(true)
    const log = sim.log.slice(first)
    expect(log).toHaveLength(2 * 5 * planReads(1, points).length)
    expect(sim.overlaps).toBe(0)
    const silence = interFrameSilenceMs(9600)
    const gaps = log.slice(1).map((r, i) => r.start - log[i]!.end)
    // Timers have ms resolution and can fire up to ~1 ms early against performance.now().
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(silence - 1)
    // The requests of the five devices interleave: the bus is shared fairly, FIFO.
    expect(new Set(log.slice(0, 5).map((r) => r.unitId)).size).toBe(5)
    console.info(
      `[measure] RTU 9600 baud: 5 meters × ${planReads(1, points).length} requests, cycles ${runs.map((r) => r.total.toFixed(0)).join(', ')} ms; ` +
        `gaps min ${Math.min(...gaps).toFixed(2)} ms (t3.5 = ${silence.toFixed(2)} ms), overlaps ${sim.overlaps}`,
    )
  })

  it('lets a dead meter cost the others at most timeout × (retries + 1) per cycle, then skips it', async () => {
    const baseline = await cycle()
    const healthySlowest = (run: Awaited<ReturnType<typeof cycle>>) =>
      Math.max(...[1, 2, 4, 5].map((u) => run.done[u]!))
    const budget = TIMEOUT_MS * (RETRIES + 1)
    sim.setFault(DEAD_UNIT, { kind: 'timeout' })
    const failing = []
    for (let i = 0; i < 3; i++) {
      const from = sim.log.length
      const run = await cycle(DEAD_UNIT)
      failing.push(run)
      expect(
        run.readings
          .filter((_, i) => i !== 2)
          .flat()
          .every((r) => r.quality === 'good'),
      ).toBe(true)
      expect(run.readings[2]!.every((r) => r.quality === 'bad')).toBe(true)
      // What the dead meter costs the others is the bus time it takes from them: its first
      // request, tried retries + 1 times (each waiting out the timeout, unanswered), and
      // nothing more this cycle; the others' requests all go out and are answered. Counted on
      // the bus, not timed: the times are printed below.
      const bus = sim.log.slice(from)
      const dead = bus.filter((r) => r.unitId === DEAD_UNIT)
      expect(dead).toHaveLength(RETRIES + 1)
      expect(dead.every((r) => !r.answered && r.functionCode === dead[0]!.functionCode)).toBe(true)
      const healthy = bus.filter((r) => r.unitId !== DEAD_UNIT)
      expect(healthy).toHaveLength(4 * planReads(1, points).length)
      expect(healthy.every((r) => r.answered)).toBe(true)
    }
    expect(driver.deviceStatus('rtu-m3')).toMatchObject({ online: false, consecutiveFailures: 3 })

    const skippedFrom = sim.log.length
    const skipped = await cycle(DEAD_UNIT)
    expect(sim.log.slice(skippedFrom).some((r) => r.unitId === DEAD_UNIT)).toBe(false)
    expect(skipped.readings[2]![0]!.reason).toMatch(/unit offline after 3 failed cycles/)

    const probeFrom = sim.log.length
    const probe = await cycle(DEAD_UNIT)
    expect(sim.log.slice(probeFrom).filter((r) => r.unitId === DEAD_UNIT)).toHaveLength(1) // one attempt, no retries

    // Repaired, it answers: read with the answering meters' timeout, so a late reply on a busy
    // machine is not taken for the fault still being there.
    sim.setFault(DEAD_UNIT, null)
    const recovery: number[] = []
    let back = false
    for (let i = 0; i < 5 && !back; i++) {
      const run = await cycle()
      recovery.push(run.total)
      back = run.readings[2]!.every((r) => r.quality === 'good')
    }
    expect(back).toBe(true)
    expect(driver.deviceStatus('rtu-m3')).toMatchObject({ online: true, consecutiveFailures: 0 })
    console.info(
      `[timing] RTU dead meter (timeout ${TIMEOUT_MS} ms × ${RETRIES + 1} = ${budget} ms budget): baseline cycle ${baseline.total.toFixed(0)} ms ` +
        `(healthy done ${healthySlowest(baseline).toFixed(0)}); failing cycles ${failing.map((r) => `${r.total.toFixed(0)}/${healthySlowest(r).toFixed(0)}`).join(', ')} ms; ` +
        `offline-skipped cycle ${skipped.total.toFixed(0)} ms; probe cycle ${probe.total.toFixed(0)} ms; ` +
        `after repair ${recovery.map((t) => t.toFixed(0)).join(', ')} ms (back online in ${recovery.length} cycle(s))`,
    )
  })

  it('writes a coil and a register pair over RTU and reads them back', async () => {
    const d = meterDevice(5)
    await driver.write(d, 'relay', true)
    await driver.write(d, 'limit', 4_000_000_000)
    expect(byCode(await driver.read(d))).toMatchObject({ relay: true, limit: 4_000_000_000 })
    expect(sim.overlaps).toBe(0)
    expect(sim.dropped).toBe(0)
  })
})
