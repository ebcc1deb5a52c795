import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import type { ByteOrder, DataType, PointValue } from '../driver-types.ts'
import type { ModbusPoint, ReadRequest } from './modbus-types.ts'
import { decodeAllOrders, decodePoint, encodeBits, encodeValue, registerCount } from './register-codec.ts'

const ORDERS: readonly ByteOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA']

/** Wire byte layouts written out letter by letter (Telegraf's names), independent of the codec. */
const LAYOUT: Record<number, Record<ByteOrder, string>> = {
  2: { ABCD: 'AB', CDAB: 'AB', BADC: 'AB', DCBA: 'AB' },
  4: { ABCD: 'ABCD', CDAB: 'CDAB', BADC: 'BADC', DCBA: 'DCBA' },
  8: { ABCD: 'ABCDEFGH', CDAB: 'GHEFCDAB', BADC: 'BADCFEHG', DCBA: 'HGFEDCBA' },
}

/** Big-endian value bytes → the registers a device using `order` would send. */
function arrange(be: Buffer, order: ByteOrder): number[] {
  const wire = Buffer.from(Array.from(LAYOUT[be.length]![order], (letter) => be[letter.charCodeAt(0) - 65]!))
  return Array.from({ length: wire.length / 2 }, (_, i) => wire.readUInt16BE(2 * i))
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const randomBytes = (next: () => number, n: number) =>
  Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)))

type NumericType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64'
/** Reference codec from Node's Buffer: random bytes in, the value Buffer reads, the bytes Buffer writes. */
const REF: Record<
  NumericType,
  { size: number; read: (b: Buffer) => PointValue; write: (v: PointValue) => Buffer }
> = {
  int16: { size: 2, read: (b) => b.readInt16BE(0), write: (v) => w(2, (b) => b.writeInt16BE(Number(v))) },
  uint16: { size: 2, read: (b) => b.readUInt16BE(0), write: (v) => w(2, (b) => b.writeUInt16BE(Number(v))) },
  int32: { size: 4, read: (b) => b.readInt32BE(0), write: (v) => w(4, (b) => b.writeInt32BE(Number(v))) },
  uint32: { size: 4, read: (b) => b.readUInt32BE(0), write: (v) => w(4, (b) => b.writeUInt32BE(Number(v))) },
  int64: {
    size: 8,
    read: (b) => big(b.readBigInt64BE(0)),
    write: (v) => w(8, (b) => b.writeBigInt64BE(BigInt(v))),
  },
  uint64: {
    size: 8,
    read: (b) => big(b.readBigUInt64BE(0)),
    write: (v) => w(8, (b) => b.writeBigUInt64BE(BigInt(v))),
  },
  float32: { size: 4, read: (b) => b.readFloatBE(0), write: (v) => w(4, (b) => b.writeFloatBE(Number(v))) },
  float64: { size: 8, read: (b) => b.readDoubleBE(0), write: (v) => w(8, (b) => b.writeDoubleBE(Number(v))) },
}
function w(size: number, fill: (b: Buffer) => unknown): Buffer {
  const b = Buffer.alloc(size)
  fill(b)
  return b
}
/** The codec's documented contract: a number while safe, the exact decimal string beyond. */
const big = (v: bigint): PointValue =>
  v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v.toString()

const point = (dataType: DataType, extra: Partial<ModbusPoint> = {}): ModbusPoint => ({
  code: 'p1',
  table: 'holding-register',
  register: 10,
  dataType,
  kind: 'gauge',
  ...extra,
})
const request = (start = 10, count = 4, table: ModbusPoint['table'] = 'holding-register'): ReadRequest => ({
  unitId: 1,
  table,
  functionCode: table === 'coil' ? 1 : 3,
  start,
  count,
  points: [],
})
/** Decode `registers` placed at the point's address inside a read starting two registers earlier. */
const decode = (p: ModbusPoint, registers: readonly number[]) =>
  decodePoint(p, request(p.register - 2), { registers: [0xdead, 0xbeef, ...registers, 0xffff] })

