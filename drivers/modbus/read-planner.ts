/**
 * Read planner: a device's points in, the fewest Modbus read requests out. Pure (no I/O).
 *
 * Each request covers one contiguous range of one table (MAP spec v1.1b3 §6.1–6.4: FC1 coils,
 * FC2 discrete inputs, FC3 holding registers, FC4 input registers). A request may bridge a run
 * of at most `maxGap` registers that no point needs (some meters refuse reads across unmapped
 * registers, so the gap is configurable down to 0) and may not exceed the per-read limit.
 *
 * Why greedy is optimal. Taking points by start address, the open request's end is always the
 * furthest end seen so far, so a point is refused only when its end lies more than the limit past
 * the open request's start, or when the registers between that end and its start belong to no
 * point at all and number more than maxGap. Either way no valid read holds both the refused point
 * and any point starting at or before the open request's start (the first point of every earlier
 * request included), so the first points of the greedy requests are pairwise incompatible and any
 * plan needs at least as many reads as greedy makes.
 */
import type { ModbusLimits, ModbusPoint, ModbusTable, ReadRequest } from './modbus-types.ts'
import { defaultModbusLimits } from './modbus-types.ts'
import { isBitTable, registerCount } from './register-codec.ts'

/** Output order: tables in function-code order, then address. */
const TABLES: readonly ModbusTable[] = ['coil', 'discrete-input', 'holding-register', 'input-register']

const FUNCTION_CODE: Record<ModbusTable, ReadRequest['functionCode']> = {
  coil: 1,
  'discrete-input': 2,
  'holding-register': 3,
  'input-register': 4,
}

/** Protocol ceilings per read: §6.1/6.2 allow 2000 bits, §6.3/6.4 allow 125 registers. */
const PROTOCOL_MAX_BITS = 2000
const PROTOCOL_MAX_REGISTERS = 125

function checkLimits(limits: ModbusLimits): void {
  const within = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi
  if (!within(limits.maxRegistersPerRead, 1, PROTOCOL_MAX_REGISTERS)) {
    throw new RangeError(
      `maxRegistersPerRead must be 1–${PROTOCOL_MAX_REGISTERS}, got ${limits.maxRegistersPerRead}`,
    )
  }
  if (!within(limits.maxBitsPerRead, 1, PROTOCOL_MAX_BITS)) {
    throw new RangeError(`maxBitsPerRead must be 1–${PROTOCOL_MAX_BITS}, got ${limits.maxBitsPerRead}`)
  }
  if (!within(limits.maxGap, 0, 65535)) {
    throw new RangeError(`maxGap must be a whole number ≥ 0, got ${limits.maxGap}`)
  }
}

interface Span {
  readonly point: ModbusPoint
  readonly start: number
  readonly end: number
}

interface OpenRequest {
  readonly start: number
  end: number
  readonly points: ModbusPoint[]
}

/**
 * Plan the reads for one unit's points. Throws, naming the point, when a point is misconfigured
 * or wider than one read may be. Output is deterministic: table order coil, discrete-input,
 * holding-register, input-register, then ascending address; points keep address order within a request.
 */
export function planReads(
  unitId: number,
  points: readonly ModbusPoint[],
  limits: ModbusLimits = defaultModbusLimits,
): ReadRequest[] {
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) {
    throw new RangeError(`unit id must be 0–255, got ${unitId}`)
  }
  checkLimits(limits)
  const requests: ReadRequest[] = []
  for (const table of TABLES) {
    const bits = isBitTable(table)
    const limit = bits ? limits.maxBitsPerRead : limits.maxRegistersPerRead
    const spans: Span[] = points
      .filter((point) => point.table === table)
      .map((point) => ({ point, start: point.register, end: point.register + registerCount(point) }))
      // Array.prototype.sort is stable, so equal spans keep their configured order.
      .sort((a, b) => a.start - b.start || a.end - b.end)
    const close = (open: OpenRequest) =>
      requests.push({
        unitId,
        table,
        functionCode: FUNCTION_CODE[table],
        start: open.start,
        count: open.end - open.start,
        points: open.points,
      })
    let open: OpenRequest | undefined
    for (const { point, start, end } of spans) {
      if (end - start > limit) {
        const unit = bits ? 'bits' : 'registers'
        throw new Error(
          `point ${point.code}: spans ${end - start} ${unit}, more than one read allows (${limit})`,
        )
      }
      // A negative gap is an overlap: the point shares registers already being read.
      if (open && start - open.end <= limits.maxGap && Math.max(open.end, end) - open.start <= limit) {
        open.end = Math.max(open.end, end)
        open.points.push(point)
      } else {
        if (open) close(open)
        open = { start, end, points: [point] }
      }
    }
    if (open) close(open)
  }
  return requests
}
