import { describe, expect, it } from 'vitest'
import type { BusAddress, ModbusDevice } from './modbus-device.ts'
import { ModbusDriver } from './modbus-driver.ts'
import { exceptionError } from './modbus-errors.ts'
import type { ModbusOperation } from './modbus-transport.ts'
import type { ModbusPoint } from './modbus-types.ts'
import { planReads } from './read-planner.ts'
import { addressEcho, type ScriptedAnswer, ScriptedTransport } from './scripted-transport.ts'

const points: ModbusPoint[] = [
  {
    code: 'kwh',
    table: 'holding-register',
    register: 0,
    dataType: 'uint32',
    byteOrder: 'ABCD',
    scale: '0.01',
    kind: 'counter',
  },
  { code: 'limit', table: 'holding-register', register: 10, dataType: 'uint16', kind: 'state' },
  { code: 'volts', table: 'input-register', register: 4, dataType: 'uint16', scale: '0.1', kind: 'gauge' },
  { code: 'relay', table: 'coil', register: 1, dataType: 'bool', kind: 'state' },
]
const device = (
  code: string,
  unitId: number,
  extra: Partial<ModbusDevice['connection']> = {},
): ModbusDevice => ({
  code,
  protocol: 'modbus-rtu-over-tcp',
  connection: { host: 'conv', port: 4001, baudRate: 38_400, unitId, timeoutMs: 20, retries: 2, ...extra },
  points,
})

function driverWith(script: (unit: number, op: ModbusOperation) => ScriptedAnswer) {
  const transports = new Map<string, ScriptedTransport>()
  const driver = new ModbusDriver({
    transportFor: (address: BusAddress) => {
      const transport = new ScriptedTransport(script)
      transports.set(address.key, transport)
      return transport
    },
  })
  const calls = () => [...transports.values()].flatMap((t) => t.calls)
  return { driver, calls }
}

