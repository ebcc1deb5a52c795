/**
 * A BACnet/IP device simulator on `@bacnet-js/client`'s server-side events, for tests and demos:
 * Who-Is → I-Am (§16.10, §16.1), ReadProperty (§15.5), ReadPropertyMultiple (§15.7),
 * SubscribeCOV (§13.14) with COV notifications (§13.6 / §13.7) and event notifications (§13.8 /
 * §13.9). It honours the subscriber's choice of confirmed or unconfirmed notifications, as a
 * device must; our driver asks for confirmed ones by default.
 *
 * Behaviours for tests: `refuseRpm` answers RPM with a Reject "unrecognized-service" (what a
 * device without RPM sends, §18.8.9); `silent` answers nothing at all; `maxApdu` is enforced:
 * a reply that would not fit is answered with Abort "segmentation-not-supported" (§5.4.5.1),
 * since this device never segments.
 */
import {
  AbortReason,
  type BACNetAppData,
  ConfirmedServiceChoice,
  ErrorClass,
  ErrorCode,
  EventState,
  PropertyIdentifier,
  RejectReason,
} from '@bacnet-js/client'
import { type BacnetClient, closeBacnetClient, openBacnetClient } from '../bacnet/bacnet-client.ts'
import { eventStateId, normalizeAddress } from '../bacnet/bacnet-names.ts'
import { encodeAbort, encodeIAm, encodeReject, sendRaw } from '../bacnet/bacnet-raw-apdu.ts'
import { SimCovRegistry, type SimSub, type SimSubscription } from '../bacnet/sim/bacnet-sim-cov.ts'
import { buildEventNotification } from '../bacnet/sim/bacnet-sim-events.ts'
import {
  isAnalog,
  presentValue,
  rpmAckSize,
  type SimObject,
  type SimObjectInit,
  SimObjectTable,
  type SimObjectType,
  type SimStatusFlags,
  statusFlags,
} from '../bacnet/sim/bacnet-sim-object-table.ts'

export type { SimObjectInit, SimObjectType, SimStatusFlags, SimSubscription }

export interface BacnetSimOptions {
  readonly port: number
  readonly deviceInstance: number
  readonly objects: readonly SimObjectInit[]
  /** Default 127.0.0.1. */
  readonly interface?: string
  readonly name?: string
  readonly vendorId?: number
  /** Max_APDU_Length_Accepted, announced in I-Am and enforced on replies; default 1476. */
  readonly maxApdu?: number
  readonly refuseRpm?: boolean
  readonly silent?: boolean
  /** Reads are answered after this many ms (a slow router or an MS/TP segment behind it). */
  readonly delayMs?: number
  /** Answers ReadProperty of Device 4194303 as its own Device (§12.11.1); false: a pre-revision-4 device. Default true. */
  readonly answersWildcard?: boolean
}

export interface SimCounters {
  whoIs: number
  readProperty: number
  readPropertyMultiple: number
  rpmRefused: number
  rpmTooBig: number
  subscribeCov: number
  covNotifications: number
  /** Confirmed notifications the subscriber did not acknowledge. */
  covUnacknowledged: number
}

export interface BacnetSim {
  readonly address: string
  setValue(type: SimObjectType, instance: number, value: number | boolean): void
  setStatusFlags(type: SimObjectType, instance: number, flags: SimStatusFlags): void
  setBehaviour(b: { refuseRpm?: boolean; silent?: boolean; delayMs?: number }): void
  /** Sets Event_State (and IN_ALARM with it) and sends an event notification to `to`. */
  raiseEvent(
    type: SimObjectType,
    instance: number,
    eventState: string,
    opts: { to: string; confirmed?: boolean; message?: string },
  ): Promise<void>
  subscriptions(): SimSubscription[]
  counters(): Readonly<SimCounters>
  close(): Promise<void>
}

const MAX_APDU_CODES = [50, 128, 206, 480, 1024, 1476]

