/**
 * Reads points of one device: ReadPropertyMultiple (§15.7) in batches planned to fit the
 * device's APDU, falling back to ReadProperty (§15.5) per property when the device refuses RPM
 * (remembered per device), when a reply would not fit even for one object, or when an RPM
 * fails as a whole because of its objects (to find out which point is the bad one).
 *
 * A timeout makes the device "silent" for the rest of this read: the requests not yet sent are
 * not sent, their points are bad with the same reason, so one dead controller costs one timeout
 * per read, not one per batch.
 */
import type { Reading } from '../driver-types.ts'
import type { BacnetClient } from './bacnet-client.ts'
import {
  BacnetErrorCode,
  type BacnetFailure,
  classifyFailure,
  failureReason,
  isObjectError,
  isTooBig,
  refusesService,
} from './bacnet-errors.ts'
import type { IdentityCheck } from './bacnet-identity.ts'
import { normalizeAddress, objectTypeId, propertyId } from './bacnet-names.ts'
import {
  apduNeeded,
  groupByObject,
  type PlannedObject,
  type PlannedPoint,
  planRpmBatches,
  type RpmBatch,
} from './bacnet-plan.ts'
import type { RequestGate } from './bacnet-request-gate.ts'
import type { BacnetDeviceRef, BacnetPoint } from './bacnet-types.ts'
import { badReading, decodeStatusFlags, decodeValue, toReading } from './bacnet-values.ts'

const ARRAY_ALL = 0xffffffff
const STATUS_FLAGS = 111
export const DEFAULT_MAX_APDU = 480

/** What the driver remembers about a device between reads. */
export interface DeviceMemory {
  /** When the device last refused ReadPropertyMultiple. */
  rpmRefusedAt?: number
  /** A smaller APDU budget learned from "too big" aborts. */
  apduBudget?: number
  /**
   * The identity check of the device at the address (bacnet-identity.ts), kept while it holds;
   * dropped when the device goes silent, so whatever answers after is checked again.
   */
  identity?: Promise<IdentityCheck>
}

export interface ReaderContext {
  readonly client: BacnetClient
  readonly gate: RequestGate
  readonly timeoutMs: number
  readonly maxObjectsPerRequest: number
  readonly rpmReprobeMs: number
  readonly memory: DeviceMemory
  readonly isClosed: () => boolean
}

export function deviceCode(device: BacnetDeviceRef): string {
  return device.code ?? `bacnet-${device.deviceInstance}`
}

/** A request not sent because the device already timed out in this read. */
class SkippedSilent extends Error {}

type PropertyResult = { ok: true; ts: number; values: readonly unknown[] } | { ok: false; reason: string }

