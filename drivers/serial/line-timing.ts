/**
 * Time on an asynchronous serial line (RS-485, UART framing), shared by every serial
 * protocol's driver and simulator: Modbus RTU (modbus/rtu-timing.ts) today, DL/T 645 and
 * CJ/T 188 later, which frame bytes the same way and keep their own silences and timeouts.
 */

/** How a character is framed on the wire. */
export interface CharacterFrame {
  readonly dataBits: number
  readonly parity: 'none' | 'even' | 'odd'
  readonly stopBits: number
}

/** Bits one character occupies: a start bit, the data, the parity bit if any, the stop bits. */
export function bitsPerCharacter(frame: CharacterFrame): number {
  return 1 + frame.dataBits + (frame.parity === 'none' ? 0 : 1) + frame.stopBits
}

/** Milliseconds one character of `bits` bits occupies at this baud rate. */
export function characterTimeMs(baudRate: number, bits: number): number {
  if (!Number.isFinite(baudRate) || baudRate <= 0) throw new RangeError(`bad baud rate ${baudRate}`)
  return (bits * 1000) / baudRate
}

/** Milliseconds a frame of `bytes` characters takes on the wire. */
export function frameWireTimeMs(bytes: number, baudRate: number, bits: number): number {
  return bytes * characterTimeMs(baudRate, bits)
}

/**
 * A silence of `characters` character times, never shorter than `floorMs`: protocols state
 * their framing gaps in characters but fix a floor at high baud rates, where the computed gap
 * would be shorter than UART and interrupt latencies can resolve.
 */
export function silenceMs(characters: number, baudRate: number, bits: number, floorMs = 0): number {
  return Math.max(characters * characterTimeMs(baudRate, bits), floorMs)
}
