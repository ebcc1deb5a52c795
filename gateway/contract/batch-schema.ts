import { isUtf8 } from 'node:buffer'
import { type Static, Type } from 'typebox'
import type { DeviceEventType, Quality } from '../../drivers/driver-types.ts'
import { firstSchemaError } from './schema-error.ts'
import { GATEWAY_ID_PATTERN } from './topics.ts'
import { checkVersion, decodeJson, isRecord } from './wire-json.ts'

/** Limits of one uplink batch (docs/protocol.md § Limits). A gateway splits larger cycles. */
export const MAX_READINGS = 5_000
export const MAX_EVENTS = 1_000
/** Whole payload; 5,000 readings of long names and string values stay well under it. */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024
/** `<device code>/<point code>`: two 64-character codes and a slash, with room to spare. */
export const MAX_NAME_LENGTH = 200
export const MAX_STRING_VALUE_LENGTH = 1_024
export const MAX_REASON_LENGTH = 500
export const MAX_EVENT_PAYLOAD_KEYS = 64
export const SESSION_PATTERN = '^[A-Za-z0-9_-]{1,64}$'

// Records keyed by the union force these lists to match driver-types.ts exactly (a type added
// there fails to compile here until the protocol decides about it).
const qualities: Record<Quality, true> = { good: true, uncertain: true, bad: true }
const eventTypes: Record<DeviceEventType, true> = {
  granted: true,
  denied: true,
  forced: true,
  held_open: true,
  tamper: true,
  alarm_input: true,
  state_change: true,
  alarm: true,
}

const strict = { additionalProperties: false } as const
/** Milliseconds since the epoch; integers, so 0.5 ms never round-trips differently. */
const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })
const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const Name = Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH })

export const WireReadingSchema = Type.Object(
  {
    p: Name,
    t: EpochMs,
    v: Type.Union([
      Type.Number(),
      Type.Boolean(),
      Type.String({ maxLength: MAX_STRING_VALUE_LENGTH }),
      Type.Null(),
    ]),
    q: Type.Enum(Object.keys(qualities) as Quality[]),
    r: Type.Optional(Type.String({ maxLength: MAX_REASON_LENGTH })),
  },
  strict,
)

export const WireEventSchema = Type.Object(
  {
    s: Name,
    t: EpochMs,
    type: Type.Enum(Object.keys(eventTypes) as DeviceEventType[]),
    d: Type.Record(Type.String(), Type.Unknown(), { maxProperties: MAX_EVENT_PAYLOAD_KEYS }),
  },
  strict,
)

export const UplinkBatchSchema = Type.Object(
  {
    v: Type.Literal(1),
    gateway: Type.String({ pattern: GATEWAY_ID_PATTERN }),
    /** Random per gateway process start; the same value is in the retained status message. */
    session: Type.String({ pattern: SESSION_PATTERN }),
    /** Strictly increasing per gateway, across restarts; the hub de-duplicates by it. */
    seq: Seq,
    /**
     * The oldest seq the gateway still held when it sealed this batch: every seq below it was
     * acknowledged, or will never be sent. Lets a hub behind a shared subscription compute a
     * contiguous committed mark across gaps (docs/protocol.md § Acknowledgements). ≤ seq.
     */
    oldest: Seq,
    /** When the gateway sealed the batch (not when this copy was sent: resends are identical). */
    sentAt: EpochMs,
    /** Sealed while the uplink was disconnected, so replayed late (Sparkplug's is_historical). */
    historical: Type.Boolean(),
    readings: Type.Array(WireReadingSchema, { maxItems: MAX_READINGS }),
    events: Type.Array(WireEventSchema, { maxItems: MAX_EVENTS }),
  },
  strict,
)

export type WireReading = Static<typeof WireReadingSchema>
export type WireEvent = Static<typeof WireEventSchema>
export type UplinkBatch = Static<typeof UplinkBatchSchema>

export type ParsedBatch =
  | { readonly ok: true; readonly batch: UplinkBatch }
  | { readonly ok: false; readonly error: string }

/**
 * Validates one payload from a batch topic. Never throws: a bad payload is answered with the
 * first problem and where it is (`/readings/12/q: must be one of "good", "uncertain", "bad"`).
 */
export function parseBatch(bytes: Uint8Array | string): ParsedBatch {
  // Decoding would turn invalid bytes into U+FFFD and store text the gateway never sent.
  if (typeof bytes !== 'string' && bytes.byteLength <= MAX_BATCH_BYTES && !isUtf8(bytes))
    return { ok: false, error: '(root): not UTF-8 text' }
  const json = decodeJson(bytes, MAX_BATCH_BYTES)
  if (!json.ok) return json
  const value = json.value
  const versionError = checkVersion(value)
  if (versionError !== undefined) return { ok: false, error: versionError }
  // Count before validating items: 100,000 readings fail fast instead of being checked one by one.
  const tooMany = countError(value, 'readings', MAX_READINGS) ?? countError(value, 'events', MAX_EVENTS)
  if (tooMany !== undefined) return { ok: false, error: tooMany }
  const error = firstSchemaError(UplinkBatchSchema, value)
  if (error !== undefined) return { ok: false, error }
  const batch = value as UplinkBatch
  if (batch.oldest > batch.seq) return { ok: false, error: `/oldest: must be ≤ seq (${batch.seq})` }
  return { ok: true, batch }
}

function countError(value: unknown, key: 'readings' | 'events', max: number): string | undefined {
  if (!isRecord(value)) return undefined
  const list = value[key]
  if (!Array.isArray(list) || list.length <= max) return undefined
  return `/${key}: has too many items (${list.length}, at most ${max})`
}

export function encodeBatch(batch: UplinkBatch): Buffer {
  return Buffer.from(JSON.stringify(batch), 'utf8')
}