interface Content {
  header?: { sender?: { address?: string } }
  invokeId?: number
  payload?: unknown
  maxApdu?: unknown
}

export async function startBacnetSim(opts: BacnetSimOptions): Promise<BacnetSim> {
  const iface = opts.interface ?? '127.0.0.1'
  const table = new SimObjectTable(
    {
      instance: opts.deviceInstance,
      name: opts.name ?? `sim-${opts.deviceInstance}`,
      vendorId: opts.vendorId ?? 999,
      maxApdu: opts.maxApdu ?? 1476,
      answersWildcard: opts.answersWildcard ?? true,
    },
    opts.objects,
  )
  const client: BacnetClient = await openBacnetClient({
    port: opts.port,
    interface: iface,
    apduTimeoutMs: 1000,
  })
  client.on('error', () => {})
  const behaviour = {
    refuseRpm: opts.refuseRpm ?? false,
    silent: opts.silent ?? false,
    delayMs: opts.delayMs ?? 0,
  }
  const later = (answer: () => void) => {
    if (behaviour.delayMs > 0) setTimeout(answer, behaviour.delayMs)
    else answer()
  }
  const counters: SimCounters = {
    whoIs: 0,
    readProperty: 0,
    readPropertyMultiple: 0,
    rpmRefused: 0,
    rpmTooBig: 0,
    subscribeCov: 0,
    covNotifications: 0,
    covUnacknowledged: 0,
  }
  const subs = new SimCovRegistry()

  const senderOf = (c: Content): string | undefined => c.header?.sender?.address
  const replyLimit = (c: Content): number => {
    const code = typeof c.maxApdu === 'number' ? c.maxApdu : 5
    return Math.min(table.device.maxApdu, MAX_APDU_CODES[code] ?? 1476)
  }

  client.on('whoIs', (c) => {
    const to = senderOf(c)
    if (behaviour.silent || !to) return
    counters.whoIs++
    const { lowLimit, highLimit } = c.payload
    if (lowLimit !== undefined && highLimit !== undefined) {
      if (opts.deviceInstance < lowLimit || opts.deviceInstance > highLimit) return
    }
    // §16.1.2: I-Am answers a Who-Is; sent unicast so that it also works on loopback.
    sendRaw(client, to, encodeIAm(opts.deviceInstance, table.device.maxApdu, 3, table.device.vendorId))
  })

  client.on('readProperty', (c) =>
    later(() => {
      const to = senderOf(c)
      if (behaviour.silent || !to || c.invokeId === undefined) return
      counters.readProperty++
      const { objectId, property } = c.payload
      const r = table.read(objectId.type, objectId.instance, property.id, property.index)
      if (r.ok) client.readPropertyResponse({ address: to }, c.invokeId, objectId, property, r.values)
      else
        client.errorResponse(
          { address: to },
          ConfirmedServiceChoice.READ_PROPERTY,
          c.invokeId,
          r.errorClass,
          r.errorCode,
        )
    }),
  )

  client.on('readPropertyMultiple', (c) =>
    later(() => {
      const to = senderOf(c)
      if (behaviour.silent || !to || c.invokeId === undefined) return
      counters.readPropertyMultiple++
      if (behaviour.refuseRpm) {
        counters.rpmRefused++
        sendRaw(client, to, encodeReject(c.invokeId, RejectReason.UNRECOGNIZED_SERVICE))
        return
      }
      const results = table.readMultiple(c.payload.properties)
      if (rpmAckSize(results) > replyLimit(c)) {
        counters.rpmTooBig++
        sendRaw(client, to, encodeAbort(c.invokeId, AbortReason.SEGMENTATION_NOT_SUPPORTED))
        return
      }
      client.readPropertyMultipleResponse({ address: to }, c.invokeId, results)
    }),
  )

  const covValues = (o: SimObject): Array<{ property: { id: number }; value: BACNetAppData[] }> => [
    { property: { id: PropertyIdentifier.PRESENT_VALUE }, value: [presentValue(o)] },
    { property: { id: PropertyIdentifier.STATUS_FLAGS }, value: [statusFlags(o)] },
  ]

  // §13.1.2: a notification carries Present_Value and Status_Flags, and the time remaining.
  // (Property indexes are left out: the library encodes them only when they are ARRAY_ALL.)
  const notify = (s: SimSub): void => {
    if (behaviour.silent) return
    counters.covNotifications++
    const remaining = SimCovRegistry.timeRemaining(s)
    const objectId = { type: s.obj.type, instance: s.obj.instance }
    const values = covValues(s.obj)
    if (s.confirmed) {
      client
        .confirmedCOVNotification(
          { address: s.address },
          objectId,
          s.processId,
          opts.deviceInstance,
          remaining,
          values,
        )
        .catch(() => counters.covUnacknowledged++) // the subscription stays until it expires
    } else {
      client.unconfirmedCOVNotification(
        { address: s.address },
        s.processId,
        opts.deviceInstance,
        objectId,
        remaining,
        values,
      )
    }
  }

  const notifyObject = (o: SimObject): void => {
    o.lastCovValue = o.value
    for (const s of subs.active()) if (s.obj === o) notify(s)
  }

  client.on('subscribeCov', (c) => {
    const to = senderOf(c)
    if (behaviour.silent || !to || c.invokeId === undefined) return
    counters.subscribeCov++
    const p = c.payload as typeof c.payload & { cancellationRequest?: boolean }
    const obj = table.get(p.monitoredObjectId.type, p.monitoredObjectId.instance)
    const service = ConfirmedServiceChoice.SUBSCRIBE_COV
    if (!obj) {
      client.errorResponse({ address: to }, service, c.invokeId, ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT)
      return
    }
    if (p.cancellationRequest) {
      subs.cancel(to, p.subscriberProcessId, obj)
      client.simpleAckResponse({ address: to }, service, c.invokeId)
      return
    }
    const sub = subs.upsert(to, p.subscriberProcessId, obj, p.issueConfirmedNotifications, p.lifetime ?? 0)
    client.simpleAckResponse({ address: to }, service, c.invokeId)
    notify(sub) // §13.14.1.1: an initial notification follows a successful subscription
  })

  const setStatusFlags = (type: SimObjectType, instance: number, flags: SimStatusFlags): void => {
    const o = table.require(type, instance)
    const next = { ...o.flags, ...flags }
    const changed = (Object.keys(next) as Array<keyof typeof next>).some((k) => next[k] !== o.flags[k])
    o.flags = next
    if (changed) notifyObject(o) // §13.1.2: a change of Status_Flags is a change of value too
  }

  return {
    address: `${iface}:${opts.port}`,
    setValue(type, instance, value) {
      const o = table.require(type, instance)
      o.value = value
      const moved = isAnalog(o)
        ? Math.abs(Number(value) - Number(o.lastCovValue)) >= o.covIncrement && value !== o.lastCovValue
        : value !== o.lastCovValue
      if (moved) notifyObject(o)
    },
    setStatusFlags,
    setBehaviour(b) {
      Object.assign(behaviour, b)
    },
    async raiseEvent(type, instance, eventStateName, { to, confirmed = false, message }) {
      const o = table.require(type, instance)
      const toState = eventStateId(eventStateName)
      if (toState === undefined) throw new Error(`unknown event state ${eventStateName}`)
      const fromState = o.eventState
      o.eventState = toState
      setStatusFlags(type, instance, { inAlarm: toState !== EventState.NORMAL })
      const data = buildEventNotification(o, opts.deviceInstance, fromState, toState, message)
      if (behaviour.silent) return
      const receiver = { address: normalizeAddress(to) }
      if (confirmed) await client.confirmedEventNotification(receiver, data)
      else client.unconfirmedEventNotification(receiver, data)
    },
    subscriptions: () => subs.list(),
    counters: () => ({ ...counters }),
    async close() {
      subs.clear()
      await closeBacnetClient(client)
    },
  }
}
