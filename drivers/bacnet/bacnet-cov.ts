/**
 * Change-of-value subscriptions (§13.1 COV reporting, §13.14 SubscribeCOV): subscribe, renew at
 * half the lifetime (so one lost renewal can be retried before the device forgets us), cancel,
 * and turn notifications (§13.6 Confirmed / §13.7 Unconfirmed COVNotification) into readings.
 * A binary-input whose Present_Value changes between notifications also yields a DeviceEvent
 * `state_change` (the first notification after subscribing only sets the baseline).
 */
import { ObjectType } from '@bacnet-js/client'
import type { DeviceEvent, Reading } from '../driver-types.ts'
import type { BacnetClient } from './bacnet-client.ts'
import { BacnetErrorCode, classifyFailure, failureReason } from './bacnet-errors.ts'
import { normalizeAddress, objectTypeId, objectTypeName, propertyId } from './bacnet-names.ts'
import { deviceCode } from './bacnet-reader.ts'
import type { RequestGate } from './bacnet-request-gate.ts'
import type { BacnetDeviceRef, BacnetPoint, CancelSubscription, CovOptions } from './bacnet-types.ts'
import { badReading, decodeStatusFlags, decodeValue, toReading } from './bacnet-values.ts'

const PRESENT_VALUE = 85
const STATUS_FLAGS = 111

export interface CovContext {
  readonly client: BacnetClient
  readonly gate: RequestGate
  readonly timeoutMs: number
  readonly emitEvent: (e: DeviceEvent) => void
}

interface Subscription {
  readonly address: string
  readonly processId: number
  readonly objectType: number
  readonly instance: number
  readonly pointName: string
  readonly deviceInstance: number
  readonly lifetimeSeconds: number
  readonly confirmed: boolean
  readonly onReading: (r: Reading) => void
  timer?: NodeJS.Timeout
  lastValue?: unknown
  renewalFailing: boolean
}

/** The parts of a COV notification we use; the library's payload is loosely typed. */
interface CovNotification {
  readonly subscriberProcessId: number
  readonly monitoredObjectId: { readonly type: number; readonly instance: number }
  readonly values: ReadonlyArray<{
    readonly property: { readonly id: number }
    readonly value: readonly unknown[]
  }>
}

function asNotification(payload: unknown): CovNotification | undefined {
  const p = payload as Partial<CovNotification> | null
  if (typeof p?.subscriberProcessId !== 'number' || typeof p.monitoredObjectId?.type !== 'number')
    return undefined
  return Array.isArray(p.values) ? (p as CovNotification) : undefined
}

/** A subscriber's callback runs inside the library's receive path: its failure stays its own. */
function deliver(sub: Subscription, r: Reading): void {
  try {
    sub.onReading(r)
  } catch {
    // ignored on purpose: a throwing callback must not break the socket's message handling
  }
}

export class CovManager {
  readonly #ctx: CovContext
  readonly #subs = new Map<string, Subscription>()
  #nextProcessId = 1

  constructor(ctx: CovContext) {
    this.#ctx = ctx
  }

  get size(): number {
    return this.#subs.size
  }

  async subscribe(
    device: BacnetDeviceRef,
    point: BacnetPoint,
    onReading: (r: Reading) => void,
    opts: CovOptions = {},
  ): Promise<CancelSubscription> {
    const objectType = objectTypeId(point.objectType)
    if (objectType === undefined)
      throw new Error(`${BacnetErrorCode.point}: unknown object type "${point.objectType}"`)
    if (propertyId(point.property ?? 'present-value') !== PRESENT_VALUE) {
      throw new Error(
        `${BacnetErrorCode.cov}: SubscribeCOV reports present-value only (§13.1); got ${point.property}`,
      )
    }
    const lifetimeSeconds = Math.max(1, Math.round(opts.lifetimeSeconds ?? 300))
    // Process ids are ours to choose (§13.14.1.1.1); unique per driver keeps matching simple.
    const processId = this.#nextProcessId++
    const sub: Subscription = {
      address: normalizeAddress(device.address),
      processId,
      objectType,
      instance: point.instance,
      pointName: `${deviceCode(device)}/${point.code}`,
      deviceInstance: device.deviceInstance,
      lifetimeSeconds,
      confirmed: opts.confirmed ?? true,
      onReading,
      renewalFailing: false,
    }
    // Registered before sending: the initial notification may beat the acknowledgement.
    this.#subs.set(this.#key(sub.address, processId), sub)
    try {
      await this.#send(sub, false)
    } catch (err) {
      this.#subs.delete(this.#key(sub.address, processId))
      throw new Error(`${BacnetErrorCode.cov}: subscription refused: ${this.#reason(err)}`)
    }
    this.#schedule(sub, (lifetimeSeconds * 1000) / 2)
    return () => this.#cancel(sub)
  }

