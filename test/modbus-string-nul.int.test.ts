// String registers over a real Modbus TCP socket (the simulator of drivers/sim): fixed-length
// strings are NUL-padded, which is normal and trimmed; a NUL inside the text reads `bad` with
// the reason, never `good` (issue 13: such a value used to reach the hub as good and fail
// every batch it was in). A profile's or config's plausible range reads outliers as bad.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ModbusDevice, ModbusDriver } from '../drivers/modbus/modbus-driver.ts'
import type { ModbusPoint } from '../drivers/modbus/modbus-types.ts'
import { type ModbusTcpSim, startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'

/** Two ASCII characters per register, high byte first, as a device lays a string out. */
const registersOf = (bytes: readonly number[]) =>
  Array.from({ length: bytes.length / 2 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0))

const label: ModbusPoint = {
  code: 'label',
  table: 'holding-register',
  register: 12,
  dataType: 'string',
  length: 4,
  kind: 'state',
}

describe('Modbus string registers with NULs', () => {
  let sim: ModbusTcpSim
  let driver: ModbusDriver
  let device: ModbusDevice

  beforeAll(async () => {
    sim = await startModbusTcpSim({ meters: 1 })
    driver = new ModbusDriver()
    device = {
      code: 'm1',
      protocol: 'modbus-tcp',
      connection: { host: '127.0.0.1', port: sim.port, unitId: 1, timeoutMs: 500, retries: 1 },
      points: [label],
    }
  })
  afterAll(async () => {
    await driver.close()
    await sim.close()
  })

  const read = async (bytes: readonly number[]) => {
    sim.meter(1).writeRegisters(label.register, registersOf(bytes))
    const [reading] = await driver.read(device)
    return reading!
  }

  it('trims the NUL padding of a fixed-length string and reads it good', async () => {
    const reading = await read([...ascii('ABCDE'), 0, 0, 0])
    expect(reading).toMatchObject({ point: 'm1/label', value: 'ABCDE', quality: 'good' })
  })

  it('reads a value outside the point’s plausible range as bad, keeping the value', async () => {
    const setpoint: ModbusPoint = {
      code: 'setpoint',
      table: 'holding-register',
      register: 10,
      dataType: 'uint16',
      scale: '0.1',
      plausibleMin: '5',
      plausibleMax: '35.5',
      kind: 'state',
    }
    const meter = sim.meter(1)
    const readOnce = async (raw: number) => {
      meter.writeRegisters(10, [raw])
      const [reading] = await driver.read({ ...device, points: [setpoint] })
      return reading!
    }
    expect(await readOnce(355)).toMatchObject({ value: 35.5, quality: 'good' })
    expect(await readOnce(356)).toMatchObject({
      value: 35.6,
      quality: 'bad',
      reason: 'value 35.6 is above the plausible maximum 35.5',
    })
    expect(await readOnce(49)).toMatchObject({ value: 4.9, quality: 'bad' })
  })

  it('reads a string with a NUL before its end as bad, with the reason', async () => {
    const reading = await read([...ascii('AB'), 0, ...ascii('CDE'), 0, 0])
    expect(reading.quality).toBe('bad')
    expect(reading.value).toBeNull()
    expect(reading.reason).toMatch(/NUL byte at offset 2/)
  })
})
