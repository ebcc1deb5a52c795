/**
 * The BACnet/IP family's registry entry (drivers/protocols.ts). Its planner (bacnet-plan.ts)
 * needs the protocol library's numbers and sizes, so it runs inside the driver, not here:
 * this entry loads nothing but schemas until the gateway asks for the driver.
 */
import { Type } from 'typebox'
import type { DriverPoint } from '../contract/device-driver.ts'
import type { Problem, ProtocolDefinition } from '../contract/protocol-definition.ts'
import {
  BacnetPointSchema,
  BacnetProfilePointSchema,
  bacnetAddress,
  bacnetConnection,
} from './bacnet-schemas.ts'

function duplicateCodes(points: readonly DriverPoint[]): Problem[] {
  const seen = new Map<string, number>()
  return points.flatMap((p, i) => {
    const first = seen.get(p.code)
    seen.set(p.code, first ?? i)
    return first === undefined
      ? []
      : [{ path: ['points', i, 'code'], message: `"${p.code}" is already points.${first}` }]
  })
}

export const bacnetProtocol: ProtocolDefinition = {
  family: 'bacnet',
  protocols: [{ name: 'bacnet-ip', title: 'BACnet/IP', connection: bacnetConnection }],
  point: BacnetPointSchema,
  address: bacnetAddress,
  pushed: (point) => point.cov === true,
  identityKey: 'deviceInstance',
  settingsKey: 'bacnet',
  profile: {
    fields: { points: Type.Array(BacnetProfilePointSchema, { minItems: 1 }) },
    resolve(doc) {
      const points = doc.points as DriverPoint[]
      return { points, connectionDefaults: {}, problems: duplicateCodes(points) }
    },
  },
  load: async () => (await import('./bacnet-device-driver.ts')).createDriver,
  simulate: async () => (await import('./bacnet-simulator.ts')).simulateBacnet(),
  simulatePush: async () => (await import('./bacnet-simulator.ts')).simulateBacnetAlarm(),
  where(device) {
    const c = device.connection as { host?: string; port?: number; deviceInstance?: number }
    return `${c.host}:${c.port ?? 47808} device ${c.deviceInstance}`
  },
}
