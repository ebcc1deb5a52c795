/**
 * BACnet/IP driver (ASHRAE 135 Annex J): discovery (§16.10 Who-Is / I-Am), batched reads
 * (§15.7 ReadPropertyMultiple, §15.5 ReadProperty), change-of-value subscriptions (§13.14) and
 * event notifications (§13.8, §13.9), on one UDP port of its own.
 *
 * DeviceEvents (alarms from event notifications, `state_change` of binary-inputs seen on COV)
 * go to the listeners registered with `onEvent`.
 */
import type { CancelOptions, DeviceEvent, Reading } from '../driver-types.ts'
import { type BacnetClient, closeBacnetClient, openBacnetClient } from './bacnet-client.ts'
import { CovManager } from './bacnet-cov.ts'
import { BacnetErrorCode } from './bacnet-errors.ts'
import { eventNotificationToDeviceEvent } from './bacnet-events.ts'
import { type IdentityCheck, verifyIdentity } from './bacnet-identity.ts'
import { normalizeAddress, objectTypeId, segmentationName } from './bacnet-names.ts'
import { type DeviceMemory, deviceCode, readPoints } from './bacnet-reader.ts'
import { RequestGate } from './bacnet-request-gate.ts'
import type {
  BacnetDeviceRef,
  BacnetDriverOptions,
  BacnetOpenOptions,
  BacnetPoint,
  CancelSubscription,
  CovOptions,
  DiscoveredDevice,
  DiscoverOptions,
} from './bacnet-types.ts'
import { badReading } from './bacnet-values.ts'

const MAX_INSTANCE = 4194303

interface Resolved {
  readonly timeoutMs: number
  readonly retries: number
  readonly maxInFlight: number
  readonly maxInFlightPerDevice: number
  readonly maxObjectsPerRequest: number
  readonly rpmReprobeMs: number
}

/** Who sent a service request, as the library reports it. */
interface ServiceContent {
  readonly header?: { readonly sender?: { readonly address?: string }; readonly confirmedService?: boolean }
  readonly service?: number
  readonly invokeId?: number
  readonly payload?: unknown
}

export class BacnetDriver {
  readonly protocol = 'bacnet-ip' as const
  readonly #opts: Resolved
  readonly #gate: RequestGate
  readonly #memory = new Map<string, DeviceMemory>()
  readonly #listeners = new Set<(e: DeviceEvent) => void>()
  /** device instance → its code and the point codes of its objects, for naming events. */
  readonly #known = new Map<number, { code: string; points: Map<string, string> }>()
  #client?: BacnetClient
  #cov?: CovManager
  #closed = false

