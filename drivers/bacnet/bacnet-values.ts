/**
 * Pure decoding: the library's application-tagged values (§20.2 Application Tags) → our point
 * values, Status_Flags → quality, and both → a `Reading`.
 *
 * Quality from Status_Flags (§12, e.g. §12.2.9 Analog Input; bits per §21 BACnetStatusFlags):
 * - FAULT → `bad`, value null. FAULT means Reliability is not NO_FAULT_DETECTED: the sensor or
 *   the controller itself says the value is not to be trusted (open circuit, over-range…).
 * - OUT_OF_SERVICE → `uncertain`, value kept: Present_Value is decoupled from the physical input
 *   and may have been written by hand.
 * - IN_ALARM → `uncertain`, value kept: Event_State is not NORMAL. The value was measured, so it
 *   is not dropped, but a consumer that averages or bills only `good` values should not take it
 *   blindly; the alarm itself arrives as a DeviceEvent when the device notifies us.
 * - OVERRIDDEN → no effect: the value is real, set by a local hand/off/auto switch.
 * The worst wins; every raised flag is named in `reason`.
 */
import { ApplicationTag, ObjectType, PropertyIdentifier } from '@bacnet-js/client'
import type { PointValue, Quality, Reading } from '../driver-types.ts'
import { float32Decimal } from '../float32-decimal.ts'
import { BacnetErrorCode } from './bacnet-errors.ts'
import { errorName } from './bacnet-names.ts'

export interface StatusFlags {
  readonly inAlarm: boolean
  readonly fault: boolean
  readonly overridden: boolean
  readonly outOfService: boolean
}

interface TaggedValue {
  readonly type: number
  readonly value: unknown
}

function isTagged(v: unknown): v is TaggedValue {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'number'
}

function bit(bytes: readonly number[], n: number): boolean {
  return (((bytes[n >> 3] ?? 0) >> (n & 7)) & 1) === 1
}

/** Status_Flags from a property value list; undefined when absent or not a bit string. */
export function decodeStatusFlags(values: readonly unknown[] | undefined): StatusFlags | undefined {
  const first = values?.[0]
  if (!isTagged(first) || first.type !== ApplicationTag.BIT_STRING) return undefined
  const bits = (first.value as { value?: unknown } | null)?.value
  if (!Array.isArray(bits) || !bits.every((b) => typeof b === 'number')) return undefined
  // bit 0 in-alarm, 1 fault, 2 overridden, 3 out-of-service (§21 BACnetStatusFlags)
  return { inAlarm: bit(bits, 0), fault: bit(bits, 1), overridden: bit(bits, 2), outOfService: bit(bits, 3) }
}

/** The Error a ReadPropertyMultiple result carries instead of a value (§15.7.2.2), if any. */
export function propertyError(values: readonly unknown[] | undefined): string | undefined {
  const first = values?.[0]
  if (!isTagged(first) || first.type !== ApplicationTag.ERROR) return undefined
  const err = first.value as { errorClass?: unknown; errorCode?: unknown } | null
  return errorName(Number(err?.errorClass ?? -1), Number(err?.errorCode ?? -1))
}

export type Decoded =
  | { readonly ok: true; readonly value: PointValue }
  | { readonly ok: false; readonly reason: string }

const binaryTypes: ReadonlySet<number> = new Set([
  ObjectType.BINARY_INPUT,
  ObjectType.BINARY_OUTPUT,
  ObjectType.BINARY_VALUE,
])

function decodeOne(objectType: number, propertyId: number, v: TaggedValue): Decoded {
  switch (v.type) {
    case ApplicationTag.REAL:
      return typeof v.value === 'number' ? { ok: true, value: float32Decimal(v.value) } : bad('not a number')
    case ApplicationTag.DOUBLE:
    case ApplicationTag.UNSIGNED_INTEGER:
    case ApplicationTag.SIGNED_INTEGER:
      return typeof v.value === 'number' ? { ok: true, value: v.value } : bad('not a number')
    case ApplicationTag.BOOLEAN:
      return { ok: true, value: Boolean(v.value) }
    case ApplicationTag.ENUMERATED:
      if (typeof v.value !== 'number') return bad('not an enumeration')
      // Binary Present_Value is BACnetBinaryPV: inactive (0) / active (1) (§21)
      if (binaryTypes.has(objectType) && propertyId === PropertyIdentifier.PRESENT_VALUE) {
        return { ok: true, value: v.value === 1 }
      }
      return { ok: true, value: v.value }
    case ApplicationTag.CHARACTER_STRING:
      return typeof v.value === 'string' ? characterString(v.value) : bad('not a string')
    case ApplicationTag.NULL:
      return bad('NULL value')
    case ApplicationTag.ERROR:
      return bad('error in place of a value')
    default:
      return bad(`unsupported application tag ${v.type}`)
  }
}

// A high surrogate not followed by a low one, or a low one without a high one before it.
const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Trailing NULs are padding some devices send in a fixed-size name; a NUL before them, or a
 * lone UTF-16 surrogate (a UCS-2 string cut in half), is not text the hub can store: bad.
 */
function characterString(text: string): Decoded {
  const trimmed = text.replace(/\0+$/, '')
  const nul = trimmed.indexOf('\0')
  if (nul >= 0) return bad(`character string holds a NUL at offset ${nul}, before its end`)
  if (UNPAIRED.test(trimmed)) return bad('character string holds an unpaired UTF-16 surrogate')
  return { ok: true, value: trimmed }
}

function bad(detail: string): Decoded {
  return { ok: false, reason: `${BacnetErrorCode.decode}: ${detail}` }
}

/** One property value (a list of application-tagged values) → a point value. */
export function decodeValue(objectType: number, propertyId: number, values: readonly unknown[]): Decoded {
  const err = propertyError(values)
  if (err) return { ok: false, reason: `${BacnetErrorCode.error}: ${err}` }
  if (values.length !== 1) return bad(`${values.length} values where one was expected`)
  const only = values[0]
  return isTagged(only) ? decodeOne(objectType, propertyId, only) : bad('untagged value')
}

export function qualityFromFlags(flags: StatusFlags | undefined): { quality: Quality; reasons: string[] } {
  if (!flags) return { quality: 'good', reasons: [] }
  const reasons: string[] = []
  let quality: Quality = 'good'
  if (flags.fault) {
    quality = 'bad'
    reasons.push('fault')
  }
  if (flags.outOfService) {
    if (quality === 'good') quality = 'uncertain'
    reasons.push('out-of-service')
  }
  if (flags.inAlarm) {
    if (quality === 'good') quality = 'uncertain'
    reasons.push('in-alarm')
  }
  return { quality, reasons }
}

/** A reading from a decoded value and the object's status flags. */
export function toReading(
  point: string,
  ts: number,
  decoded: Decoded,
  flags: StatusFlags | undefined,
): Reading {
  if (!decoded.ok) return { point, ts, value: null, quality: 'bad', reason: decoded.reason }
  const { quality, reasons } = qualityFromFlags(flags)
  if (quality === 'good') return { point, ts, value: decoded.value, quality }
  const reason = `${BacnetErrorCode.flagged}: status-flags ${reasons.join(', ')}`
  return { point, ts, value: quality === 'bad' ? null : decoded.value, quality, reason }
}

export function badReading(point: string, ts: number, reason: string): Reading {
  return { point, ts, value: null, quality: 'bad', reason }
}