  /** Handles a notification; false when it matches no subscription of ours. */
  handleNotification(senderAddress: string, payload: unknown): boolean {
    const n = asNotification(payload)
    if (!n) return false
    const sub = this.#subs.get(this.#key(normalizeAddress(senderAddress), n.subscriberProcessId))
    if (
      !sub ||
      sub.objectType !== n.monitoredObjectId.type ||
      sub.instance !== n.monitoredObjectId.instance
    ) {
      return false
    }
    const ts = Date.now()
    const pv = n.values.find((v) => v.property.id === PRESENT_VALUE)
    if (!pv) return true // e.g. a notification of Status_Flags alone; nothing to report as a value
    const flags = decodeStatusFlags(n.values.find((v) => v.property.id === STATUS_FLAGS)?.value)
    const decoded = decodeValue(sub.objectType, PRESENT_VALUE, pv.value)
    sub.renewalFailing = false
    deliver(sub, toReading(sub.pointName, ts, decoded, flags))
    if (decoded.ok && sub.objectType === ObjectType.BINARY_INPUT) {
      if (sub.lastValue !== undefined && sub.lastValue !== decoded.value) {
        this.#ctx.emitEvent({
          source: sub.pointName,
          ts,
          type: 'state_change',
          payload: {
            objectType: objectTypeName(sub.objectType),
            instance: sub.instance,
            deviceInstance: sub.deviceInstance,
            from: sub.lastValue,
            to: decoded.value,
            ...(flags ? { statusFlags: flags } : {}),
          },
        })
      }
      sub.lastValue = decoded.value
    }
    return true
  }

  /** Cancels every subscription (best effort: a silent device forgets us at the lifetime's end). */
  async cancelAll(): Promise<void> {
    await Promise.allSettled([...this.#subs.values()].map((s) => this.#cancel(s)))
  }

  #key(address: string, processId: number): string {
    return `${address}|${processId}`
  }

  #reason(err: unknown): string {
    return failureReason(classifyFailure(err), this.#ctx.timeoutMs, this.#ctx.gate.attempts)
  }

  #send(sub: Subscription, cancel: boolean): Promise<void> {
    return this.#ctx.gate.run(sub.address, (invokeId) =>
      this.#ctx.client.subscribeCov(
        { address: sub.address },
        { type: sub.objectType, instance: sub.instance },
        sub.processId,
        cancel,
        sub.confirmed,
        sub.lifetimeSeconds,
        { invokeId },
      ),
    )
  }

  #schedule(sub: Subscription, delayMs: number): void {
    sub.timer = setTimeout(() => void this.#renew(sub), Math.min(delayMs, 2 ** 31 - 1))
    sub.timer.unref()
  }

  // §13.14.1.1: a SubscribeCOV with the same process id and object renews the subscription.
  async #renew(sub: Subscription): Promise<void> {
    if (!this.#subs.has(this.#key(sub.address, sub.processId))) return
    const lifetimeMs = sub.lifetimeSeconds * 1000
    try {
      await this.#send(sub, false)
      sub.renewalFailing = false
      this.#schedule(sub, lifetimeMs / 2)
    } catch (err) {
      if (!this.#subs.has(this.#key(sub.address, sub.processId))) return
      if (!sub.renewalFailing) {
        sub.renewalFailing = true
        const reason = `${BacnetErrorCode.cov}: renewal failed, values may be stale: ${this.#reason(err)}`
        deliver(sub, badReading(sub.pointName, Date.now(), reason))
      }
      this.#schedule(sub, Math.max(500, Math.min(lifetimeMs / 4, 30_000)))
    }
  }

  // §13.14.1.1.3: a cancellation omits Issue Confirmed Notifications and Lifetime.
  async #cancel(sub: Subscription): Promise<void> {
    const key = this.#key(sub.address, sub.processId)
    if (!this.#subs.delete(key)) return
    clearTimeout(sub.timer)
    try {
      await this.#send(sub, true)
    } catch {
      // the device drops the subscription itself when its lifetime ends
    }
  }
}
