import { createSocket } from 'node:dgram'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BacnetSim, startBacnetSim } from '../drivers/sim/bacnet-device-sim.ts'
import { loadGatewayConfig } from '../gateway/config/gateway-config.ts'
import { checkDevices } from '../gateway/runtime/gateway-check.ts'

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

/** A BACnet device configured by `profile:` alone is read by the gateway like a Modbus meter. */
describe('a BACnet device from a profile', () => {
  let sim: BacnetSim
  let simPort: number
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-profiles-'))
  beforeAll(async () => {
    simPort = await freeUdpPort()
    sim = await startBacnetSim({
      port: simPort,
      deviceInstance: 3101,
      objects: [
        { type: 'analog-input', instance: 1, value: 18.5 },
        { type: 'binary-input', instance: 1, value: true },
      ],
    })
    writeFileSync(
      join(dir, 'acme-ahu9.yaml'),
      [
        'profile: acme-ahu9',
        'protocol: bacnet',
        'maker: Acme',
        'model: AHU-9',
        'source: { publisher: Acme, title: AHU-9 BACnet PICS, version: "2" }',
        'points:',
        '  - { code: supply-temp, objectType: analog-input, instance: 1, unit: °C, kind: gauge }',
        '  - { code: running, objectType: binary-input, instance: 1, kind: state }',
        '',
      ].join('\n'),
    )
  })
  afterAll(() => sim?.close())

  it('is accepted, read by `gateway check`, and refused for a family the profile is not for', async () => {
    const bacnetPort = await freeUdpPort()
    const config = (protocol: string, connection: string) =>
      [
        'gateway: { id: gw-prof, secret: 0123456789abcdef }',
        `bacnet: { port: ${bacnetPort} }`,
        `profiles: { dir: ${dir} }`,
        'devices:',
        `  - { code: ahu9, protocol: ${protocol}, connection: ${connection}, profile: acme-ahu9 }`,
        '',
      ].join('\n')
    const file = join(dir, 'gateway.yaml')
    writeFileSync(file, config('modbus-tcp', '{ host: 127.0.0.1, unitId: 1 }'))
    expect(() => loadGatewayConfig(file, {})).toThrow(/devices\.0\.profile: is a bacnet profile/)
    writeFileSync(file, config('bacnet-ip', `{ host: 127.0.0.1, port: ${simPort}, deviceInstance: 3101 }`))
    const result = await checkDevices(loadGatewayConfig(file, {}))
    expect(result.problems).toEqual([])
    expect(result.readings.map((r) => [r.point, r.value, r.unit])).toEqual([
      ['ahu9/running', true, ''],
      ['ahu9/supply-temp', 18.5, '°C'],
    ])
  })
})
