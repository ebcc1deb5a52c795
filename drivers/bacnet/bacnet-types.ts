/** The BACnet/IP driver's own vocabulary: devices, points, options. */

export interface BacnetDeviceRef {
  /** `host:port` (or `host`, meaning the standard port 47808). */
  readonly address: string
  /** Device object instance, 0–4194302 (§12.11 Device, Object_Identifier). */
  readonly deviceInstance: number
  /** The device's Max_APDU_Length_Accepted (from I-Am); default 480, safe behind MS/TP routers. */
  readonly maxApdu?: number
  /** Device code for `Reading.point` and `DeviceEvent.source`; default `bacnet-<instance>`. */
  readonly code?: string
}

export interface BacnetPoint {
  /** Point code, unique within its device. */
  readonly code: string
  /** Object type as ASHRAE 135 §21 spells it: `analog-input`, `binary-value`, `multi-state-value`… */
  readonly objectType: string
  readonly instance: number
  /** Property to read; default `present-value`. */
  readonly property?: string
}

export interface BacnetDriverOptions {
  /**
   * Time to wait for each confirmed request, in ms (APDU_Timeout, §12.11.27); default 3000.
   * The library applies one timeout to the whole client.
   */
  readonly timeoutMs?: number
  /** Extra attempts after a timeout, same invoke id (Number_Of_APDU_Retries, §5.4.4.1); default 1. */
  readonly retries?: number
  /** Confirmed requests in flight over the whole driver; default 16, at most 200. */
  readonly maxInFlight?: number
  /** Confirmed requests in flight to one device; default 2 (small controllers queue poorly). */
  readonly maxInFlightPerDevice?: number
  /** Objects per ReadPropertyMultiple at most, whatever the APDU size allows; default 20. */
  readonly maxObjectsPerRequest?: number
  /** After a device refused ReadPropertyMultiple, try it again after this long; default 1 h. */
  readonly rpmReprobeMs?: number
}

export interface BacnetOpenOptions {
  /** Our own UDP port. Must differ from any device on the same host (loopback tests). */
  readonly port: number
  /** Local address to bind; default all interfaces. */
  readonly interface?: string
  /** Where broadcast Who-Is goes; default 255.255.255.255. */
  readonly broadcastAddress?: string
}

export interface DiscoverOptions {
  readonly timeoutMs: number
  /** Addresses (`host:port`) to send a unicast Who-Is to, beside the broadcast. */
  readonly addresses?: readonly string[]
  /** Send the broadcast Who-Is too; default true. */
  readonly broadcast?: boolean
  /** Device instance range (§16.10.1.1 Who-Is limits). */
  readonly lowLimit?: number
  readonly highLimit?: number
}

export interface DiscoveredDevice {
  readonly deviceInstance: number
  readonly address: string
  readonly vendorId: number
  readonly maxApdu: number
  /** `segmented-both`, `segmented-transmit`, `segmented-receive`, `no-segmentation`. */
  readonly segmentation: string
}

export interface CovOptions {
  /** Subscription lifetime in seconds (§13.14.1.1.4); renewed at half of it. Default 300. */
  readonly lifetimeSeconds?: number
  /** Ask for confirmed notifications (acknowledged by us); default true. */
  readonly confirmed?: boolean
}

/** Cancels a COV subscription: stops renewal and sends a cancellation (§13.14.1.1.3). */
export type CancelSubscription = () => Promise<void>
