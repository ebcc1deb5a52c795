/**
 * The Modbus family's registry entry (drivers/protocols.ts): Modbus TCP, RTU on a serial
 * port and RTU framed over TCP, one driver for all three so devices on one bus share it.
 */
import type { DriverDevice } from '../contract/device-driver.ts'
import type { ProtocolDefinition } from '../contract/protocol-definition.ts'
import type { ModbusDevice } from './modbus-device.ts'
import { limitsOf } from './modbus-device.ts'
import { checkModbusConfigPoint, checkModbusRecord } from './modbus-point-checks.ts'
import { modbusProfile } from './modbus-profile.ts'
import {
  ModbusPointSchema,
  modbusAddress,
  modbusRtuConnection,
  modbusRtuOverTcpConnection,
  modbusTcpConnection,
} from './modbus-schemas.ts'
import type { ModbusPoint } from './modbus-types.ts'
import { planReads } from './read-planner.ts'

const asModbus = (device: DriverDevice) => device as unknown as ModbusDevice

export const modbusProtocol: ProtocolDefinition = {
  family: 'modbus',
  protocols: [
    { name: 'modbus-tcp', title: 'Modbus TCP', connection: modbusTcpConnection },
    { name: 'modbus-rtu', title: 'Modbus RTU (serial port)', connection: modbusRtuConnection },
    { name: 'modbus-rtu-over-tcp', title: 'Modbus RTU over TCP', connection: modbusRtuOverTcpConnection },
  ],
  point: ModbusPointSchema,
  address: modbusAddress,
  checkPoint: (point) => checkModbusConfigPoint(point as unknown as ModbusPoint),
  checkRecord: checkModbusRecord,
  plan(device) {
    const modbus = asModbus(device)
    return planReads(modbus.connection.unitId, modbus.points, limitsOf(modbus)).map((r) => ({
      points: r.points.map((p) => p.code),
      describe: `unit ${r.unitId} FC${r.functionCode} ${r.start}+${r.count}`,
    }))
  },
  profile: modbusProfile,
  load: async () => (await import('./modbus-device-driver.ts')).createDriver,
  simulate: async () => (await import('./modbus-simulator.ts')).simulateModbus(),
  where(device) {
    const c = asModbus(device).connection
    return `${c.serialPath ?? `${c.host}:${c.port ?? 502}`} unit ${c.unitId}`
  },
}
