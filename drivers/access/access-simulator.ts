/**
 * The access family's push simulator for the conformance suite: a controller
 * (drivers/sim/access-controller-sim.ts) posting to the receiver the driver opens.
 */
import { createServer } from 'node:net'
import type { PushSimulator } from '../contract/protocol-definition.ts'
import { createAccessControllerSim } from '../sim/access-controller-sim.ts'
import type { AccessSettings } from './access-device-driver.ts'

export async function simulateAccessPush(): Promise<PushSimulator> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
  const token = 'conformance-token-0123456789'
  const settings: AccessSettings = {
    host: '127.0.0.1',
    port,
    controllers: [{ id: 'ctl-1', token, device: 'door-ctl' }],
  }
  const controller = createAccessControllerSim({
    url: `http://127.0.0.1:${port}`,
    controllerId: 'ctl-1',
    token,
  })
  return {
    settings,
    push: async () => {
      await controller.forced('east')
    },
    close: async () => {},
  }
}
