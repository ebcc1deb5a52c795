import type { StateChangeMapping } from '../../drivers/access/state-change-events.ts'
import type { BacnetDriver } from '../../drivers/bacnet/bacnet-driver.ts'
import type { BacnetPoint } from '../../drivers/bacnet/bacnet-types.ts'
import type { CancelOptions, DeviceEventType, PointKind, Reading } from '../../drivers/driver-types.ts'
import type { ModbusDevice, ModbusDriver } from '../../drivers/modbus/modbus-driver.ts'
import type { ModbusPoint } from '../../drivers/modbus/modbus-types.ts'
import { loadProfileDefinition } from '../../drivers/profiles/profile-loader.ts'
import type {
  BacnetPointConfig,
  GatewayConfig,
  GatewayDeviceConfig,
  ModbusPointConfig,
} from '../config/gateway-config.ts'

/** One poll job's work: read some points of one device. */
export interface PointReader {
  readonly device: string
  readonly kind: PointKind
  readonly intervalMs: number
  /** Units of the points, for `gateway check`'s table. */
  readonly units: ReadonlyMap<string, string>
  read(options?: CancelOptions): Promise<Reading[]>
}

export interface Drivers {
  readonly modbus: ModbusDriver
  /** Opened on the gateway's BACnet port when any BACnet device is configured. */
  readonly bacnet?: BacnetDriver
}

const modbusProtocols = new Set(['modbus-tcp', 'modbus-rtu', 'modbus-rtu-over-tcp'])

function intervalFor(config: GatewayConfig, device: GatewayDeviceConfig, kind: PointKind): number {
  // Billing counters keep the estate-wide aligned interval; a device's own interval is for
  // its live values.
  if (kind === 'counter') return config.schedule.counterIntervalMs
  if (device.pollIntervalMs) return device.pollIntervalMs
  return kind === 'gauge' ? config.schedule.gaugeIntervalMs : config.schedule.stateIntervalMs
}

/** The device's points: listed in the config, or taken from its profile (listed ones win). */
export function modbusPointsOf(device: GatewayDeviceConfig): {
  points: ModbusPoint[]
  units: Map<string, string>
  /** The profile's read limits (the maker's), which the device's own connection keys override. */
  limits: Record<string, number>
} {
  const listed = device.points as unknown as ModbusPointConfig[]
  const units = new Map<string, string>()
  const byCode = new Map<string, ModbusPoint>()
  let limits: Record<string, number> = {}
  if (device.profile) {
    const profile = loadProfileDefinition(device.profile)
    limits = { ...profile.limits }
    for (const point of profile.points) {
      byCode.set(point.code, point)
      if (point.unit) units.set(point.code, point.unit)
    }
  }
  for (const point of listed) {
    byCode.set(point.code, point)
    if (point.unit) units.set(point.code, point.unit)
  }
  return { points: [...byCode.values()], units, limits }
}

/** Splits every enabled device into one reader per point kind, each on its own interval. */
export function pointReaders(config: GatewayConfig, drivers: Drivers): PointReader[] {
  const readers: PointReader[] = []
  for (const device of config.devices) {
    if (!device.enabled) continue
    if (modbusProtocols.has(device.protocol)) readers.push(...modbusReaders(config, device, drivers.modbus))
    if (device.protocol === 'bacnet-ip' && drivers.bacnet)
      readers.push(...bacnetReaders(config, device, drivers.bacnet))
  }
  return readers
}

function modbusReaders(
  config: GatewayConfig,
  device: GatewayDeviceConfig,
  driver: ModbusDriver,
): PointReader[] {
  const { points, units, limits } = modbusPointsOf(device)
  return [...new Set(points.map((p) => p.kind))].map((kind) => {
    const modbusDevice: ModbusDevice = {
      code: device.code,
      protocol: device.protocol as ModbusDevice['protocol'],
      connection: { ...limits, ...device.connection } as unknown as ModbusDevice['connection'],
      points: points.filter((p) => p.kind === kind),
    }
    return {
      device: device.code,
      kind,
      intervalMs: intervalFor(config, device, kind),
      units,
      read: (options?: CancelOptions) => driver.read(modbusDevice, options),
    }
  })
}

function bacnetReaders(
  config: GatewayConfig,
  device: GatewayDeviceConfig,
  driver: BacnetDriver,
): PointReader[] {
  const connection = device.connection as { host: string; port?: number; deviceInstance: number }
  const ref = {
    address: `${connection.host}:${connection.port ?? 47808}`,
    deviceInstance: connection.deviceInstance,
    code: device.code,
  }
  // Points with cov: true arrive by subscription (covSubscriptions), not by polling.
  const points = (device.points as unknown as BacnetPointConfig[]).filter((p) => !p.cov)
  const units = new Map(points.filter((p) => p.unit).map((p) => [p.code, p.unit!]))
  return [...new Set(points.map((p) => p.kind))].map((kind) => {
    const subset: BacnetPoint[] = points
      .filter((p) => p.kind === kind)
      .map((p) => ({
        code: p.code,
        objectType: p.objectType,
        instance: p.instance,
        ...(p.property ? { property: p.property } : {}),
      }))
    return {
      device: device.code,
      kind,
      intervalMs: intervalFor(config, device, kind),
      units,
      read: (options?: CancelOptions) => driver.read(ref, subset, options),
    }
  })
}

/** Every point configured to raise events on a change of state, for the detector. */
export function stateEventMappings(config: GatewayConfig): StateChangeMapping[] {
  const mappings: StateChangeMapping[] = []
  for (const device of config.devices) {
    if (!device.enabled) continue
    for (const point of device.points as {
      code: string
      event?: { type: DeviceEventType; activeWhen?: boolean; input?: string }
    }[]) {
      if (!point.event) continue
      mappings.push({
        point: `${device.code}/${point.code}`,
        type: point.event.type,
        ...(point.event.activeWhen === undefined ? {} : { activeWhen: point.event.activeWhen }),
        ...(point.event.input === undefined ? {} : { input: point.event.input }),
      })
    }
  }
  return mappings
}

export interface CovSubscription {
  readonly ref: { address: string; deviceInstance: number; code: string }
  readonly point: BacnetPoint
}

/** BACnet points configured `cov: true`: subscribed to, renewed by the driver. */
export function covSubscriptions(config: GatewayConfig): CovSubscription[] {
  const out: CovSubscription[] = []
  for (const device of config.devices) {
    if (!device.enabled || device.protocol !== 'bacnet-ip') continue
    const connection = device.connection as { host: string; port?: number; deviceInstance: number }
    const ref = {
      address: `${connection.host}:${connection.port ?? 47808}`,
      deviceInstance: connection.deviceInstance,
      code: device.code,
    }
    for (const p of device.points as unknown as BacnetPointConfig[]) {
      if (!p.cov) continue
      out.push({
        ref,
        point: {
          code: p.code,
          objectType: p.objectType,
          instance: p.instance,
          ...(p.property ? { property: p.property } : {}),
        },
      })
    }
  }
  return out
}
