/**
 * CRC-16/MODBUS, as specified in the Modbus over Serial Line Specification and
 * Implementation Guide V1.02 §6.2.2 (CRC generation): register preset to 0xFFFF, each byte
 * XORed into the low byte, eight shifts right with XOR of the reflected polynomial 0xA001
 * whenever the shifted-out bit is 1. On the wire the low byte goes first (§2.5.1.2).
 */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) {
      const carry = crc & 1
      crc >>= 1
      if (carry) crc ^= 0xa001
    }
  }
  return crc
}

/** The frame with its CRC appended, low byte first. */
export function withCrc(frame: Uint8Array): Buffer {
  const out = Buffer.alloc(frame.length + 2)
  out.set(frame, 0)
  out.writeUInt16LE(crc16Modbus(frame), frame.length)
  return out
}

/** True when the last two bytes are the CRC of the rest. */
export function hasValidCrc(frame: Uint8Array): boolean {
  if (frame.length < 4) return false
  const body = frame.subarray(0, frame.length - 2)
  const sent = frame[frame.length - 2]! | (frame[frame.length - 1]! << 8)
  return sent === crc16Modbus(body)
}
