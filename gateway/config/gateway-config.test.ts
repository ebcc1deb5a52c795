import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../contract/config-file/load-config.ts'
import { loadGatewayConfig } from './gateway-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'estatehub-gwcfg-'))
const write = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const header = 'gateway:\n  id: gw-01\n  secret: 0123456789abcdef\n'

function problemsOf(path: string): readonly string[] {
  try {
    loadGatewayConfig(path)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

describe('gateway config devices', () => {
  it('accepts Modbus and BACnet devices with their own point shapes', () => {
    const path = write(
      'ok.yaml',
      `${header}devices:
  - code: m1
    protocol: modbus-tcp
    connection: { host: 127.0.0.1, port: 5020, unitId: 1, maxRegistersPerRead: 40 }
    points:
      - { code: kwh, table: holding-register, register: 0, dataType: uint32, byteOrder: ABCD, scale: 0.01, unit: kWh, kind: counter }
      - { code: relay, table: coil, register: 0, dataType: bool, kind: state }
  - code: ahu1
    protocol: bacnet-ip
    connection: { host: 127.0.0.1, port: 47809, deviceInstance: 1001 }
    points:
      - { code: supply-temp, objectType: analog-input, instance: 1, unit: °C, kind: gauge, cov: true }
`,
    )
    const config = loadGatewayConfig(path)
    expect(config.devices.map((d) => [d.code, d.points.length, d.enabled])).toEqual([
      ['m1', 2, true],
      ['ahu1', 1, true],
    ])
  })

  it('names every problem of every device on its own line', () => {
    const path = write(
      'bad.yaml',
      `${header}devices:
  - code: m1
    protocol: modbus-rtu-over-tcp
    connection: { host: 127.0.0.1, port: 4001, unitId: 0 }
    points:
      - { code: kwh, table: holding-register, registr: 0, dataType: uint32, kind: counter }
      - { code: v, table: input-register, register: 65535, dataType: float32, byteOrder: ABCD, kind: gauge }
      - { code: v, table: coil, register: 1, dataType: uint16, kind: state }
  - code: m1
    protocol: bacnet-ip
    connection: { host: 127.0.0.1, deviceInstance: 5 }
    points: []
`,
    )
    expect(problemsOf(path)).toEqual([
      `${path}: devices.0.connection.baudRate: is required`,
      `${path}: devices.0.connection.unitId: must be >= 1, got number 0`,
      `${path}: devices.0.points.0.register: is required`,
      `${path}: devices.0.points.0.registr: unknown key (did you mean "register"?)`,
      `${path}: devices.0.points.1.register: a float32 here runs past 65535`,
      `${path}: devices.0.points.2.code: "v" appears twice in this device`,
      `${path}: devices.0.points.2.dataType: a coil holds one bool`,
      `${path}: devices.1.code: "m1" is already devices.0`,
      `${path}: devices.1.points: lists no points and names no profile`,
    ])
  })
})

describe('the annotated example', () => {
  it('deploy/examples/gateway.yaml loads, with every kind of device', () => {
    const file = join(import.meta.dirname, '..', '..', 'deploy', 'examples', 'gateway.yaml')
    const env = {
      ESTATEHUB_GATEWAY_SECRET: '0123456789abcdef0123',
      ACCESS_TOKEN_EAST: 'a'.repeat(20),
      ACCESS_TOKEN_GARAGE: 'b'.repeat(20),
    }
    const config = loadGatewayConfig(file, env)
    expect(new Set(config.devices.map((d) => d.protocol))).toEqual(
      new Set(['modbus-tcp', 'modbus-rtu', 'modbus-rtu-over-tcp', 'bacnet-ip']),
    )
    expect(config.access?.controllers).toHaveLength(2)
  })
})

describe('profiles in a device', () => {
  it("apply the maker's read limit unless the device sets its own", async () => {
    const { modbusPointsOf } = await import('../runtime/device-readers.ts')
    const device = {
      code: 'm',
      protocol: 'modbus-tcp',
      connection: { host: 'h', unitId: 1 },
      profile: 'eastron-sdm630',
      points: [],
      enabled: true,
    } as const
    const { points, limits } = modbusPointsOf(device as never)
    expect(limits.maxRegistersPerRead).toBe(80)
    expect(points.find((p) => p.register === 0x48)?.dataType).toBe('float32')
  })
})