export async function readPoints(
  ctx: ReaderContext,
  device: BacnetDeviceRef,
  points: readonly BacnetPoint[],
): Promise<Reading[]> {
  const code = deviceCode(device)
  const key = normalizeAddress(device.address)
  const receiver = { address: key }
  const results: Reading[] = new Array(points.length)
  const name = (p: PlannedPoint): string => `${code}/${points[p.index]?.code}`
  let silentReason: string | undefined

  const planned: PlannedPoint[] = []
  points.forEach((p, index) => {
    const objectType = objectTypeId(p.objectType)
    const prop = propertyId(p.property ?? 'present-value')
    if (objectType === undefined || prop === undefined) {
      const what = objectType === undefined ? `object type "${p.objectType}"` : `property "${p.property}"`
      results[index] = badReading(
        `${code}/${p.code}`,
        Date.now(),
        `${BacnetErrorCode.point}: unknown ${what}`,
      )
    } else planned.push({ index, objectType, instance: p.instance, propertyId: prop })
  })

  const failAll = (objects: readonly PlannedObject[], reason: string): void => {
    const ts = Date.now()
    for (const o of objects) for (const p of o.points) results[p.index] = badReading(name(p), ts, reason)
  }

  const reasonOf = (f: BacnetFailure): string => {
    if (ctx.isClosed()) return `${BacnetErrorCode.closed}: driver closed`
    const reason = failureReason(f, ctx.timeoutMs, ctx.gate.attempts)
    if (f.kind === 'timeout') silentReason ??= reason
    return reason
  }

  // Checked once a slot is free, not when queued: requests queued behind one that timed out
  // are not sent at all.
  const unlessSilent =
    <T>(send: (invokeId: number) => Promise<T>) =>
    (invokeId: number): Promise<T> =>
      silentReason ? Promise.reject(new SkippedSilent(silentReason)) : send(invokeId)

  const readProperty = async (o: PlannedObject, id: number): Promise<PropertyResult> => {
    try {
      const ack = await ctx.gate.run(
        key,
        unlessSilent((invokeId) =>
          ctx.client.readProperty(receiver, { type: o.objectType, instance: o.instance }, id, {
            invokeId,
            arrayIndex: ARRAY_ALL,
          }),
        ),
      )
      return { ok: true, ts: Date.now(), values: ack.values }
    } catch (err) {
      return {
        ok: false,
        reason: err instanceof SkippedSilent ? err.message : reasonOf(classifyFailure(err)),
      }
    }
  }

  // §15.5 ReadProperty, one request per property, Status_Flags included.
  const readObjectSingly = async (o: PlannedObject): Promise<void> => {
    const replies = await Promise.all(o.propertyIds.map((id) => readProperty(o, id)))
    const byId = new Map(o.propertyIds.map((id, i) => [id, replies[i]]))
    const flagsReply = byId.get(STATUS_FLAGS)
    const flags = flagsReply?.ok ? decodeStatusFlags(flagsReply.values) : undefined
    for (const p of o.points) {
      const r = byId.get(p.propertyId)
      if (!r?.ok) results[p.index] = badReading(name(p), Date.now(), r?.reason ?? 'no reply')
      else
        results[p.index] = toReading(name(p), r.ts, decodeValue(p.objectType, p.propertyId, r.values), flags)
    }
  }

  const fillFromAck = (
    batch: RpmBatch,
    ack: Awaited<ReturnType<BacnetClient['readPropertyMultiple']>>,
  ): void => {
    const ts = Date.now()
    batch.forEach((o, position) => {
      const match =
        ack.values.find((v) => v.objectId.type === o.objectType && v.objectId.instance === o.instance) ??
        ack.values[position]
      const props = match?.values ?? []
      const flags = decodeStatusFlags(props.find((v) => v.id === STATUS_FLAGS)?.value)
      for (const p of o.points) {
        const prop = props.find((v) => v.id === p.propertyId)
        results[p.index] = prop
          ? toReading(name(p), ts, decodeValue(p.objectType, p.propertyId, prop.value), flags)
          : badReading(name(p), ts, `${BacnetErrorCode.decode}: property missing from the reply`)
      }
    })
  }

  const readBatch = async (batch: RpmBatch): Promise<void> => {
    const specs = batch.map((o) => ({
      objectId: { type: o.objectType, instance: o.instance },
      properties: o.propertyIds.map((id) => ({ id, index: ARRAY_ALL })),
    }))
    try {
      const ack = await ctx.gate.run(
        key,
        unlessSilent((invokeId) => ctx.client.readPropertyMultiple(receiver, specs, { invokeId })),
      )
      fillFromAck(batch, ack)
    } catch (err) {
      if (err instanceof SkippedSilent) return failAll(batch, err.message)
      const f = classifyFailure(err)
      if (ctx.isClosed() || f.kind === 'timeout' || f.kind === 'other') return failAll(batch, reasonOf(f))
      if (isTooBig(f) && batch.length > 1) {
        // §5.4.5.1: the reply does not fit and the device cannot segment it. Halve, and plan the
        // next reads of this device for the half size (lowered again if a half fails too).
        const half = Math.ceil(batch.length / 2)
        const halfApdu = apduNeeded(batch.slice(0, half))
        ctx.memory.apduBudget = Math.min(ctx.memory.apduBudget ?? Number.POSITIVE_INFINITY, halfApdu)
        await Promise.all([readBatch(batch.slice(0, half)), readBatch(batch.slice(half))])
        return
      }
      if (refusesService(f)) ctx.memory.rpmRefusedAt = Date.now()
      if (isTooBig(f) || refusesService(f) || isObjectError(f)) {
        await Promise.all(batch.map(readObjectSingly))
        return
      }
      failAll(batch, reasonOf(f))
    }
  }

  const objects = groupByObject(planned)
  const refusedAt = ctx.memory.rpmRefusedAt
  const useRpm = refusedAt === undefined || Date.now() - refusedAt >= ctx.rpmReprobeMs
  if (useRpm) {
    const maxApdu = Math.min(
      device.maxApdu ?? DEFAULT_MAX_APDU,
      ctx.memory.apduBudget ?? Number.POSITIVE_INFINITY,
    )
    const batches = planRpmBatches(objects, maxApdu, ctx.maxObjectsPerRequest)
    await Promise.all(batches.map(readBatch))
  } else {
    await Promise.all(objects.map(readObjectSingly))
  }
  return results
}
