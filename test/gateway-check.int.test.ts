import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BacnetSim, startBacnetSim } from '../drivers/sim/bacnet-device-sim.ts'
import { type ModbusTcpSim, startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'

const bin = join(import.meta.dirname, '..', 'bin', 'estatehub.js')

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, CI: undefined } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('estatehub gateway check', () => {
  let sim: ModbusTcpSim
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-gwcheck-'))
  beforeAll(async () => {
    sim = await startModbusTcpSim({ port: 0, meters: 2 })
  })
  afterAll(() => sim?.close())

  const config = (devices: string) =>
    `gateway:\n  id: gw-check\n  secret: 0123456789abcdef\ndevices:\n${devices}`
  const meter = (code: string, port: number, unitId: number, extra = '') => `  - code: ${code}
    protocol: modbus-tcp
    connection: { host: 127.0.0.1, port: ${port}, unitId: ${unitId}, timeoutMs: 300, retries: 0 }
    points:
      - { code: energy, table: holding-register, register: 0, dataType: uint32, byteOrder: ABCD, scale: 0.01, unit: kWh, kind: counter }
      - { code: voltage, table: input-register, register: 0, dataType: float32, byteOrder: ABCD, unit: V, kind: gauge }
${extra}`

  it('prints a table of every point and exits 0 when everything reads', async () => {
    const file = join(dir, 'ok.yaml')
    writeFileSync(file, config(meter('m1', sim.port, 1) + meter('m2', sim.port, 2)))
    const result = await run(['gateway', 'check', '--config', file])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^point\s+value\s+unit\s+quality/)
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([
      'm1/energy',
      'm1/voltage',
      'm2/energy',
      'm2/voltage',
    ])
    expect(lines[1]).toMatch(/^m1\/energy\s+\d+(\.\d{1,2})?\s+kWh\s+good$/)
  })

  it('names an unreachable device and a wrong register, each on its line, and exits non-zero', async () => {
    const file = join(dir, 'bad.yaml')
    const wrong =
      '      - { code: ghost, table: holding-register, register: 900, dataType: uint16, kind: gauge }\n'
    writeFileSync(file, config(meter('m1', sim.port, 1, wrong) + meter('m9', await closedPort(), 9)))
    const result = await run(['gateway', 'check', '--config', file])
    expect(result.code).not.toBe(0)
    const problems = result.stderr.trim().split('\n').slice(1)
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(/^m1\/ghost: .*(illegal data address|exception)/i)
    expect(problems[1]).toMatch(/^m9: no point could be read: .*(ECONNREFUSED|connect)/i)
    expect(result.stdout).toMatch(/m1\/energy\s+\S+\s+kWh\s+good/)
  })

  describe('a BACnet device configured with the wrong instance', () => {
    // BACnet ports 47963 (the gateway's) and 47964 (the controller, device 3101).
    let ahu: BacnetSim
    beforeAll(async () => {
      ahu = await startBacnetSim({
        port: 47964,
        deviceInstance: 3101,
        objects: [{ type: 'analog-input', instance: 1, value: 19.5 }],
      })
    })
    afterAll(() => ahu?.close())
    const bacnet = (code: string, deviceInstance: number) => `  - code: ${code}
    protocol: bacnet-ip
    connection: { host: 127.0.0.1, port: 47964, deviceInstance: ${deviceInstance} }
    points:
      - { code: supply-temp, objectType: analog-input, instance: 1, unit: degC, kind: gauge }
`

    it('is named with the configured and the actual instance and the address, and exits non-zero', async () => {
      const file = join(dir, 'bacnet.yaml')
      writeFileSync(
        file,
        `${config(bacnet('ahu', 3101) + bacnet('ahu-typo', 3109))}bacnet: { port: 47963 }\n`,
      )
      const result = await run(['gateway', 'check', '--config', file])
      expect(result.code).not.toBe(0)
      const problems = result.stderr.trim().split('\n').slice(1)
      expect(problems).toEqual([
        'ahu-typo: no point could be read: EH_ERR_BACNET_IDENTITY: configured device instance 3109, but the device at 127.0.0.1:47964 is device 3101 (127.0.0.1:47964 device 3109)',
      ])
      // The right instance at the same address reads.
      expect(result.stdout).toMatch(/ahu\/supply-temp\s+19\.5\s+degC\s+good/)
      expect(result.stdout).toMatch(/ahu-typo\/supply-temp\s+-\s+degC\s+bad\s+EH_ERR_BACNET_IDENTITY/)
    })
  })
})
