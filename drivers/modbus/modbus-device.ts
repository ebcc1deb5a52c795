/**
 * A Modbus device as the driver sees it, and the physical bus it sits on. Several devices
 * (meters) share one bus: one serial port, one RTU-over-TCP converter, or one Modbus TCP
 * endpoint (which may itself be a gateway to an RS-485 line).
 */
import {
  type LineSettings,
  lineSettingsOf,
  type Parity,
  sameLineSettings as sameLine,
} from '../serial/line-settings.ts'
import type { ModbusLimits, ModbusPoint } from './modbus-types.ts'
import { defaultModbusLimits } from './modbus-types.ts'

export type ModbusProtocol = 'modbus-tcp' | 'modbus-rtu' | 'modbus-rtu-over-tcp'
export type { Parity }

export interface ModbusConnection {
  readonly host?: string
  readonly port?: number
  readonly serialPath?: string
  readonly baudRate?: number
  readonly parity?: Parity
  readonly dataBits?: number
  readonly stopBits?: number
  /** The Modbus unit (slave) id of this device on its bus. */
  readonly unitId: number
  readonly maxRegistersPerRead?: number
  readonly maxGap?: number
  /** Per request, per attempt; default 1000. */
  readonly timeoutMs?: number
  /** Extra attempts after the first; default 2. */
  readonly retries?: number
}

export interface ModbusDevice {
  readonly code: string
  readonly protocol: ModbusProtocol
  readonly connection: ModbusConnection
  readonly points: readonly ModbusPoint[]
}

export type SerialSettings = LineSettings

export type BusAddress =
  | { readonly kind: 'tcp'; readonly key: string; readonly host: string; readonly port: number }
  | {
      readonly kind: 'rtu-over-tcp'
      readonly key: string
      readonly host: string
      readonly port: number
      readonly serial: SerialSettings
    }
  | { readonly kind: 'serial'; readonly key: string; readonly path: string; readonly serial: SerialSettings }

export const DEFAULT_TIMEOUT_MS = 1000
export const DEFAULT_RETRIES = 2
/** Modbus Messaging on TCP/IP Implementation Guide V1.0b §4.1: port 502 is reserved. */
const MODBUS_TCP_PORT = 502

function serialSettings(c: ModbusConnection): SerialSettings {
  // 9600 baud, even parity is the spec's default (Serial Line V1.02 §2.5.1); most meters
  // ship 9600 8N1, so parity defaults to none as in modbus-serial.
  return lineSettingsOf(c, { baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 })
}

/** Where the device's bus is, with a key that is equal for devices on the same bus. */
export function busAddressOf(device: ModbusDevice): BusAddress {
  const c = device.connection
  switch (device.protocol) {
    case 'modbus-tcp': {
      if (!c.host) throw new Error(`device ${device.code}: modbus-tcp needs connection.host`)
      const port = c.port ?? MODBUS_TCP_PORT
      return { kind: 'tcp', key: `tcp://${c.host}:${port}`, host: c.host, port }
    }
    case 'modbus-rtu-over-tcp': {
      if (!c.host || !c.port) throw new Error(`device ${device.code}: ${device.protocol} needs host and port`)
      const key = `rtu+tcp://${c.host}:${c.port}`
      return { kind: 'rtu-over-tcp', key, host: c.host, port: c.port, serial: serialSettings(c) }
    }
    case 'modbus-rtu': {
      if (!c.serialPath) throw new Error(`device ${device.code}: modbus-rtu needs connection.serialPath`)
      return { kind: 'serial', key: `serial:${c.serialPath}`, path: c.serialPath, serial: serialSettings(c) }
    }
  }
}

/** Two devices claiming one bus must agree on how it is driven. */
export function sameLineSettings(a: BusAddress, b: BusAddress): boolean {
  if (a.kind === 'tcp' || b.kind === 'tcp') return a.kind === b.kind
  return sameLine(a.serial, b.serial)
}

export function limitsOf(device: ModbusDevice): ModbusLimits {
  return {
    ...defaultModbusLimits,
    maxRegistersPerRead: device.connection.maxRegistersPerRead ?? defaultModbusLimits.maxRegistersPerRead,
    maxGap: device.connection.maxGap ?? defaultModbusLimits.maxGap,
  }
}
