/**
 * The one contract every protocol's driver offers the gateway (docs/architecture.md), in the
 * spirit of EdgeX's ProtocolDriver: open, read a device's points (never throwing: trouble is
 * a bad reading with a reason), subscribe to what the device pushes, write later, health,
 * close. The gateway holds one driver per protocol family and names no protocol itself.
 */
import type { CancelOptions, DeviceEvent, PointKind, PointValue, Reading } from '../driver-types.ts'

/** A point as the gateway config lists it: common keys plus the protocol's own address keys. */
export interface DriverPoint {
  readonly code: string
  readonly kind: PointKind
  readonly unit?: string
  readonly [key: string]: unknown
}

/** One configured device: its protocol name, connection (checked by the protocol's schema), points. */
export interface DriverDevice<C = Readonly<Record<string, unknown>>, P extends DriverPoint = DriverPoint> {
  readonly code: string
  readonly protocol: string
  readonly connection: C
  readonly points: readonly P[]
}

/** Where pushed values go: readings (BACnet COV) and events (alarms, access webhooks). */
export interface PushSink {
  reading(reading: Reading): void
  event(event: DeviceEvent): void
}

/** Liveness of one device as its driver sees it. */
export interface DeviceHealth {
  readonly online: boolean
  readonly consecutiveFailures?: number
  readonly lastOkAt?: number | null
}

export interface DeviceDriver {
  /** Binds sockets or servers the family needs before any read (a BACnet UDP port, a receiver). */
  open(options?: CancelOptions): Promise<void>
  /** One reading per point, bad with a reason when it could not be read. Never throws. */
  read(device: DriverDevice, options?: CancelOptions): Promise<Reading[]>
  /**
   * Points the device pushes (the family's `pushed` points): resolves once the device
   * accepted, with the cancellation. Throws when the device refuses.
   */
  subscribe?(device: DriverDevice, sink: PushSink, options?: CancelOptions): Promise<() => Promise<void>>
  /** Events the family receives unasked (alarm notifications, webhooks); returns the removal. */
  listen?(sink: PushSink): () => void
  /** Writes one point (commands, later). Throws a coded error. */
  write?(device: DriverDevice, point: string, value: PointValue, options?: CancelOptions): Promise<void>
  /** undefined: the family does not track liveness (reported as unknown, not offline). */
  health?(device: string): DeviceHealth | undefined
  /** Fails what is still queued and releases every socket. */
  close(): Promise<void>
}
