/**
 * The few PDUs the library cannot send the way a device must, encoded by hand and sent with the
 * client's public `sendBvlc` (which writes the BVLC header, Annex J.2, into the first 4 bytes):
 * - I-Am with a real Max_APDU_Length_Accepted: the library's `iAmResponse` always announces its
 *   own buffer size, 1482, which is not a legal BACnet/IP value (at most 1476, §20.1.2.5);
 * - Reject-PDU (§20.1.8) and Abort-PDU (§20.1.9), for which it has no sender at all.
 * Used by the simulator; also handy to build recorded frames for tests.
 */
import type { BacnetClient } from './bacnet-client.ts'

const BVLC_HEADER = 4
const NPDU_NO_REPLY = [0x01, 0x00] // §6.2: version 1, control 0 (no addresses, no reply expected)
const DEVICE_TYPE = 8

function unsignedBytes(value: number): number[] {
  if (value < 0x100) return [value]
  if (value < 0x10000) return [value >> 8, value & 0xff]
  if (value < 0x1000000) return [value >> 16, (value >> 8) & 0xff, value & 0xff]
  return [value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]
}

/** Application-tagged Unsigned (tag 2) or Enumerated (tag 9), §20.2.4 / §20.2.11. */
function appTagged(tag: 2 | 9, value: number): number[] {
  const bytes = unsignedBytes(value)
  return [(tag << 4) | bytes.length, ...bytes]
}

/** §16.1 I-Am: device identifier, max APDU, segmentation supported, vendor id. */
export function encodeIAm(
  deviceInstance: number,
  maxApdu: number,
  segmentation: number,
  vendorId: number,
): number[] {
  const id = ((DEVICE_TYPE << 22) | deviceInstance) >>> 0
  return [
    ...NPDU_NO_REPLY,
    0x10, // Unconfirmed-Request-PDU
    0x00, // I-Am
    0xc4, // Application tag 12 (object identifier), length 4
    id >>> 24,
    (id >> 16) & 0xff,
    (id >> 8) & 0xff,
    id & 0xff,
    ...appTagged(2, maxApdu),
    ...appTagged(9, segmentation),
    ...appTagged(2, vendorId),
  ]
}

/** §20.1.8 BACnet-Reject-PDU. */
export function encodeReject(invokeId: number, reason: number): number[] {
  return [...NPDU_NO_REPLY, 0x60, invokeId & 0xff, reason & 0xff]
}

/** §20.1.9 BACnet-Abort-PDU, sent by the server (SRV bit set). */
export function encodeAbort(invokeId: number, reason: number): number[] {
  return [...NPDU_NO_REPLY, 0x71, invokeId & 0xff, reason & 0xff]
}

/** Sends NPDU + APDU bytes as an original unicast (Annex J.2.11) to `address` (`host:port`). */
export function sendRaw(client: BacnetClient, address: string, npduAndApdu: readonly number[]): void {
  const buffer = Buffer.alloc(BVLC_HEADER + npduAndApdu.length)
  Buffer.from(npduAndApdu).copy(buffer, BVLC_HEADER)
  client.sendBvlc({ address }, { buffer, offset: buffer.length })
}
