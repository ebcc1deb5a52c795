/**
 * The slave side of the Modbus PDU: a request PDU in, the reply PDU out, over any source of
 * registers and bits. Used by the RTU simulator; the same bytes a meter would send.
 */

/** What a slave serves. Throw an object with `modbusErrorCode` to answer an exception. */
export interface RegisterSource {
  readRegisters(table: 'holding-register' | 'input-register', start: number, count: number): number[]
  readBits(table: 'coil' | 'discrete-input', start: number, count: number): boolean[]
  writeRegisters(start: number, values: readonly number[]): void
  writeCoils(start: number, values: readonly boolean[]): void
}

class Exception {
  constructor(readonly modbusErrorCode: number) {}
}

/** Quantity limits of the Modbus Application Protocol V1.1b3 §6.1-6.4, 6.11, 6.12. */
const maxQuantity: Readonly<Record<number, number>> = { 1: 2000, 2: 2000, 3: 125, 4: 125, 15: 1968, 16: 123 }

/** The reply PDU (FC + data) to a request PDU, or an exception PDU (FC | 0x80, code; §7). */
export function respondToPdu(source: RegisterSource, pdu: Buffer): Buffer {
  const functionCode = pdu[0] ?? 0
  try {
    return Buffer.concat([Buffer.of(functionCode), serve(source, functionCode, pdu)])
  } catch (error) {
    const code = (error as { modbusErrorCode?: unknown } | null)?.modbusErrorCode
    // Anything else the source throws is its own failure: SERVER DEVICE FAILURE.
    return Buffer.of(functionCode | 0x80, typeof code === 'number' ? code : 4)
  }
}

function serve(source: RegisterSource, functionCode: number, pdu: Buffer): Buffer {
  if (pdu.length < 5) throw new Exception(3)
  const start = pdu.readUInt16BE(1)
  const quantity = pdu.readUInt16BE(3)
  const limit = maxQuantity[functionCode]
  if (limit !== undefined && (quantity < 1 || quantity > limit)) throw new Exception(3)
  switch (functionCode) {
    case 1:
    case 2: {
      // §6.1/6.2: byte count, then the bits packed least significant first.
      const bits = source.readBits(functionCode === 1 ? 'coil' : 'discrete-input', start, quantity)
      const bytes = Buffer.alloc(Math.ceil(quantity / 8))
      for (const [i, on] of bits.entries()) if (on) bytes[i >> 3]! |= 1 << (i & 7)
      return Buffer.concat([Buffer.of(bytes.length), bytes])
    }
    case 3:
    case 4: {
      // §6.3/6.4: byte count, then the registers big-endian.
      const words = source.readRegisters(
        functionCode === 3 ? 'holding-register' : 'input-register',
        start,
        quantity,
      )
      const bytes = Buffer.alloc(2 * words.length)
      for (const [i, w] of words.entries()) bytes.writeUInt16BE(w, 2 * i)
      return Buffer.concat([Buffer.of(bytes.length), bytes])
    }
    case 5:
      // §6.5: 0xFF00 is ON, 0x0000 OFF, anything else is an illegal data value.
      if (quantity !== 0xff00 && quantity !== 0) throw new Exception(3)
      source.writeCoils(start, [quantity === 0xff00])
      return pdu.subarray(1, 5)
    case 6: // §6.6: the reply echoes address and value
      source.writeRegisters(start, [quantity])
      return pdu.subarray(1, 5)
    case 15: {
      // §6.11: byte count, then the bits least significant first; the reply is start, quantity.
      if (pdu[5] !== Math.ceil(quantity / 8)) throw new Exception(3)
      source.writeCoils(
        start,
        Array.from({ length: quantity }, (_, i) => ((pdu[6 + (i >> 3)]! >> (i & 7)) & 1) === 1),
      )
      return pdu.subarray(1, 5)
    }
    case 16: {
      // §6.12: byte count (2 × quantity), then the registers; the reply is start, quantity.
      if (pdu[5] !== 2 * quantity || pdu.length < 6 + 2 * quantity) throw new Exception(3)
      source.writeRegisters(
        start,
        Array.from({ length: quantity }, (_, i) => pdu.readUInt16BE(6 + 2 * i)),
      )
      return pdu.subarray(1, 5)
    }
    default:
      throw new Exception(1)
  }
}
