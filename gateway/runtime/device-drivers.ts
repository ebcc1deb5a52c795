/**
 * Which protocol families a gateway opens, and opening them: one driver per family (devices
 * on one Modbus bus share it), loaded on demand from the registry, opened with its config
 * section (`bacnet`, `access`) when the family names one.
 */
import type { DeviceDriver, PushSink } from '../../drivers/contract/device-driver.ts'
import type { ProtocolDefinition } from '../../drivers/contract/protocol-definition.ts'
import { familyOf, protocolFamilies } from '../../drivers/contract/protocol-registry.ts'
import type { GatewayConfig } from '../config/gateway-config.ts'
import { devicePointsOf } from './device-readers.ts'

const settingsOf = (config: GatewayConfig, family: ProtocolDefinition): unknown =>
  family.settingsKey ? (config as unknown as Record<string, unknown>)[family.settingsKey] : undefined

/**
 * `run`: families an enabled device uses, or that run on their settings alone (a webhook
 * receiver). `check`: only families with points to read.
 */
export function familiesToOpen(config: GatewayConfig, purpose: 'run' | 'check'): ProtocolDefinition[] {
  const used = new Set<string>()
  for (const device of config.devices) {
    const family = device.enabled ? familyOf(device.protocol) : undefined
    if (!family) continue
    if (
      purpose === 'check' &&
      !devicePointsOf(device, config.profiles?.dir).points.some((p) => !family.pushed?.(p))
    )
      continue
    used.add(family.family)
  }
  return protocolFamilies().filter((family) => {
    // A family that needs a config section is not opened without it.
    if (family.settingsKey && settingsOf(config, family) === undefined) return false
    return used.has(family.family) || (purpose === 'run' && family.runsWithoutDevices === true)
  })
}

/**
 * Loads and opens each family's driver, `sink` hearing what drivers receive unasked from the
 * moment they open; on a failure closes those already open and throws.
 */
export async function openDrivers(
  config: GatewayConfig,
  families: readonly ProtocolDefinition[],
  sink?: PushSink,
): Promise<Map<string, DeviceDriver>> {
  const drivers = new Map<string, DeviceDriver>()
  try {
    for (const family of families) {
      const driver = (await family.load())(settingsOf(config, family))
      if (sink) driver.listen?.(sink)
      await driver.open()
      drivers.set(family.family, driver)
    }
  } catch (error) {
    await closeDrivers(drivers)
    throw error
  }
  return drivers
}

export async function closeDrivers(drivers: ReadonlyMap<string, DeviceDriver>): Promise<void> {
  await Promise.all([...drivers.values()].map((driver) => driver.close()))
}
