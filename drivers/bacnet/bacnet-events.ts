/**
 * Event notifications (§13.8 ConfirmedEventNotification, §13.9 UnconfirmedEventNotification)
 * → DeviceEvent `alarm`. A device sends them to the recipients of its Notification Class objects
 * (§12.21), configured on the device, so they arrive unasked; the driver maps them to the device
 * and point codes it knows from reads and subscriptions.
 *
 * The library's decoder names the object fields `initiatingObjectId` / `eventObjectId` while its
 * type says `initiatingDeviceIdentifier` / `eventObjectIdentifier`: both are accepted.
 */
import type { DeviceEvent } from '../driver-types.ts'
import { eventStateName, eventTypeName, notifyTypeName, objectTypeName } from './bacnet-names.ts'

interface ObjectId {
  readonly type: number
  readonly instance: number
}

function asObjectId(v: unknown): ObjectId | undefined {
  const o = v as Partial<ObjectId> | null | undefined
  return typeof o?.type === 'number' && typeof o.instance === 'number'
    ? { type: o.type, instance: o.instance }
    : undefined
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** Names a source for an event: `<device code>/<point code>` when the point is known. */
export type SourceResolver = (deviceInstance: number | undefined, object: ObjectId) => string

export function eventNotificationToDeviceEvent(
  payload: unknown,
  resolveSource: SourceResolver,
  ts: number,
): DeviceEvent | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined
  const p = payload as Record<string, unknown>
  const object = asObjectId(p.eventObjectId ?? p.eventObjectIdentifier)
  const toState = num(p.toState)
  if (!object || toState === undefined) return undefined
  const device = asObjectId(p.initiatingObjectId ?? p.initiatingDeviceIdentifier)
  const fromState = num(p.fromState)
  const eventType = num(p.eventType)
  const notifyType = num(p.notifyType)
  const stamp = (p.timeStamp as { value?: unknown } | undefined)?.value
  const out: Record<string, unknown> = {
    objectType: objectTypeName(object.type),
    instance: object.instance,
    eventState: eventStateName(toState),
  }
  if (fromState !== undefined) out.fromState = eventStateName(fromState)
  if (eventType !== undefined) out.eventType = eventTypeName(eventType)
  if (notifyType !== undefined) out.notifyType = notifyTypeName(notifyType)
  if (num(p.priority) !== undefined) out.priority = p.priority
  if (num(p.notificationClass) !== undefined) out.notificationClass = p.notificationClass
  if (typeof p.ackRequired === 'boolean') out.ackRequired = p.ackRequired
  if (typeof p.messageText === 'string') out.messageText = p.messageText
  if (device) out.deviceInstance = device.instance
  if (num(p.processId) !== undefined) out.processId = p.processId
  if (stamp instanceof Date && !Number.isNaN(stamp.getTime())) out.deviceTime = stamp.toISOString()
  return { source: resolveSource(device?.instance, object), ts, type: 'alarm', payload: out }
}
