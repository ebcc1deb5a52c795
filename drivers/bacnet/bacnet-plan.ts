/**
 * Plans ReadPropertyMultiple requests (§15.7): points in, the fewest requests out, each reply
 * small enough for the device's Max_APDU_Length_Accepted so that it never needs segmenting.
 * (The library requests segmented replies whatever we ask, and reassembles them in one buffer
 * shared by all peers: a segmented reply is something to avoid, not to rely on.)
 *
 * Each object is read with Status_Flags beside the wanted properties, for the quality.
 * Reply size per object (§20.2 encoding of ReadAccessResult):
 *   object id [0] 5 + opening/closing [1] 2, and per property: identifier [2] 2–3, opening/
 *   closing [4] 2, the value (REAL 5, DOUBLE 9, status-flags bit string 3, strings: guessed 64).
 *   An error result ([5] with class and code) takes 6, less than a value.
 */
import { ObjectType, PropertyIdentifier } from '@bacnet-js/client'

export interface PlannedPoint {
  /** Index into the caller's point list. */
  readonly index: number
  readonly objectType: number
  readonly instance: number
  readonly propertyId: number
}

export interface PlannedObject {
  readonly objectType: number
  readonly instance: number
  /** Property ids to read, wanted ones first, Status_Flags last when asked for. */
  readonly propertyIds: readonly number[]
  readonly points: readonly PlannedPoint[]
}

export type RpmBatch = readonly PlannedObject[]

/** Complex-ACK header (3) and room for a miscount. */
const APDU_OVERHEAD = 3 + 8

const stringProperties: ReadonlySet<number> = new Set([
  PropertyIdentifier.OBJECT_NAME,
  PropertyIdentifier.DESCRIPTION,
  PropertyIdentifier.STATE_TEXT,
  PropertyIdentifier.ACTIVE_TEXT,
  PropertyIdentifier.INACTIVE_TEXT,
  PropertyIdentifier.DEVICE_TYPE,
  PropertyIdentifier.VENDOR_NAME,
  PropertyIdentifier.MODEL_NAME,
  PropertyIdentifier.LOCATION,
  PropertyIdentifier.PROFILE_NAME,
])

const stringObjects: ReadonlySet<number> = new Set([
  ObjectType.CHARACTERSTRING_VALUE,
  ObjectType.OCTETSTRING_VALUE,
])

function valueBytes(objectType: number, propertyId: number): number {
  if (propertyId === PropertyIdentifier.STATUS_FLAGS) return 3
  if (stringProperties.has(propertyId)) return 64
  if (propertyId === PropertyIdentifier.PRESENT_VALUE && stringObjects.has(objectType)) return 64
  return 9
}

export function estimateObjectReplyBytes(o: Pick<PlannedObject, 'objectType' | 'propertyIds'>): number {
  let bytes = 5 + 2
  for (const id of o.propertyIds) bytes += (id < 256 ? 2 : 3) + 2 + valueBytes(o.objectType, id)
  return bytes
}

/** The max APDU a batch of these objects needs, by the same estimate the planner uses. */
export function apduNeeded(objects: readonly Pick<PlannedObject, 'objectType' | 'propertyIds'>[]): number {
  return objects.reduce((sum, o) => sum + estimateObjectReplyBytes(o), APDU_OVERHEAD)
}

/** Objects without Status_Flags: reading it would only add an error to the reply. */
const noStatusFlags: ReadonlySet<number> = new Set([
  ObjectType.DEVICE,
  ObjectType.NOTIFICATION_CLASS,
  ObjectType.FILE,
])

export function wantsStatusFlags(objectType: number): boolean {
  return !noStatusFlags.has(objectType)
}

/** Groups points by object, keeping first-seen order. */
export function groupByObject(points: readonly PlannedPoint[]): PlannedObject[] {
  const byKey = new Map<
    string,
    { objectType: number; instance: number; ids: number[]; points: PlannedPoint[] }
  >()
  for (const p of points) {
    const key = `${p.objectType}:${p.instance}`
    let o = byKey.get(key)
    if (!o) {
      o = { objectType: p.objectType, instance: p.instance, ids: [], points: [] }
      byKey.set(key, o)
    }
    if (!o.ids.includes(p.propertyId)) o.ids.push(p.propertyId)
    o.points.push(p)
  }
  return [...byKey.values()].map((o) => {
    const ids = o.ids.filter((id) => id !== PropertyIdentifier.STATUS_FLAGS)
    if (wantsStatusFlags(o.objectType) || o.ids.includes(PropertyIdentifier.STATUS_FLAGS)) {
      ids.push(PropertyIdentifier.STATUS_FLAGS)
    }
    return { objectType: o.objectType, instance: o.instance, propertyIds: ids, points: o.points }
  })
}

/**
 * Splits objects into batches whose estimated reply fits `maxApdu` and that hold at most
 * `maxObjects` objects. An object that alone is too big still gets a batch of its own: the
 * device may answer it, and if not, the reader falls back to ReadProperty.
 */
export function planRpmBatches(
  objects: readonly PlannedObject[],
  maxApdu: number,
  maxObjects: number,
): RpmBatch[] {
  const budget = Math.max(maxApdu - APDU_OVERHEAD, 1)
  const limit = Math.max(1, Math.floor(maxObjects))
  const batches: PlannedObject[][] = []
  let current: PlannedObject[] = []
  let used = 0
  for (const o of objects) {
    const size = estimateObjectReplyBytes(o)
    if (current.length > 0 && (used + size > budget || current.length >= limit)) {
      batches.push(current)
      current = []
      used = 0
    }
    current.push(o)
    used += size
  }
  if (current.length > 0) batches.push(current)
  return batches
}