describe('ModbusDriver.read', () => {
  it('reads every point with the planned requests and names readings device/point', async () => {
    const { driver, calls } = driverWith((_u, op) => addressEcho(op))
    const readings = await driver.read(device('m1', 5))
    expect(calls()).toHaveLength(planReads(5, points).length)
    expect(readings.map((r) => [r.point, r.value, r.quality])).toEqual([
      ['m1/relay', true, 'good'],
      ['m1/kwh', 0.01, 'good'], // registers 0, 1 → 0x00000001 × 0.01
      ['m1/limit', 10, 'good'],
      ['m1/volts', 0.4, 'good'],
    ])
    expect(driver.deviceStatus('m1')).toMatchObject({ online: true, consecutiveFailures: 0 })
  })

  it('marks the points of a failed request bad with the exception name and reads the rest', async () => {
    const { driver, calls } = driverWith((_u, op) =>
      op.functionCode === 4 ? exceptionError(2) : addressEcho(op),
    )
    const readings = await driver.read(device('m1', 5))
    const volts = readings.find((r) => r.point === 'm1/volts')
    expect(volts).toMatchObject({ quality: 'bad', value: null })
    expect(volts?.reason).toContain('ILLEGAL DATA ADDRESS')
    expect(readings.filter((r) => r.quality === 'good')).toHaveLength(3)
    expect(calls()).toHaveLength(3) // not retried
    expect(driver.deviceStatus('m1').online).toBe(true) // an exception is an answer
  })

  it('gives up on a silent unit for the rest of the cycle after its first request times out', async () => {
    const { driver, calls } = driverWith(() => 'silent')
    const readings = await driver.read(device('dead', 9))
    expect(calls()).toHaveLength(3) // one request, 1 + 2 retries
    expect(readings.every((r) => r.quality === 'bad')).toBe(true)
    expect(readings[0]!.reason).toMatch(/^timeout \(unit 9 FC1 @1×1, 3 attempts of 20 ms\)$/)
    expect(readings[1]!.reason).toBe('skipped: unit did not answer earlier in this cycle')
  })

  it('takes a unit offline after 3 failed cycles, skips it, then probes with a single attempt', async () => {
    let alive = false
    const { driver, calls } = driverWith((_u, op) => (alive ? addressEcho(op) : 'silent'))
    const dead = device('dead', 9)
    for (let i = 0; i < 3; i++) await driver.read(dead)
    expect(driver.deviceStatus('dead')).toMatchObject({
      online: false,
      consecutiveFailures: 3,
      lastOkAt: null,
    })
    const before = calls().length
    const skipped = await driver.read(dead)
    expect(calls().length).toBe(before)
    expect(skipped[0]!.reason).toMatch(/unit offline after 3 failed cycles; skipped/)
    await driver.read(dead) // the probe
    expect(calls().length).toBe(before + 1)
    alive = true
    for (let i = 0; i < 3; i++) await driver.read(dead) // skipped, skipped, skipped
    const back = await driver.read(dead) // probe answers: the whole device is read
    expect(back.every((r) => r.quality === 'good')).toBe(true)
    expect(driver.deviceStatus('dead')).toMatchObject({ online: true, consecutiveFailures: 0 })
    expect(driver.deviceStatus('dead').lastOkAt).toBeGreaterThan(0)
  })

  it('reports a misconfigured point and still reads the others', async () => {
    const { driver } = driverWith((_u, op) => addressEcho(op))
    const bad: ModbusPoint = { code: 'oops', table: 'coil', register: 3, dataType: 'uint16', kind: 'state' }
    const readings = await driver.read({ ...device('m1', 1), points: [...points, bad] })
    expect(readings.find((r) => r.point === 'm1/oops')).toMatchObject({
      quality: 'bad',
      reason: expect.stringMatching(/^config: /),
    })
    expect(readings.filter((r) => r.quality === 'good')).toHaveLength(4)
  })

  it('re-plans when a device gets new points or limits', async () => {
    const { driver, calls } = driverWith((_u, op) => addressEcho(op))
    const d = device('m1', 1)
    await driver.read(d)
    await driver.read({ ...d, connection: { ...d.connection, maxGap: 0 } })
    const gapless = planReads(1, points, { maxRegistersPerRead: 125, maxBitsPerRead: 2000, maxGap: 0 })
    expect(calls().length).toBe(planReads(1, points).length + gapless.length)
  })

  it('refuses a device whose serial settings contradict its bus', async () => {
    const { driver } = driverWith((_u, op) => addressEcho(op))
    await driver.read(device('m1', 1))
    const readings = await driver.read(device('m2', 2, { baudRate: 9600 }))
    expect(readings[0]?.reason).toMatch(/serial settings differ from others on rtu\+tcp:\/\/conv:4001/)
  })

  it('answers bad readings after close, and reports an unknown device offline', async () => {
    const { driver } = driverWith((_u, op) => addressEcho(op))
    await driver.close()
    const readings = await driver.read(device('m1', 1))
    expect(readings.every((r) => r.quality === 'bad' && r.reason === 'driver closed')).toBe(true)
    expect(driver.deviceStatus('nope')).toEqual({ online: false, consecutiveFailures: 0, lastOkAt: null })
  })
})

describe('ModbusDriver.write', () => {
  const wide: ModbusPoint = {
    code: 'wide',
    table: 'holding-register',
    register: 12,
    dataType: 'uint32',
    byteOrder: 'ABCD',
    kind: 'state',
  }

  it('uses FC5 for a coil, FC6 for one register and FC16 for several', async () => {
    const { driver, calls } = driverWith(() => ({}))
    const d = { ...device('m1', 3), points: [...points, wide] }
    await driver.write(d, 'relay', true)
    await driver.write(d, 'limit', 1234)
    await driver.write(d, 'wide', 70_000)
    expect(calls().map((c) => c.operation)).toEqual([
      { functionCode: 5, start: 1, value: true },
      { functionCode: 6, start: 10, value: 1234 },
      { functionCode: 16, start: 12, values: [1, 4464] },
    ])
  })

  it('throws coded errors for read-only points, bad values and failed writes', async () => {
    const { driver } = driverWith(() => exceptionError(3))
    const d = device('m1', 3)
    await expect(driver.write(d, 'volts', 1)).rejects.toMatchObject({ code: 'EH_ERR_MODBUS_CONFIG' })
    await expect(driver.write(d, 'limit', 70_000)).rejects.toMatchObject({ code: 'EH_ERR_MODBUS_CONFIG' })
    await expect(driver.write(d, 'nope', 1)).rejects.toMatchObject({ code: 'EH_ERR_MODBUS_CONFIG' })
    await expect(driver.write(d, 'limit', 5)).rejects.toMatchObject({
      code: 'EH_ERR_MODBUS_EXCEPTION',
      message: expect.stringContaining('ILLEGAL DATA VALUE'),
    })
  })
})
