/**
 * The small shared vocabulary of drivers, the gateway and the hub's wire contract.
 * Drivers import nothing else of ours.
 */

export const qualities = ['good', 'uncertain', 'bad'] as const
export type Quality = (typeof qualities)[number]
/** counter: cumulative register billed from; gauge; state; event. */
export const pointKinds = ['counter', 'gauge', 'state', 'event'] as const
export type PointKind = (typeof pointKinds)[number]

export const dataTypes = [
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'bcd16',
  'bcd32',
  'bit',
  'bool',
  'string',
] as const
export type DataType = (typeof dataTypes)[number]

/** Registers a value of each multi-register type spans; every other type spans one. */
export const wideDataTypes: Readonly<Partial<Record<DataType, number>>> = {
  int32: 2,
  uint32: 2,
  float32: 2,
  bcd32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
}

/** How many registers (or coils / inputs) a point of this type occupies. */
export function registerSpan(dataType: DataType, length?: number): number {
  return dataType === 'string' ? (length ?? 1) : (wideDataTypes[dataType] ?? 1)
}

/**
 * Order of the bytes of a multi-register value as they arrive, A being the most significant:
 * ABCD big-endian (Modbus standard), CDAB word-swapped, BADC byte-swapped, DCBA little-endian.
 * For 64-bit values the same pattern applies per 16-bit word pair (ABCDEFGH, GHEFCDAB…).
 */
export const byteOrders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const
export type ByteOrder = (typeof byteOrders)[number]

/** A value as read, after decoding, scale and offset. */
export type PointValue = number | boolean | string

export interface Reading {
  /** `<device code>/<point code>`: unique on one gateway. */
  readonly point: string
  /** Milliseconds since the epoch, taken when the reply arrived. */
  readonly ts: number
  /** null when quality is bad (nothing trustworthy was read). */
  readonly value: PointValue | null
  readonly quality: Quality
  /** Why the quality is not good: a timeout, an exception code, a decode failure. */
  readonly reason?: string
}

export const deviceEventTypes = [
  'granted',
  'denied',
  'forced',
  'held_open',
  'tamper',
  'alarm_input',
  'state_change',
  'alarm',
] as const
export type DeviceEventType = (typeof deviceEventTypes)[number]

export interface DeviceEvent {
  /** `<device code>` or `<device code>/<point or door>`. */
  readonly source: string
  readonly ts: number
  readonly type: DeviceEventType
  readonly payload: Readonly<Record<string, unknown>>
}

export interface CancelOptions {
  readonly signal?: AbortSignal
}