describe('registerCount', () => {
  it.each([
    ['int16', 1],
    ['uint16', 1],
    ['bcd16', 1],
    ['int32', 2],
    ['uint32', 2],
    ['float32', 2],
    ['bcd32', 2],
    ['int64', 4],
    ['uint64', 4],
    ['float64', 4],
  ] as const)('%s spans %i', (type, n) => expect(registerCount(point(type))).toBe(n))
  it('bit, string, bool', () => {
    expect(registerCount(point('bit', { bit: 3 }))).toBe(1)
    expect(registerCount(point('string', { length: 8 }))).toBe(8)
    expect(registerCount(point('bool', { table: 'coil' }))).toBe(1)
    expect(registerCount(point('bool', { table: 'discrete-input' }))).toBe(1)
  })
  it('refuses shapes that cannot be read, naming the point', () => {
    expect(() => registerCount(point('string'))).toThrow(/point p1: .*length/)
    expect(() => registerCount(point('bit'))).toThrow(/bit 0–15/)
    expect(() => registerCount(point('bit', { bit: 16 }))).toThrow(/bit 0–15/)
    expect(() => registerCount(point('int32', { table: 'coil' }))).toThrow(/must be bool/)
    expect(() => registerCount(point('bool'))).toThrow(/coils and discrete inputs/)
    expect(() => registerCount(point('uint32', { register: 65535 }))).toThrow(/outside 0–65535/)
  })
})

describe.each(Object.keys(REF) as NumericType[])('%s against Buffer reference vectors', (type) => {
  const ref = REF[type]
  it.each(ORDERS)('decodes byteOrder %s', (order) => {
    const next = rng(type.length * 31 + order.charCodeAt(0))
    for (let i = 0; i < 300; i++) {
      const expected = ref.read(randomBytes(next, ref.size))
      if (typeof expected === 'number' && !Number.isFinite(expected)) continue
      const be = ref.write(expected) // written back by Buffer, not by the codec
      const got = decode(point(type, { byteOrder: order }), arrange(be, order))
      expect(got).toEqual({ value: expected, quality: 'good' })
    }
  })
  it.each(ORDERS)('round-trips random values through encodeValue, byteOrder %s', (order) => {
    const next = rng(type.length * 17 + order.charCodeAt(1))
    const p = point(type, { byteOrder: order })
    for (let i = 0; i < 300; i++) {
      const be = randomBytes(next, ref.size)
      const value = ref.read(be)
      if (typeof value === 'number' && Number.isNaN(value)) continue
      if (typeof value === 'number' && !Number.isFinite(value)) continue
      const registers = encodeValue(p, value)
      expect(registers).toEqual(arrange(ref.write(value), order))
      expect(decode(p, registers).value).toEqual(value)
    }
  })
})

