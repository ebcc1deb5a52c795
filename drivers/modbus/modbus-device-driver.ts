/**
 * The Modbus driver behind the common DeviceDriver contract. The config's points and
 * connection were checked by the family's schemas, so they are Modbus points and connections.
 */
import type { DeviceDriver, DriverDevice } from '../contract/device-driver.ts'
import type { DriverFactory } from '../contract/protocol-definition.ts'
import { type ModbusDevice, ModbusDriver, type ModbusDriverOptions } from './modbus-driver.ts'

const asModbus = (device: DriverDevice) => device as unknown as ModbusDevice

export function createModbusDeviceDriver(options: ModbusDriverOptions = {}): DeviceDriver {
  const driver = new ModbusDriver(options)
  return {
    async open() {},
    read: (device, options) => driver.read(asModbus(device), options),
    write: (device, point, value, options) => driver.write(asModbus(device), point, value, options),
    health: (code) => driver.deviceStatus(code),
    close: () => driver.close(),
  }
}

export const createDriver: DriverFactory = () => createModbusDeviceDriver()
