import { createServer } from 'node:net'
import type { ProtocolSimulator } from '../../drivers/contract/protocol-definition.ts'
import { startEchoMeterSim } from './echo-meter-sim.ts'

/** The echo meter family's simulator for the conformance suite. */
export async function simulateEchoMeter(): Promise<ProtocolSimulator> {
  const sim = await startEchoMeterSim({ EM0001: { 1: 1234.5, 2: -7 } })
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const closedPort = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
  const device = (code: string, port: number) => ({
    code,
    protocol: 'echo-meter',
    connection: { host: '127.0.0.1', port, meterId: 'EM0001', timeoutMs: 400 },
    points: [
      { code: 'id', register: 0, dataType: 'text', kind: 'state' as const },
      { code: 'energy', register: 1, unit: 'kWh', kind: 'counter' as const },
      { code: 'flow', register: 2, kind: 'gauge' as const },
    ],
  })
  return {
    settings: undefined,
    device: device('echo', sim.port),
    missingPoint: { code: 'ghost', register: 99, kind: 'gauge' },
    deadDevice: device('dead', closedPort),
    delay: sim.delay,
    close: sim.close,
  }
}