describe('fixed vectors', () => {
  it('float32 123.456 in all four orders', () => {
    const wire = {
      ABCD: [0x42f6, 0xe979],
      CDAB: [0xe979, 0x42f6],
      BADC: [0xf642, 0x79e9],
      DCBA: [0x79e9, 0xf642],
    }
    for (const order of ORDERS) {
      expect(decode(point('float32', { byteOrder: order }), wire[order]).value).toBe(Math.fround(123.456))
      expect(encodeValue(point('float32', { byteOrder: order }), 123.456)).toEqual(wire[order])
    }
  })
  it('DCBA is what a little-endian writer produces', () => {
    const le32 = Buffer.alloc(4)
    le32.writeFloatLE(-1.5)
    const le64 = Buffer.alloc(8)
    le64.writeBigUInt64LE(0x0102030405060708n)
    const words = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16BE(2 * i))
    expect(decode(point('float32', { byteOrder: 'DCBA' }), words(le32)).value).toBe(-1.5)
    expect(decode(point('uint64', { byteOrder: 'DCBA' }), words(le64)).value).toBe('72623859790382856')
  })
  it('uint32 and uint64 word and byte layouts', () => {
    const u32 = {
      ABCD: [0x1234, 0x5678],
      CDAB: [0x5678, 0x1234],
      BADC: [0x3412, 0x7856],
      DCBA: [0x7856, 0x3412],
    }
    const u64 = {
      ABCD: [0x0102, 0x0304, 0x0506, 0x0708],
      CDAB: [0x0708, 0x0506, 0x0304, 0x0102],
      BADC: [0x0201, 0x0403, 0x0605, 0x0807],
      DCBA: [0x0807, 0x0605, 0x0403, 0x0201],
    }
    for (const order of ORDERS) {
      expect(decode(point('uint32', { byteOrder: order }), u32[order]).value).toBe(0x12345678)
      expect(decode(point('uint64', { byteOrder: order }), u64[order]).value).toBe('72623859790382856')
    }
  })
  it('one-register types ignore byteOrder (§4.2 fixes them)', () => {
    expect(decode(point('int16', { byteOrder: 'DCBA' }), [0xfffe]).value).toBe(-2)
    expect(decode(point('bcd16', { byteOrder: 'BADC' }), [0x1234]).value).toBe(1234)
  })
  it('64-bit values are numbers up to 2^53 − 1 and exact strings beyond', () => {
    expect(decode(point('int64'), [0x001f, 0xffff, 0xffff, 0xffff]).value).toBe(Number.MAX_SAFE_INTEGER)
    expect(decode(point('int64'), [0x0020, 0, 0, 0]).value).toBe('9007199254740992')
    expect(decode(point('uint64'), [0xffff, 0xffff, 0xffff, 0xffff]).value).toBe('18446744073709551615')
    expect(decode(point('int64'), [0x8000, 0, 0, 0]).value).toBe('-9223372036854775808')
    expect(decode(point('int64'), [0xffff, 0xffff, 0xffff, 0xffff]).value).toBe(-1)
  })
})

describe('BCD, bit, bool, string', () => {
  it('BCD digits', () => {
    expect(decode(point('bcd16'), [0x0000]).value).toBe(0)
    expect(decode(point('bcd16'), [0x9999]).value).toBe(9999)
    expect(decode(point('bcd32'), [0x1234, 0x5678]).value).toBe(12345678)
    expect(decode(point('bcd32', { byteOrder: 'CDAB' }), [0x5678, 0x1234]).value).toBe(12345678)
    expect(decode(point('bcd32', { scale: '0.01' }), [0x0012, 0x3456]).value).toBe(1234.56)
  })
  it('a nibble above 9 is bad', () => {
    for (const regs of [[0x12a4], [0xf000]]) {
      expect(decode(point('bcd16'), regs)).toEqual({
        value: Number.NaN,
        quality: 'bad',
        reason: 'invalid BCD digit',
      })
    }
    expect(decode(point('bcd32'), [0x1234, 0x567b]).reason).toBe('invalid BCD digit')
  })
  it('bit reads one bit, 0 being least significant', () => {
    const reg = [0b1010_0000_0000_0101]
    const bits = [0, 1, 2, 13, 14, 15].map((bit) => decode(point('bit', { bit }), reg).value)
    expect(bits).toEqual([true, false, true, true, false, true])
    expect(encodeValue(point('bit', { bit: 15 }), true)).toEqual([0x8000])
    expect(encodeValue(point('bit', { bit: 3 }), false)).toEqual([0])
  })
  it('bool comes from the bits of a coil or discrete-input read', () => {
    const coil = point('bool', { table: 'coil', register: 101 })
    expect(decodePoint(coil, request(100, 3, 'coil'), { bits: [false, true, false] })).toEqual({
      value: true,
      quality: 'good',
    })
    const missing = decodePoint(coil, request(100, 1, 'coil'), { bits: [false] })
    expect(missing.quality).toBe('bad')
    expect(missing.reason).toMatch(/p1/)
    expect(encodeBits(coil, false)).toEqual([false])
    expect(() => encodeBits(point('uint16'), 1)).toThrow(/encodeValue/)
    expect(() => encodeValue(coil, true)).toThrow(/encodeBits/)
  })
  it('strings: two ASCII characters per register, high byte first, padding trimmed', () => {
    const s = point('string', { length: 4 })
    expect(decode(s, [0x4865, 0x6c6c, 0x6f00, 0x0000]).value).toBe('Hello')
    expect(decode(s, [0x4142, 0x2020, 0x2000, 0x0000]).value).toBe('AB')
    expect(decode(s, [0x4142, 0xc400, 0, 0]).quality).toBe('bad')
    // A NUL inside the text (not padding) is not storable text: bad, never good.
    expect(decode(s, [0x4142, 0x0043, 0x4445, 0x0000])).toEqual({
      value: Number.NaN,
      quality: 'bad',
      reason: 'string holds a NUL byte at offset 2, before its end',
    })
    expect(decode(s, [0x4142, 0x0000, 0x2000, 0x0000]).value).toBe('AB')
    expect(encodeValue(s, 'Hello')).toEqual([0x4865, 0x6c6c, 0x6f00, 0x0000])
    expect(() => encodeValue(s, 'too long!')).toThrow(/does not fit/)
    expect(() => encodeValue(s, 'é')).toThrow(/ASCII/)
  })
})