  constructor(opts: BacnetDriverOptions = {}) {
    this.#opts = {
      timeoutMs: opts.timeoutMs ?? 3000,
      retries: opts.retries ?? 1,
      maxInFlight: opts.maxInFlight ?? 16,
      maxInFlightPerDevice: opts.maxInFlightPerDevice ?? 2,
      maxObjectsPerRequest: opts.maxObjectsPerRequest ?? 20,
      rpmReprobeMs: opts.rpmReprobeMs ?? 3_600_000,
    }
    this.#gate = new RequestGate(this.#opts)
  }

  async open(opts: BacnetOpenOptions): Promise<void> {
    if (this.#client) throw new Error('BacnetDriver is already open')
    const client = await openBacnetClient({ ...opts, apduTimeoutMs: this.#opts.timeoutMs })
    this.#client = client
    this.#closed = false
    // Socket errors (a broadcast the network refuses, an unreachable port) must not crash us;
    // the requests concerned time out and say so in their readings.
    client.on('error', () => {})
    this.#cov = new CovManager({
      client,
      gate: this.#gate,
      timeoutMs: this.#opts.timeoutMs,
      emitEvent: (e) => this.#emit(e),
    })
    client.on('covNotify', (c) => this.#onCov(c, true))
    client.on('covNotifyUnconfirmed', (c) => this.#onCov(c, false))
    client.on('eventNotify', (c) => this.#onEventNotification(c))
  }

  /** Who-Is (§16.10) broadcast and to each configured address; collects I-Am replies. */
  async discover(opts: DiscoverOptions): Promise<DiscoveredDevice[]> {
    const client = this.#requireClient()
    const found = new Map<string, DiscoveredDevice>()
    const low = opts.lowLimit ?? (opts.highLimit !== undefined ? 0 : undefined)
    const high = opts.highLimit ?? (opts.lowLimit !== undefined ? MAX_INSTANCE : undefined)
    const onIAm = (c: ServiceContent): void => {
      const p = c.payload as
        | Partial<Record<'deviceId' | 'maxApdu' | 'segmentation' | 'vendorId', number>>
        | undefined
      const from = c.header?.sender?.address
      if (!from || typeof p?.deviceId !== 'number') return
      if (low !== undefined && high !== undefined && (p.deviceId < low || p.deviceId > high)) return
      const address = normalizeAddress(from)
      found.set(`${p.deviceId}@${address}`, {
        deviceInstance: p.deviceId,
        address,
        vendorId: p.vendorId ?? 0,
        maxApdu: p.maxApdu ?? 0,
        segmentation: segmentationName(p.segmentation ?? 3),
      })
    }
    client.on('iAm', onIAm)
    try {
      const limits = low !== undefined && high !== undefined ? { lowLimit: low, highLimit: high } : {}
      if (opts.broadcast !== false) client.whoIs(undefined, limits)
      for (const a of opts.addresses ?? []) client.whoIs({ address: normalizeAddress(a) }, limits)
      await new Promise((resolve) => setTimeout(resolve, opts.timeoutMs))
    } finally {
      client.off('iAm', onIAm)
    }
    return [...found.values()].sort((a, b) => a.deviceInstance - b.deviceInstance)
  }

  /**
   * Reads points of one device. Never throws for device trouble: every point gets a reading,
   * bad with a reason when it could not be read.
   */
  async read(
    device: BacnetDeviceRef,
    points: readonly BacnetPoint[],
    opts: CancelOptions = {},
  ): Promise<Reading[]> {
    opts.signal?.throwIfAborted()
    const client = this.#requireClient()
    this.#remember(device, points)
    const memory = this.#memoryOf(device)
    const identity = await this.#identity(device, memory)
    if (!identity.ok) {
      // Nothing of another device (or of one that would not say who it is) reads as this one's.
      const ts = Date.now()
      return points.map((p) => badReading(`${deviceCode(device)}/${p.code}`, ts, identity.reason))
    }
    const readings = await readPoints(
      {
        client,
        gate: this.#gate,
        timeoutMs: this.#opts.timeoutMs,
        maxObjectsPerRequest: this.#opts.maxObjectsPerRequest,
        rpmReprobeMs: this.#opts.rpmReprobeMs,
        memory,
        isClosed: () => this.#closed,
      },
      device,
      points,
    )
    // Silent in this read: whatever answers at the address next is checked again (a reconnect).
    if (readings.some((r) => r.reason?.startsWith(BacnetErrorCode.timeout))) memory.identity = undefined
    return readings
  }

  /** Subscribes to changes of a point's present-value; resolves once the device accepted. */
  async subscribeCov(
    device: BacnetDeviceRef,
    point: BacnetPoint,
    onReading: (r: Reading) => void,
    opts: CovOptions = {},
  ): Promise<CancelSubscription> {
    this.#requireClient()
    this.#remember(device, [point])
    const identity = await this.#identity(device, this.#memoryOf(device))
    if (!identity.ok) throw new Error(identity.reason)
    return this.#cov!.subscribe(device, point, onReading, opts)
  }

  /** Registers a listener for DeviceEvents; returns its removal. */
  onEvent(listener: (e: DeviceEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Cancels COV subscriptions (best effort), then closes the socket. */
  async close(): Promise<void> {
    const client = this.#client
    if (!client) return
    await this.#cov?.cancelAll()
    this.#closed = true
    this.#client = undefined
    this.#cov = undefined
    await closeBacnetClient(client)
  }

  #memoryOf(device: BacnetDeviceRef): DeviceMemory {
    const key = `${normalizeAddress(device.address)}|${device.deviceInstance}`
    let memory = this.#memory.get(key)
    if (!memory) {
      memory = {}
      this.#memory.set(key, memory)
    }
    return memory
  }

  /**
   * The device's identity check, shared by concurrent reads. Only a device that proved it is
   * remembered: a wrong or silent one is asked again on the next read (it may have been swapped).
   */
  async #identity(device: BacnetDeviceRef, memory: DeviceMemory): Promise<IdentityCheck> {
    memory.identity ??= verifyIdentity(
      {
        client: this.#requireClient(),
        gate: this.#gate,
        timeoutMs: this.#opts.timeoutMs,
        isClosed: () => this.#closed,
      },
      device,
    )
    const pending = memory.identity
    const check = await pending
    if (!check.ok && memory.identity === pending) memory.identity = undefined
    return check
  }

  #requireClient(): BacnetClient {
    if (!this.#client || this.#closed) throw new Error(`${BacnetErrorCode.closed}: driver not open`)
    return this.#client
  }

  #remember(device: BacnetDeviceRef, points: readonly BacnetPoint[]): void {
    let known = this.#known.get(device.deviceInstance)
    if (!known) {
      known = { code: deviceCode(device), points: new Map() }
      this.#known.set(device.deviceInstance, known)
    }
    for (const p of points) {
      const type = objectTypeId(p.objectType)
      if (type !== undefined && !known.points.has(`${type}:${p.instance}`)) {
        known.points.set(`${type}:${p.instance}`, p.code)
      }
    }
  }

  #emit(e: DeviceEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(e)
      } catch {
        // a listener's failure is its own; the others still hear the event
      }
    }
  }

  // §13.6: a confirmed notification is acknowledged with a SimpleACK.
  #ack(c: ServiceContent): void {
    const sender = c.header?.sender
    if (
      !c.header?.confirmedService ||
      !sender?.address ||
      c.service === undefined ||
      c.invokeId === undefined
    )
      return
    this.#client?.simpleAckResponse({ address: sender.address }, c.service, c.invokeId)
  }

  #onCov(c: ServiceContent, confirmed: boolean): void {
    if (confirmed) this.#ack(c)
    const from = c.header?.sender?.address
    if (from) this.#cov?.handleNotification(from, c.payload)
  }

  #onEventNotification(c: ServiceContent): void {
    this.#ack(c)
    const event = eventNotificationToDeviceEvent(
      c.payload,
      (deviceInstance, object) => {
        const known = deviceInstance === undefined ? undefined : this.#known.get(deviceInstance)
        const code = known?.code ?? `bacnet-${deviceInstance ?? 'unknown'}`
        const point = known?.points.get(`${object.type}:${object.instance}`)
        return point ? `${code}/${point}` : code
      },
      Date.now(),
    )
    if (event) this.#emit(event)
  }
}
