/**
 * Modbus register codec: wire registers ↔ point values. Pure (no I/O), exact where it matters.
 *
 * Byte order. The Modbus Application Protocol Specification v1.1b3 §4.2 (Data Encoding) fixes only
 * that a register travels big-endian, most significant byte first; how a value wider than one
 * register is spread over several registers is left to the vendor. We use the names Telegraf,
 * ThingsBoard and EdgeX use, A being the most significant byte of the value:
 *   ABCD  registers AB CD  big-endian, high word first (the default)
 *   CDAB  registers CD AB  words in reverse order, bytes within each word kept
 *   BADC  registers BA DC  words in order, bytes within each word swapped
 *   DCBA  registers DC BA  little-endian (both of the above)
 * 64-bit values follow the same rule over all four words: CDAB is GH EF CD AB, BADC is BA DC FE HG,
 * DCBA is HG FE DC BA (Telegraf's GHEFCDAB, BADCFEHG, HGFEDCBA). One-register types and strings
 * ignore byteOrder: §4.2 already fixes their layout.
 *
 * Exactness. We bill from these values, so integer and BCD raw values are scaled in BigInt decimal
 * arithmetic. The result is a number when that number prints back as the exact decimal and lies
 * within ±Number.MAX_SAFE_INTEGER (12.34, never 12.340000000000002); otherwise it is the exact
 * decimal string ('18446744073709551615'), because a double would silently round a counter.
 * Floats are already approximate on the wire, so their scale and offset are applied in floating point.
 */
import type { ByteOrder, DataType, PointValue, Quality } from '../driver-types.ts'
import { wideDataTypes } from '../driver-types.ts'
import type { ModbusPoint, ModbusTable, ReadRequest } from './modbus-types.ts'

export interface DecodedPoint {
  /**
   * NaN when quality is 'bad' because nothing was decoded (a Reading then carries null); the
   * decoded value when it is bad only for lying outside the point's plausible range.
   */
  readonly value: PointValue
  readonly quality: Quality
  readonly reason?: string
}

/** What a read returned: registers for FC3/FC4, bits for FC1/FC2, both indexed from request.start. */
export interface RegisterData {
  readonly registers?: readonly number[]
  readonly bits?: readonly boolean[]
}

const WIDE = wideDataTypes

export function isBitTable(table: ModbusTable): boolean {
  return table === 'coil' || table === 'discrete-input'
}

function span(point: ModbusPoint): number {
  return point.dataType === 'string' ? (point.length ?? 0) : (WIDE[point.dataType] ?? 1)
}

/** Why a point cannot be read as configured, or undefined. Rules from docs/data-model.md. */
export function pointShapeError(point: ModbusPoint): string | undefined {
  const { dataType, bit, length, register } = point
  if (isBitTable(point.table) !== (dataType === 'bool')) {
    return dataType === 'bool'
      ? `bool is for coils and discrete inputs; use bit for one bit of ${point.table} ${register}`
      : `a ${point.table} holds a single bit: its dataType must be bool, not ${dataType}`
  }
  if (dataType === 'bit' && !(Number.isInteger(bit) && bit! >= 0 && bit! <= 15)) {
    return 'dataType bit needs bit 0–15'
  }
  if (dataType === 'string' && !(Number.isInteger(length) && length! >= 1)) {
    return 'dataType string needs length ≥ 1 (registers)'
  }
  if (!Number.isInteger(register) || register < 0 || register + span(point) > 65536) {
    return `register ${register} (+${span(point)}) lies outside 0–65535`
  }
  return plausibleRangeError(point)
}

/** Registers (or bits, on coil and discrete-input tables) the point occupies. */
export function registerCount(point: ModbusPoint): number {
  const problem = pointShapeError(point)
  if (problem !== undefined) throw new Error(`point ${point.code}: ${problem}`)
  return span(point)
}

// ---- byte order -----------------------------------------------------------------------------

/** Wire registers → value bytes, most significant first. */
function valueBytes(words: readonly number[], order: ByteOrder): Uint8Array {
  const reversed = order === 'CDAB' || order === 'DCBA'
  const swapped = order === 'BADC' || order === 'DCBA'
  const out = new Uint8Array(words.length * 2)
  words.forEach((word, i) => {
    const at = 2 * (reversed ? words.length - 1 - i : i)
    out[at + (swapped ? 1 : 0)] = word >> 8
    out[at + (swapped ? 0 : 1)] = word & 0xff
  })
  return out
}

/** Value bytes → wire registers. Each order is its own inverse, so the same permutation applies. */
function wireWords(bytes: Uint8Array, order: ByteOrder): number[] {
  const be = (b: Uint8Array, i: number) => (b[2 * i]! << 8) | b[2 * i + 1]!
  const words = Array.from({ length: bytes.length / 2 }, (_, i) => be(bytes, i))
  const permuted = valueBytes(words, order)
  return words.map((_, i) => be(permuted, i))
}