describe('plausible range', () => {
  it('reads a value outside it as bad with the value kept, compared exactly', () => {
    const p = point('uint64', { byteOrder: 'ABCD', plausibleMax: '18446744073709551614' })
    expect(decode(p, [0xffff, 0xffff, 0xffff, 0xfffe])).toEqual({
      value: '18446744073709551614',
      quality: 'good',
    })
    expect(decode(p, [0xffff, 0xffff, 0xffff, 0xffff])).toEqual({
      value: '18446744073709551615',
      quality: 'bad',
      reason: 'value 18446744073709551615 is above the plausible maximum 18446744073709551614',
    })
  })
  it('must hold a value: min below max', () => {
    expect(registerCount.bind(null, point('uint16', { plausibleMin: 5, plausibleMax: '5' }))).toThrow(
      /plausibleMin 5 must be below plausibleMax 5/,
    )
  })
})

describe('scale and offset', () => {
  it('are exact for integer raw values', () => {
    expect(decode(point('uint32', { scale: '0.01' }), [0x075b, 0xcd15]).value).toBe(1234567.89)
    expect(123456789 * 0.01).not.toBe(1234567.89) // the float noise this avoids
    expect(decode(point('uint32', { scale: 0.01 }), [0x075b, 0xcd15]).value).toBe(1234567.89)
    expect(decode(point('uint16', { scale: '0.1' }), [3]).value).toBe(0.3)
    expect(decode(point('int16', { scale: '0.5', offset: '-273.15' }), [0xfffb]).value).toBe(-275.65)
    expect(decode(point('uint16', { scale: '0.001', offset: 0.1 }), [1001]).value).toBe(1.101)
    expect(decode(point('uint16', { offset: '-1000' }), [0]).value).toBe(-1000)
    expect(decode(point('uint16', { scale: '1e-3' }), [5]).value).toBe(0.005)
  })
  it('give the exact decimal string when a double cannot hold the result', () => {
    const max = [0xffff, 0xffff, 0xffff, 0xffff]
    expect(decode(point('uint64', { scale: '0.001' }), max).value).toBe('18446744073709551.615')
    expect(decode(point('int64', { scale: '0.01' }), [0x0020, 0, 0, 1]).value).toBe('90071992547409.93')
  })
  it('are applied in floating point for floats', () => {
    expect(decode(point('float32', { scale: 2, offset: '1' }), [0x42c9, 0x0000]).value).toBe(202)
    expect(Object.is(decode(point('float32'), [0x8000, 0]).value, -0)).toBe(true)
  })
  it('round-trip exactly through encodeValue for integers', () => {
    const next = rng(7)
    const p = point('int32', { scale: '0.01', offset: '-5.5', byteOrder: 'CDAB' })
    for (let i = 0; i < 500; i++) {
      const registers = [Math.floor(next() * 65536), Math.floor(next() * 65536)]
      const { value } = decode(p, registers)
      expect(encodeValue(p, value)).toEqual(registers)
    }
  })
  it('round-trip closely for floats', () => {
    const next = rng(8)
    const p = point('float64', { scale: '0.1', offset: 3, byteOrder: 'BADC' })
    for (let i = 0; i < 200; i++) {
      const v = (next() - 0.5) * 1e6
      expect(decode(p, encodeValue(p, v)).value).toBeCloseTo(v, 6)
    }
  })
  it('encodeValue rounds to the nearest raw step, half away from zero, and checks range', () => {
    const p = point('int16', { scale: '0.1' })
    expect(encodeValue(p, 12.34)).toEqual([123])
    expect(encodeValue(p, 12.35)).toEqual([124])
    expect(encodeValue(p, -12.35)).toEqual([0xffff - 123])
    expect(encodeValue(point('uint64'), '18446744073709551615')).toEqual([0xffff, 0xffff, 0xffff, 0xffff])
    expect(() => encodeValue(point('int16'), 40000)).toThrow(/point p1: raw 40000/)
    expect(() => encodeValue(point('bcd16'), 10000)).toThrow(/outside bcd16/)
    expect(() => encodeValue(point('bcd32'), -1)).toThrow(/outside bcd32/)
    expect(encodeValue(point('bcd32', { byteOrder: 'CDAB' }), 12345678)).toEqual([0x5678, 0x1234])
    expect(() => encodeValue(point('float32'), 1e39)).toThrow(/not finite/)
    expect(() => encodeValue(point('uint16'), 'abc')).toThrow(/not a number/)
  })
})

