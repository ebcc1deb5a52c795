/**
 * Access controllers behind the common DeviceDriver contract: nothing is polled; the webhook
 * receiver (access-receiver.ts) is opened with the gateway's `access` section and its events
 * go to whoever listens.
 */

import type { DeviceDriver, PushSink } from '../contract/device-driver.ts'
import type { DriverFactory } from '../contract/protocol-definition.ts'
import type { DeviceEvent } from '../driver-types.ts'
import { type AccessReceiver, type AccessReceiverOptions, startAccessReceiver } from './access-receiver.ts'

export type AccessSettings = Omit<AccessReceiverOptions, 'onEvent'>

export function createAccessDeviceDriver(settings: AccessSettings): DeviceDriver {
  const sinks = new Set<PushSink>()
  let receiver: AccessReceiver | undefined
  const onEvent = async (event: DeviceEvent) => {
    for (const sink of sinks) sink.event(event)
  }
  return {
    async open() {
      receiver = await startAccessReceiver({ ...settings, onEvent })
    },
    // Controllers push; a door has nothing to poll.
    read: async () => [],
    listen(sink) {
      sinks.add(sink)
      return () => sinks.delete(sink)
    },
    health: () => undefined,
    async close() {
      await receiver?.close()
      receiver = undefined
    },
  }
}

export const createDriver: DriverFactory = (settings) => createAccessDeviceDriver(settings as AccessSettings)
