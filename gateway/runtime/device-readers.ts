import type { StateChangeMapping } from '../../drivers/access/state-change-events.ts'
import type { DeviceDriver, DriverDevice, DriverPoint } from '../../drivers/contract/device-driver.ts'
import { familyOf } from '../../drivers/contract/protocol-registry.ts'
import type { CancelOptions, DeviceEventType, PointKind, Reading } from '../../drivers/driver-types.ts'
import type { ModbusPoint } from '../../drivers/modbus/modbus-types.ts'
import { loadProfileDefinition } from '../../drivers/profiles/profile-loader.ts'
import type { GatewayConfig, GatewayDeviceConfig } from '../config/gateway-config.ts'

/** One poll job's work: read some points of one device. */
export interface PointReader {
  readonly device: string
  readonly kind: PointKind
  readonly intervalMs: number
  /** Units of the points, for `gateway check`'s table. */
  readonly units: ReadonlyMap<string, string>
  read(options?: CancelOptions): Promise<Reading[]>
}

/** The drivers a gateway opened: one per protocol family in use, by family name. */
export type Drivers = ReadonlyMap<string, DeviceDriver>

function intervalFor(config: GatewayConfig, device: GatewayDeviceConfig, kind: PointKind): number {
  // Billing counters keep the estate-wide aligned interval; a device's own interval is for
  // its live values.
  if (kind === 'counter') return config.schedule.counterIntervalMs
  if (device.pollIntervalMs) return device.pollIntervalMs
  return kind === 'gauge' ? config.schedule.gaugeIntervalMs : config.schedule.stateIntervalMs
}

/** The device's points: listed in the config, or taken from its profile (listed ones win). */
export function devicePointsOf(
  device: GatewayDeviceConfig,
  profileDir?: string,
): {
  points: DriverPoint[]
  units: Map<string, string>
  /** Connection keys from the profile (the maker's read limits); the device's own override them. */
  limits: Record<string, number>
} {
  const units = new Map<string, string>()
  const byCode = new Map<string, DriverPoint>()
  let limits: Record<string, number> = {}
  const take = (point: DriverPoint) => {
    byCode.set(point.code, point)
    if (point.unit) units.set(point.code, point.unit)
  }
  if (device.profile) {
    const profile = loadProfileDefinition<DriverPoint>(device.profile, profileDir)
    limits = { ...profile.limits }
    for (const point of profile.points) take(point)
  }
  for (const point of device.points as DriverPoint[]) take(point)
  return { points: [...byCode.values()], units, limits }
}

/** devicePointsOf for a Modbus device, typed as the Modbus driver sees its points. */
export function modbusPointsOf(device: GatewayDeviceConfig, profileDir?: string) {
  const { points, ...rest } = devicePointsOf(device, profileDir)
  return { points: points as unknown as ModbusPoint[], ...rest }
}

/** Splits every enabled device into one reader per point kind, each on its own interval. */
export function pointReaders(config: GatewayConfig, drivers: Drivers): PointReader[] {
  const readers: PointReader[] = []
  for (const device of config.devices) {
    if (!device.enabled) continue
    const family = familyOf(device.protocol)
    const driver = family && drivers.get(family.family)
    if (!family || !driver) continue
    const { points, units, limits } = devicePointsOf(device, config.profiles?.dir)
    // Points the device pushes arrive by subscription (pushSubscriptions), not by polling.
    const polled = points.filter((p) => !family.pushed?.(p))
    const polledUnits = new Map([...units].filter(([code]) => polled.some((p) => p.code === code)))
    for (const kind of new Set(polled.map((p) => p.kind))) {
      // One object per reader: drivers cache their plan by the identity of the point list.
      const target: DriverDevice = {
        code: device.code,
        protocol: device.protocol,
        connection: { ...limits, ...device.connection },
        points: polled.filter((p) => p.kind === kind),
      }
      readers.push({
        device: device.code,
        kind,
        intervalMs: intervalFor(config, device, kind),
        units: polledUnits,
        read: (options?: CancelOptions) => driver.read(target, options),
      })
    }
  }
  return readers
}

export interface PushSubscription {
  readonly family: string
  /** The device with the one pushed point, so a refusal names that point. */
  readonly device: DriverDevice
}

/** Points the devices push (BACnet `cov: true`): subscribed to, renewed by the driver. */
export function pushSubscriptions(config: GatewayConfig): PushSubscription[] {
  const out: PushSubscription[] = []
  for (const device of config.devices) {
    const family = device.enabled ? familyOf(device.protocol) : undefined
    if (!family?.pushed) continue
    for (const point of devicePointsOf(device, config.profiles?.dir).points.filter((p) =>
      family.pushed!(p),
    )) {
      out.push({
        family: family.family,
        device: {
          code: device.code,
          protocol: device.protocol,
          connection: device.connection,
          points: [point],
        },
      })
    }
  }
  return out
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
