/**
 * The access-control family's registry entry (drivers/protocols.ts): controllers push events
 * to a webhook receiver the gateway runs whenever its `access` section is set.
 */
import type { ProtocolDefinition } from '../contract/protocol-definition.ts'
import { accessAddress, accessConnection } from './access-schemas.ts'

export const accessProtocol: ProtocolDefinition = {
  family: 'access',
  protocols: [{ name: 'access-webhook', title: 'Access controller (webhook)', connection: accessConnection }],
  address: accessAddress,
  settingsKey: 'access',
  runsWithoutDevices: true,
  load: async () => (await import('./access-device-driver.ts')).createDriver,
  simulatePush: async () => (await import('./access-simulator.ts')).simulateAccessPush(),
  where: (device) => `controller ${String(device.connection.controllerId)}`,
}
