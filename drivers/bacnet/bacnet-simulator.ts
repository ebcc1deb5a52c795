/**
 * The BACnet family's simulator for the conformance suite: one simulated device on a UDP port
 * of its own (drivers/sim/bacnet-device-sim.ts) with analog, binary and multi-state objects.
 */
import { createSocket } from 'node:dgram'
import type { ProtocolSimulator, PushSimulator } from '../contract/protocol-definition.ts'
import { startBacnetSim } from '../sim/bacnet-device-sim.ts'

/** A free UDP port on loopback: bound once, then released. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

export async function simulateBacnet(): Promise<ProtocolSimulator> {
  const port = await freeUdpPort()
  const sim = await startBacnetSim({
    port,
    deviceInstance: 4101,
    objects: [
      { type: 'analog-input', instance: 1, value: 21.5 },
      { type: 'analog-value', instance: 2, value: -3.25 },
      { type: 'binary-input', instance: 1, value: true },
      { type: 'multi-state-value', instance: 1, value: 2, stateText: ['off', 'low', 'high'] },
    ],
  })
  const device = (code: string, devicePort: number, deviceInstance: number) => ({
    code,
    protocol: 'bacnet-ip',
    connection: { host: '127.0.0.1', port: devicePort, deviceInstance },
    points: [
      { code: 'temp', objectType: 'analog-input', instance: 1, kind: 'gauge' as const },
      { code: 'offset', objectType: 'analog-value', instance: 2, kind: 'gauge' as const },
      { code: 'running', objectType: 'binary-input', instance: 1, kind: 'state' as const },
      { code: 'speed', objectType: 'multi-state-value', instance: 1, kind: 'state' as const },
      {
        code: 'name',
        objectType: 'analog-input',
        instance: 1,
        property: 'object-name',
        kind: 'state' as const,
      },
    ],
  })
  return {
    settings: { port: await freeUdpPort(), timeoutMs: 400, retries: 0 },
    device: device('sim', port, 4101),
    missingPoint: { code: 'ghost', objectType: 'analog-input', instance: 99, kind: 'gauge' },
    deadDevice: device('dead', await freeUdpPort(), 4102),
    // The live device's address, configured with another instance.
    wrongIdentityDevice: device('impostor', port, 4109),
    delay: (ms) => sim.setBehaviour(ms === null ? { silent: true } : { silent: false, delayMs: ms }),
    close: () => sim.close(),
  }
}

/** A device that raises an alarm (an event notification, §13.8) to the driver's port. */
export async function simulateBacnetAlarm(): Promise<PushSimulator> {
  const port = await freeUdpPort()
  const sim = await startBacnetSim({
    port,
    deviceInstance: 4201,
    objects: [{ type: 'binary-input', instance: 7, value: false }],
  })
  const driverPort = await freeUdpPort()
  return {
    settings: { port: driverPort, timeoutMs: 400, retries: 0 },
    push: () => sim.raiseEvent('binary-input', 7, 'offnormal', { to: `127.0.0.1:${driverPort}` }),
    close: () => sim.close(),
  }
}
