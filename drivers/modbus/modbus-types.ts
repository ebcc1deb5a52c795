import type { ByteOrder, DataType, PointKind } from '../driver-types.ts'

/** Modbus register tables. Addresses are zero-based wire (PDU) addresses. */
export type ModbusTable = 'coil' | 'discrete-input' | 'input-register' | 'holding-register'

export interface ModbusPoint {
  /** Point code, unique within its device. */
  readonly code: string
  readonly table: ModbusTable
  /** Zero-based wire address of the first register (or of the coil / input). */
  readonly register: number
  /** For dataType 'bit': which bit of the 16-bit register (0 = least significant). */
  readonly bit?: number
  /** For dataType 'string': how many registers (2 ASCII characters each). */
  readonly length?: number
  readonly dataType: DataType
  /** Needed for values spanning more than one register; default ABCD. */
  readonly byteOrder?: ByteOrder
  /** value = raw × scale + offset. Kept as decimal strings or numbers as configured. */
  readonly scale?: number | string
  readonly offset?: number | string
  /** Values outside [plausibleMin, plausibleMax] are read as bad with the reason, value kept. */
  readonly plausibleMin?: number | string
  readonly plausibleMax?: number | string
  readonly kind: PointKind
}

export interface ModbusLimits {
  /** Most registers one read may ask for (FC3/FC4 allow 125; many meters accept fewer). */
  readonly maxRegistersPerRead: number
  /** Most coils/inputs one read may ask for (FC1/FC2 allow 2000). */
  readonly maxBitsPerRead: number
  /** Largest run of unwanted registers a read may bridge to merge two points (0: never). */
  readonly maxGap: number
}

export const defaultModbusLimits: ModbusLimits = {
  maxRegistersPerRead: 125,
  maxBitsPerRead: 2000,
  maxGap: 10,
}

/** One protocol request the planner chose: a contiguous range of one table of one unit. */
export interface ReadRequest {
  readonly unitId: number
  readonly table: ModbusTable
  /** Function code: 1 coils, 2 discrete inputs, 3 holding registers, 4 input registers. */
  readonly functionCode: 1 | 2 | 3 | 4
  readonly start: number
  readonly count: number
  /** The points this request serves. */
  readonly points: readonly ModbusPoint[]
}