describe('bad quality', () => {
  it('float NaN and ±Infinity', () => {
    for (const regs of [
      [0x7fc0, 0],
      [0x7f80, 0],
      [0xff80, 0],
    ]) {
      const got = decode(point('float32'), regs)
      expect(got.quality).toBe('bad')
      expect(got.reason).toMatch(/float is (NaN|Infinity|-Infinity)/)
    }
    expect(decode(point('float64'), [0x7ff8, 0, 0, 0]).quality).toBe('bad')
  })
  it('missing registers, naming the point', () => {
    const p = point('uint32', { code: 'kwh_total', register: 10 })
    const short = decodePoint(p, request(10, 2), { registers: [1] })
    expect(short).toMatchObject({
      quality: 'bad',
      reason: expect.stringMatching(/kwh_total.*needs 2 registers/),
    })
    expect(decodePoint(p, request(11, 2), { registers: [1, 2] }).reason).toMatch(/kwh_total/)
    expect(decodePoint(p, request(10, 2), {}).quality).toBe('bad')
  })
  it('the wrong table, a register out of range, an unusable scale', () => {
    expect(decodePoint(point('uint16'), request(10, 1, 'coil'), { registers: [1] }).quality).toBe('bad')
    expect(decode(point('uint16'), [70000]).quality).toBe('bad')
    expect(decode(point('uint16', { scale: '0' }), [1]).reason).toMatch(/scale/)
    expect(decode(point('uint16', { offset: 'x' }), [1]).reason).toMatch(/offset/)
  })
})

describe('decodeAllOrders', () => {
  it('shows one register pair four ways', () => {
    const all = decodeAllOrders([0x42f6, 0xe979], 'float32')
    expect(all.ABCD).toBe(Math.fround(123.456))
    expect(all.CDAB).toBe(Buffer.from([0xe9, 0x79, 0x42, 0xf6]).readFloatBE(0))
    expect(all.BADC).toBe(Buffer.from([0xf6, 0x42, 0x79, 0xe9]).readFloatBE(0))
    expect(all.DCBA).toBe(Buffer.from([0x79, 0xe9, 0xf6, 0x42]).readFloatBE(0))
    expect(decodeAllOrders([0x1234, 0x5678], 'uint32')).toEqual({
      ABCD: 0x12345678,
      CDAB: 0x56781234,
      BADC: 0x34127856,
      DCBA: 0x78563412,
    })
  })
  it('marks undecodable orders and short input', () => {
    expect(decodeAllOrders([0x1234, 0x567a], 'bcd32')).toMatchObject({ ABCD: 'bad: invalid BCD digit' })
    expect(decodeAllOrders([0x0001], 'uint32').ABCD).toBe('bad: needs 2 registers, got 1')
    expect(new Set(Object.values(decodeAllOrders([0xfffe], 'int16')))).toEqual(new Set([-2]))
  })
})
