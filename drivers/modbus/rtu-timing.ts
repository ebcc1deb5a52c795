/**
 * RTU line timing, from the Modbus over Serial Line Specification and Implementation Guide
 * V1.02, on the shared serial-line arithmetic (serial/line-timing.ts). Shared by the bus (the
 * silence it keeps between frames) and the RTU simulator (the wire time it waits before
 * answering), so both sides agree on the same arithmetic.
 */
import {
  characterTimeMs as lineCharacterTimeMs,
  frameWireTimeMs as lineFrameWireTimeMs,
  silenceMs,
} from '../serial/line-timing.ts'

/**
 * §2.5.1 RTU transmission mode: each character is 11 bits on the wire (1 start, 8 data,
 * 1 parity, 1 stop; without parity the spec asks for 2 stop bits, still 11).
 */
export const RTU_BITS_PER_CHARACTER = 11

/** Milliseconds one character occupies on the wire at this baud rate. */
export function characterTimeMs(baudRate: number): number {
  return lineCharacterTimeMs(baudRate, RTU_BITS_PER_CHARACTER)
}

/**
 * §2.5.1.1 RTU message framing: frames are separated by a silence of at least 3.5 character
 * times (t3.5). Above 19200 baud the spec fixes t3.5 at 1.750 ms, because the computed value
 * would be too short for UART and interrupt latencies to resolve.
 */
export function interFrameSilenceMs(baudRate: number): number {
  if (baudRate > 19_200) return 1.75
  return silenceMs(3.5, baudRate, RTU_BITS_PER_CHARACTER)
}

/** Milliseconds a frame of `bytes` characters takes on the wire. */
export function frameWireTimeMs(bytes: number, baudRate: number): number {
  return lineFrameWireTimeMs(bytes, baudRate, RTU_BITS_PER_CHARACTER)
}

/**
 * Bytes of an RTU request frame and of its normal reply (address + PDU + CRC16), from the
 * PDU layouts of the Modbus Application Protocol V1.1b3 §6.1–6.12. Used to estimate how long
 * a request occupies a bus.
 */
export function rtuFrameBytes(
  functionCode: number,
  count: number,
): { readonly request: number; readonly reply: number } {
  const envelope = 1 + 2 // slave address, CRC
  switch (functionCode) {
    case 1:
    case 2: // §6.1/6.2: FC, start(2), quantity(2) → FC, byte count, ceil(n/8) bytes
      return { request: envelope + 5, reply: envelope + 2 + Math.ceil(count / 8) }
    case 3:
    case 4: // §6.3/6.4: → FC, byte count, 2n bytes
      return { request: envelope + 5, reply: envelope + 2 + 2 * count }
    case 5:
    case 6: // §6.5/6.6: the reply echoes the request
      return { request: envelope + 5, reply: envelope + 5 }
    case 15: // §6.11: FC, start, quantity, byte count, ceil(n/8) bytes → FC, start, quantity
      return { request: envelope + 6 + Math.ceil(count / 8), reply: envelope + 5 }
    case 16: // §6.12: FC, start, quantity, byte count, 2n bytes → FC, start, quantity
      return { request: envelope + 6 + 2 * count, reply: envelope + 5 }
    default:
      throw new RangeError(`no frame size for function code ${functionCode}`)
  }
}
