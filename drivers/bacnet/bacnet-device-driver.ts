/**
 * The BACnet/IP driver behind the common DeviceDriver contract: config points become
 * BacnetPoints, `cov: true` points are subscribed to, alarms arrive through `listen`.
 */
import type { DeviceDriver, DriverDevice, PushSink } from '../contract/device-driver.ts'
import type { DriverFactory } from '../contract/protocol-definition.ts'
import { BacnetDriver } from './bacnet-driver.ts'
import type { BacnetDeviceRef, BacnetPoint } from './bacnet-types.ts'

/** The gateway's `bacnet` section, plus timing for tests. */
export interface BacnetSettings {
  readonly port: number
  readonly timeoutMs?: number
  readonly retries?: number
}

interface Connection {
  readonly host: string
  readonly port?: number
  readonly deviceInstance: number
}

const refOf = (device: DriverDevice): BacnetDeviceRef => {
  const c = device.connection as unknown as Connection
  return { address: `${c.host}:${c.port ?? 47808}`, deviceInstance: c.deviceInstance, code: device.code }
}

// Built once per device list, so the driver's per-device memory sees the same objects.
const cache = new WeakMap<readonly unknown[], BacnetPoint[]>()
const pointsOf = (device: DriverDevice): BacnetPoint[] => {
  const known = cache.get(device.points)
  if (known) return known
  const points = device.points.map((p) => {
    const { code, objectType, instance, property } = p as unknown as BacnetPoint
    return { code, objectType, instance, ...(property ? { property } : {}) }
  })
  cache.set(device.points, points)
  return points
}

export function createBacnetDeviceDriver(settings: BacnetSettings): DeviceDriver {
  const driver = new BacnetDriver({
    ...(settings.timeoutMs ? { timeoutMs: settings.timeoutMs } : {}),
    ...(settings.retries !== undefined ? { retries: settings.retries } : {}),
  })
  return {
    open: () => driver.open({ port: settings.port }),
    read: async (device, options) => {
      try {
        return await driver.read(refOf(device), pointsOf(device), options)
      } catch (error) {
        // Not open, or aborted before the first request: every point is bad, as the contract says.
        const ts = Date.now()
        const reason = (error as Error).message
        return device.points.map((p) => ({
          point: `${device.code}/${p.code}`,
          ts,
          value: null,
          quality: 'bad',
          reason,
        }))
      }
    },
    async subscribe(device, sink: PushSink) {
      const ref = refOf(device)
      const cancels: (() => Promise<void>)[] = []
      for (const point of pointsOf(device)) cancels.push(await driver.subscribeCov(ref, point, sink.reading))
      return async () => {
        for (const cancel of cancels) await cancel()
      }
    },
    listen: (sink) => driver.onEvent(sink.event),
    health: () => undefined,
    close: () => driver.close(),
  }
}

export const createDriver: DriverFactory = (settings) => createBacnetDeviceDriver(settings as BacnetSettings)