// ---- exact decimals: value = m / 10^e ---------------------------------------------------------

interface Decimal {
  readonly m: bigint
  readonly e: number
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i

function normalise(m: bigint, e: number): Decimal {
  while (e > 0 && m % 10n === 0n) {
    m /= 10n
    e--
  }
  return { m, e }
}

/** Numbers go through String(), whose shortest round-trip form is the decimal the user wrote. */
function parseDecimal(x: number | string): Decimal | undefined {
  const match = DECIMAL.exec(String(x).trim())
  if (!match) return undefined
  const [, sign = '', whole = '', frac = '', exp = '0'] = match
  const e = frac.length - Number(exp)
  // A bound keeps '1e999999' from building a huge BigInt; no register value gets near it.
  if (whole + frac === '' || Math.abs(e) > 400) return undefined
  const m = BigInt(`${sign}${whole}${frac}`)
  return e < 0 ? normalise(m * 10n ** BigInt(-e), 0) : normalise(m, e)
}

/** Exact order of two decimals (numbers read through String()); undefined if one is not one. */
function compareDecimals(a: number | string, b: number | string): -1 | 0 | 1 | undefined {
  const x = parseDecimal(a)
  const y = parseDecimal(b)
  if (x === undefined || y === undefined) return undefined
  const e = Math.max(x.e, y.e)
  const l = x.m * 10n ** BigInt(e - x.e)
  const r = y.m * 10n ** BigInt(e - y.e)
  return l < r ? -1 : l > r ? 1 : 0
}

function formatDecimal({ m, e }: Decimal): string {
  const digits = (m < 0n ? -m : m).toString().padStart(e + 1, '0')
  const body = e === 0 ? digits : `${digits.slice(0, -e)}.${digits.slice(-e)}`
  return m < 0n ? `-${body}` : body
}

/** The number when it is exactly this decimal as JS prints it, else the exact decimal string. */
function toPointValue(d: Decimal): PointValue {
  const text = formatDecimal(d)
  const n = Number(text)
  const back = parseDecimal(n)
  const same = back !== undefined && back.m === d.m && back.e === d.e
  return same && Math.abs(n) <= Number.MAX_SAFE_INTEGER ? n : text
}

/** Integer division rounding half away from zero. */
function divRound(n: bigint, d: bigint): bigint {
  if (d < 0n) return divRound(-n, -d)
  const q = n / d
  const r = n % d
  if (2n * (r < 0n ? -r : r) < d) return q
  return n < 0n ? q - 1n : q + 1n
}

interface Affine {
  readonly scale: Decimal
  readonly offset: Decimal
}

function affineOf(point: ModbusPoint): Affine | string {
  const scale = parseDecimal(point.scale ?? 1)
  const offset = parseDecimal(point.offset ?? 0)
  if (scale === undefined || scale.m === 0n) return `scale ${String(point.scale)} is not a non-zero decimal`
  if (offset === undefined) return `offset ${String(point.offset)} is not a decimal`
  return { scale, offset }
}

const isIdentity = ({ scale, offset }: Affine) => scale.m === 1n && scale.e === 0 && offset.m === 0n

// ---- decoding ---------------------------------------------------------------------------------

type Raw =
  | { readonly kind: 'exact'; readonly int: bigint }
  | { readonly kind: 'float'; readonly float: number }
  | { readonly kind: 'plain'; readonly plain: boolean | string }
  | { readonly kind: 'bad'; readonly reason: string }

const bad = (reason: string): Raw => ({ kind: 'bad', reason })
const exact = (int: bigint | number): Raw => ({ kind: 'exact', int: BigInt(int) })
const float = (f: number): Raw => (Number.isFinite(f) ? { kind: 'float', float: f } : bad(`float is ${f}`))

function decodeString(words: readonly number[]): Raw {
  const bytes = valueBytes(words, 'ABCD')
  if (bytes.some((b) => b > 0x7f)) return bad('string holds a non-ASCII byte')
  // Devices pad fixed-length strings with NULs or spaces; neither is part of the value.
  let end = bytes.length
  while (end > 0 && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--
  // A NUL before the padding is not text: the hub cannot store it, and what follows it is
  // usually stale register contents. Say so rather than send it as good.
  const nul = bytes.subarray(0, end).indexOf(0)
  if (nul >= 0) return bad(`string holds a NUL byte at offset ${nul}, before its end`)
  return { kind: 'plain', plain: String.fromCharCode(...bytes.subarray(0, end)) }
}

const READ: Partial<Record<DataType, (view: DataView) => Raw>> = {
  int16: (v) => exact(v.getInt16(0)),
  uint16: (v) => exact(v.getUint16(0)),
  int32: (v) => exact(v.getInt32(0)),
  uint32: (v) => exact(v.getUint32(0)),
  int64: (v) => exact(v.getBigInt64(0)),
  uint64: (v) => exact(v.getBigUint64(0)),
  float32: (v) => float(v.getFloat32(0)),
  float64: (v) => float(v.getFloat64(0)),
}

function decodeRaw(dataType: DataType, words: readonly number[], order: ByteOrder, bit = 0): Raw {
  if (dataType === 'bit') return { kind: 'plain', plain: ((words[0]! >> bit) & 1) === 1 }
  if (dataType === 'string') return decodeString(words)
  const bytes = valueBytes(words, WIDE[dataType] ? order : 'ABCD')
  if (dataType === 'bcd16' || dataType === 'bcd32') {
    // Packed BCD: each nibble one decimal digit, so the hex spelling is the decimal spelling.
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
    return /^\d+$/.test(hex) ? exact(BigInt(hex)) : bad('invalid BCD digit')
  }
  const read = READ[dataType]
  return read ? read(new DataView(bytes.buffer)) : bad(`${dataType} is not a register type`)
}

const good = (value: PointValue): DecodedPoint => ({ value, quality: 'good' })
const failed = (reason: string): DecodedPoint => ({ value: Number.NaN, quality: 'bad', reason })

function applyAffine(point: ModbusPoint, raw: Raw): DecodedPoint {
  if (raw.kind === 'bad') return failed(raw.reason)
  if (raw.kind === 'plain') return good(raw.plain)
  const affine = affineOf(point)
  if (typeof affine === 'string') return failed(`point ${point.code}: ${affine}`)
  if (raw.kind === 'float') {
    if (isIdentity(affine)) return good(raw.float)
    const v = raw.float * Number(formatDecimal(affine.scale)) + Number(formatDecimal(affine.offset))
    return Number.isFinite(v) ? good(v) : failed(`scaled value is ${v}`)
  }
  const { scale, offset } = affine
  const e = Math.max(scale.e, offset.e)
  const m = raw.int * scale.m * 10n ** BigInt(e - scale.e) + offset.m * 10n ** BigInt(e - offset.e)
  return good(toPointValue(normalise(m, e)))
}

/** A plausible range that cannot hold any value is a configuration mistake, refused at load. */
export function plausibleRangeError(point: ModbusPoint): string | undefined {
  const { plausibleMin: min, plausibleMax: max } = point
  if (min === undefined || max === undefined) return undefined
  return compareDecimals(min, max) === -1
    ? undefined
    : `plausibleMin ${min} must be below plausibleMax ${max}`
}

/**
 * A decoded number outside the point's plausible range (a profile's or the config's) is sent
 * with quality bad and the reason, its value kept: the hub stores it flagged, never rounded.
 */
function checkPlausible(point: ModbusPoint, decoded: DecodedPoint): DecodedPoint {
  const { value } = decoded
  if (decoded.quality === 'bad' || (typeof value !== 'number' && typeof value !== 'string')) return decoded
  const { plausibleMin: min, plausibleMax: max } = point
  let reason: string | undefined
  if (min !== undefined && compareDecimals(value, min) === -1)
    reason = `value ${value} is below the plausible minimum ${min}`
  else if (max !== undefined && compareDecimals(value, max) === 1)
    reason = `value ${value} is above the plausible maximum ${max}`
  return reason === undefined ? decoded : { value, quality: 'bad', reason }
}

/** Decode one point from the data of the request that read it; never throws. */
export function decodePoint(point: ModbusPoint, request: ReadRequest, data: RegisterData): DecodedPoint {
  const problem =
    pointShapeError(point) ??
    (point.table === request.table ? undefined : `is a ${point.table}, the request read ${request.table}`)
  if (problem !== undefined) return failed(`point ${point.code}: ${problem}`)
  const at = point.register - request.start
  if (isBitTable(point.table)) {
    const value = at >= 0 ? data.bits?.[at] : undefined
    return typeof value === 'boolean'
      ? good(value)
      : failed(`point ${point.code}: ${point.table} ${point.register} is missing from the reply`)
  }
  const count = span(point)
  const words = at >= 0 ? (data.registers?.slice(at, at + count) ?? []) : []
  if (words.length < count) {
    return failed(`point ${point.code}: needs ${count} registers from ${point.register}, got ${words.length}`)
  }
  if (words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) {
    return failed(`point ${point.code}: a register value lies outside 0–65535`)
  }
  return checkPlausible(
    point,
    applyAffine(point, decodeRaw(point.dataType, words, point.byteOrder ?? 'ABCD', point.bit)),
  )
}

/** One register group decoded every way (raw, unscaled), so an installer can pick the sane order. */
export function decodeAllOrders(
  registers: readonly number[],
  dataType: Exclude<DataType, 'bit' | 'bool'>,
): Record<ByteOrder, PointValue | string> {
  const need = dataType === 'string' ? Math.max(registers.length, 1) : (WIDE[dataType] ?? 1)
  const one = (order: ByteOrder): PointValue => {
    const words = registers.slice(0, need)
    if (words.length < need) return `bad: needs ${need} registers, got ${words.length}`
    if (words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return 'bad: register outside 0–65535'
    const raw = decodeRaw(dataType, words, order)
    if (raw.kind === 'bad') return `bad: ${raw.reason}`
    if (raw.kind === 'exact') return toPointValue({ m: raw.int, e: 0 })
    return raw.kind === 'float' ? raw.float : raw.plain
  }
  return { ABCD: one('ABCD'), CDAB: one('CDAB'), BADC: one('BADC'), DCBA: one('DCBA') }
}

// ---- encoding (simulators, writes) ------------------------------------------------------------

const RANGE: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  bcd16: [0n, 9999n],
  bcd32: [0n, 99_999_999n],
}

function asBoolean(point: ModbusPoint, value: PointValue): boolean {
  if (typeof value === 'boolean') return value
  if (value === 0 || value === 1) return value === 1
  throw new TypeError(`point ${point.code}: ${String(value)} is not a boolean`)
}

/**
 * Registers that decodePoint reads back as `value`. Integer and BCD values are un-scaled exactly and
 * rounded half away from zero to the nearest raw step. For dataType bit only that bit is set: the
 * caller merges it into the register's other bits.
 */
export function encodeValue(point: ModbusPoint, value: PointValue): number[] {
  const count = registerCount(point)
  const fail = (why: string) => new RangeError(`point ${point.code}: ${why}`)
  const { dataType } = point
  if (isBitTable(point.table)) throw fail(`a ${point.table} is a bit: use encodeBits`)
  if (dataType === 'bit') return [asBoolean(point, value) ? 1 << point.bit! : 0]
  if (dataType === 'string') {
    const text = typeof value === 'string' ? value : ''
    const codes = Array.from(text, (c) => c.charCodeAt(0))
    if (typeof value !== 'string' || codes.some((c) => c === 0 || c > 0x7f)) {
      throw fail('needs an ASCII string without NULs')
    }
    if (text.length > count * 2) throw fail(`"${text}" does not fit ${count} registers`)
    return wireWords(
      Uint8Array.from({ length: count * 2 }, (_, i) => text.charCodeAt(i) || 0),
      'ABCD',
    )
  }
  const affine = affineOf(point)
  if (typeof affine === 'string') throw fail(affine)
  const order = count > 1 ? (point.byteOrder ?? 'ABCD') : 'ABCD'
  const bytes = new Uint8Array(count * 2)
  if (dataType === 'float32' || dataType === 'float64') {
    const v = typeof value === 'boolean' ? Number.NaN : Number(value)
    const { scale, offset } = affine
    const raw = isIdentity(affine) ? v : (v - Number(formatDecimal(offset))) / Number(formatDecimal(scale))
    if (!Number.isFinite(dataType === 'float32' ? Math.fround(raw) : raw))
      throw fail(`raw ${raw} is not finite`)
    const view = new DataView(bytes.buffer)
    if (dataType === 'float32') view.setFloat32(0, raw)
    else view.setFloat64(0, raw)
    return wireWords(bytes, order)
  }
  const target = typeof value === 'boolean' ? undefined : parseDecimal(value)
  if (target === undefined) throw fail(`${String(value)} is not a number`)
  // raw = (value − offset) / scale, over the common denominator 10^e.
  const { scale, offset } = affine
  const e = Math.max(target.e, offset.e)
  const diff = target.m * 10n ** BigInt(e - target.e) - offset.m * 10n ** BigInt(e - offset.e)
  const raw = divRound(diff * 10n ** BigInt(scale.e), scale.m * 10n ** BigInt(e))
  const [min, max] = RANGE[dataType] ?? [0n, -1n]
  if (raw < min || raw > max) throw fail(`raw ${raw} lies outside ${dataType} (${min}…${max})`)
  let bits = dataType.startsWith('bcd') ? BigInt(`0x${raw}`) : BigInt.asUintN(count * 16, raw)
  for (let i = bytes.length - 1; i >= 0; i--, bits >>= 8n) bytes[i] = Number(bits & 0xffn)
  return wireWords(bytes, order)
}

/** Bits for a write to a coil (FC5/FC15); inverse of decodePoint on coil and discrete-input tables. */
export function encodeBits(point: ModbusPoint, value: PointValue): boolean[] {
  registerCount(point)
  if (!isBitTable(point.table))
    throw new RangeError(`point ${point.code}: a ${point.table} takes encodeValue`)
  return [asBoolean(point, value)]
}
