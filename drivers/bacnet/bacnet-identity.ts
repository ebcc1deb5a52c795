/**
 * Is the device at the configured address the configured device instance? A BACnet/IP
 * address answers whatever device sits there: a controller swapped, a DHCP lease moved, or a
 * typo in the instance would otherwise read some other building's values as `good`.
 *
 * 1. ReadProperty (Device, 4194303) Object_Identifier (§15.5.1.1.1, §12.11.1): 4194303 is the
 *    wildcard instance, answered by the device as its own Device object, so the reply names
 *    the instance that is really there.
 * 2. Devices older than the wildcard (Protocol_Revision < 4) answer it with an Error
 *    (object/unknown-object) or a Reject: we then read (Device, configured) Object_Identifier.
 *    Every device has its own Device object (§12.11), so unknown-object means another device
 *    is at the address; a unicast Who-Is asks it which one.
 *
 * A timeout is not a mismatch: the device is silent and is verified when it answers again.
 */
import { ErrorClass, ErrorCode, ObjectType, PropertyIdentifier } from '@bacnet-js/client'
import type { BacnetClient } from './bacnet-client.ts'
import { BacnetErrorCode, type BacnetFailure, classifyFailure, failureReason } from './bacnet-errors.ts'
import { normalizeAddress } from './bacnet-names.ts'
import type { RequestGate } from './bacnet-request-gate.ts'
import type { BacnetDeviceRef } from './bacnet-types.ts'

/** §12.11.1: the Device object instance meaning "this device", whatever its instance. */
export const WILDCARD_DEVICE_INSTANCE = 4194303

export type IdentityCheck =
  | { readonly ok: true }
  /** `silent`: no reply at all (check again on the next read); otherwise the wrong device or no proof. */
  | { readonly ok: false; readonly reason: string; readonly silent: boolean }

export interface IdentityContext {
  readonly client: BacnetClient
  readonly gate: RequestGate
  readonly timeoutMs: number
  readonly isClosed: () => boolean
}

type ObjectIdReply = { ok: true; type: number; instance: number } | { ok: false; failure: BacnetFailure }

const isUnknownObject = (f: BacnetFailure): boolean =>
  f.kind === 'error' && f.errorClass === ErrorClass.OBJECT && f.errorCode === ErrorCode.UNKNOWN_OBJECT

export async function verifyIdentity(ctx: IdentityContext, device: BacnetDeviceRef): Promise<IdentityCheck> {
  const address = normalizeAddress(device.address)
  const configured = device.deviceInstance
  const mismatch = (actual: number | undefined): IdentityCheck => ({
    ok: false,
    silent: false,
    reason:
      actual === undefined
        ? `${BacnetErrorCode.identity}: configured device instance ${configured}, but the device at ${address} is another device (it did not say which)`
        : `${BacnetErrorCode.identity}: configured device instance ${configured}, but the device at ${address} is device ${actual}`,
  })
  const unanswered = (f: BacnetFailure): IdentityCheck | undefined => {
    if (ctx.isClosed()) return { ok: false, silent: true, reason: `${BacnetErrorCode.closed}: driver closed` }
    if (f.kind === 'timeout')
      return { ok: false, silent: true, reason: failureReason(f, ctx.timeoutMs, ctx.gate.attempts) }
    return undefined
  }

  const wildcard = await readDeviceId(ctx, address, WILDCARD_DEVICE_INSTANCE)
  if (wildcard.ok) {
    if (wildcard.type === ObjectType.DEVICE)
      return wildcard.instance === configured ? { ok: true } : mismatch(wildcard.instance)
  } else {
    const none = unanswered(wildcard.failure)
    if (none) return none
  }

  const own = await readDeviceId(ctx, address, configured)
  if (own.ok)
    return own.type === ObjectType.DEVICE && own.instance === configured
      ? { ok: true }
      : mismatch(own.instance)
  const none = unanswered(own.failure)
  if (none) return none
  if (isUnknownObject(own.failure)) return mismatch(await askInstance(ctx.client, address, ctx.timeoutMs))
  return {
    ok: false,
    silent: false,
    reason: `${BacnetErrorCode.identity}: could not verify device instance ${configured} at ${address}: ${failureReason(own.failure, ctx.timeoutMs, ctx.gate.attempts)}`,
  }
}

async function readDeviceId(ctx: IdentityContext, address: string, instance: number): Promise<ObjectIdReply> {
  try {
    const ack = await ctx.gate.run(address, (invokeId) =>
      ctx.client.readProperty(
        { address },
        { type: ObjectType.DEVICE, instance },
        PropertyIdentifier.OBJECT_IDENTIFIER,
        { invokeId },
      ),
    )
    const id = ack.values[0]?.value as { type?: unknown; instance?: unknown } | undefined
    if (typeof id?.type !== 'number' || typeof id.instance !== 'number')
      return {
        ok: false,
        failure: { kind: 'other', message: 'Object_Identifier reply is not an object identifier' },
      }
    return { ok: true, type: id.type, instance: id.instance }
  } catch (error) {
    return { ok: false, failure: classifyFailure(error) }
  }
}

/** A unicast Who-Is (§16.10) to the address: the I-Am it answers with names its instance. */
async function askInstance(
  client: BacnetClient,
  address: string,
  timeoutMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const onIAm = (c: { header?: { sender?: { address?: string } }; payload?: { deviceId?: unknown } }) => {
      const from = c.header?.sender?.address
      if (!from || normalizeAddress(from) !== address || typeof c.payload?.deviceId !== 'number') return
      done(c.payload.deviceId)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    const done = (instance: number | undefined) => {
      clearTimeout(timer)
      client.off('iAm', onIAm)
      resolve(instance)
    }
    client.on('iAm', onIAm)
    client.whoIs({ address })
  })
}
