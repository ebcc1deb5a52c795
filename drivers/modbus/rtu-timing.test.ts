import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { crc16Modbus, hasValidCrc, withCrc } from './modbus-crc.ts'
import { splitRtuRequests } from './rtu-frame.ts'
import { characterTimeMs, frameWireTimeMs, interFrameSilenceMs, rtuFrameBytes } from './rtu-timing.ts'

describe('RTU silence and wire time (Serial Line V1.02 §2.5.1)', () => {
  it('is 3.5 characters of 11 bits up to 19200 baud, and a fixed 1.75 ms above', () => {
    expect(characterTimeMs(9600)).toBeCloseTo(1.1458, 4)
    expect(interFrameSilenceMs(1200)).toBeCloseTo(32.083, 3)
    expect(interFrameSilenceMs(9600)).toBeCloseTo(4.0104, 4)
    expect(interFrameSilenceMs(19_200)).toBeCloseTo(2.0052, 4)
    expect(interFrameSilenceMs(38_400)).toBe(1.75)
    expect(interFrameSilenceMs(115_200)).toBe(1.75)
    expect(() => interFrameSilenceMs(0)).toThrow(RangeError)
  })

  it('matches the field notes: at 9600 baud a 2-register read is ~27.5 ms, 125 registers ~309 ms', () => {
    // Request + reply on the wire, each followed by its t3.5 silence.
    const transaction = (count: number) => {
      const { request, reply } = rtuFrameBytes(3, count)
      return frameWireTimeMs(request + reply, 9600) + 2 * interFrameSilenceMs(9600)
    }
    expect(transaction(2)).toBeCloseTo(27.5, 1)
    expect(transaction(125)).toBeCloseTo(309.4, 1)
  })

  it('sizes the frames of every function code it plans', () => {
    expect(rtuFrameBytes(1, 10)).toEqual({ request: 8, reply: 7 })
    expect(rtuFrameBytes(4, 125)).toEqual({ request: 8, reply: 255 })
    expect(rtuFrameBytes(6, 1)).toEqual({ request: 8, reply: 8 })
    expect(rtuFrameBytes(16, 2)).toEqual({ request: 13, reply: 8 })
    expect(rtuFrameBytes(15, 9)).toEqual({ request: 11, reply: 8 })
    expect(() => rtuFrameBytes(43, 1)).toThrow(RangeError)
  })
})

describe('CRC-16/MODBUS (Serial Line V1.02 §6.2.2)', () => {
  it('has the catalogued check value and agrees with modbus-serial', () => {
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37)
    const theirs = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number
    const frame = Buffer.from([0x11, 0x03, 0x00, 0x6b, 0x00, 0x03])
    expect(crc16Modbus(frame)).toBe(theirs(frame))
    // Low byte first on the wire: the spec's read of 3 registers at 0x6B from unit 0x11.
    expect(withCrc(frame).subarray(6)).toEqual(Buffer.from([0x76, 0x87]))
    expect(hasValidCrc(withCrc(frame))).toBe(true)
    expect(hasValidCrc(Buffer.from([0x11, 0x03, 0x00, 0x6b, 0x00, 0x03, 0x87, 0x76]))).toBe(false)
  })
})

describe('splitRtuRequests', () => {
  it('cuts a TCP stream into frames by function code, keeps a partial one and drops a bad CRC', () => {
    const read = withCrc(Buffer.from([1, 3, 0, 0, 0, 2]))
    const write = withCrc(Buffer.from([2, 16, 0, 10, 0, 2, 4, 0, 1, 0, 2]))
    const corrupt = Buffer.from(withCrc(Buffer.from([3, 4, 0, 0, 0, 1])))
    corrupt[7] = corrupt[7]! ^ 0xff
    const stream = Buffer.concat([read, write, corrupt, read.subarray(0, 5)])
    const { frames, rest, dropped } = splitRtuRequests(stream)
    expect(frames).toEqual([read, write])
    expect(dropped).toBe(1)
    expect(rest).toEqual(read.subarray(0, 5))
  })
})
