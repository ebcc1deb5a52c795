import { describe, expect, it } from 'vitest'
import type { DataType } from '../driver-types.ts'
import type { ModbusLimits, ModbusPoint, ModbusTable, ReadRequest } from './modbus-types.ts'
import { defaultModbusLimits } from './modbus-types.ts'
import { planReads } from './read-planner.ts'

let seq = 0
const pt = (
  register: number,
  dataType: DataType = 'uint16',
  table: ModbusTable = 'holding-register',
  extra: Partial<ModbusPoint> = {},
): ModbusPoint => ({ code: `p${seq++}`, table, register, dataType, kind: 'gauge', ...extra })
const limits = (over: Partial<ModbusLimits>): ModbusLimits => ({ ...defaultModbusLimits, ...over })
const ranges = (requests: readonly ReadRequest[]) => requests.map((r) => [r.start, r.count])

/** Registers (or bits) a point occupies, computed here rather than by the codec under test. */
const WIDTH: Partial<Record<DataType, number>> = { int32: 2, uint32: 2, float32: 2, int64: 4, float64: 4 }
const width = (p: ModbusPoint) => (p.dataType === 'string' ? p.length! : (WIDTH[p.dataType] ?? 1))

/** Every point read exactly once, inside its request, and no request over the limit. */
function expectValidPlan(points: readonly ModbusPoint[], plan: readonly ReadRequest[], lim: ModbusLimits) {
  const served = plan.flatMap((r) => r.points)
  expect(new Set(served)).toEqual(new Set(points))
  expect(served).toHaveLength(points.length)
  for (const r of plan) {
    const bits = r.table === 'coil' || r.table === 'discrete-input'
    expect(r.count).toBeLessThanOrEqual(bits ? lim.maxBitsPerRead : lim.maxRegistersPerRead)
    for (const p of r.points) {
      expect(p.table).toBe(r.table)
      expect(p.register).toBeGreaterThanOrEqual(r.start)
      expect(p.register + width(p)).toBeLessThanOrEqual(r.start + r.count)
    }
  }
}

describe('planReads', () => {
  it('merges adjacent points into one read', () => {
    const points = [pt(3, 'float32'), pt(0), pt(1, 'uint32')]
    const plan = planReads(7, points)
    expect(plan).toEqual([
      {
        unitId: 7,
        table: 'holding-register',
        functionCode: 3,
        start: 0,
        count: 5,
        points: [points[1], points[2], points[0]],
      },
    ])
  })

  it('bridges a gap of exactly maxGap and splits at maxGap + 1', () => {
    const lim = limits({ maxGap: 3 })
    expect(ranges(planReads(1, [pt(0), pt(4)], lim))).toEqual([[0, 5]])
    expect(ranges(planReads(1, [pt(0), pt(5)], lim))).toEqual([
      [0, 1],
      [5, 1],
    ])
    const none = limits({ maxGap: 0 })
    expect(ranges(planReads(1, [pt(0), pt(1)], none))).toEqual([[0, 2]])
    expect(ranges(planReads(1, [pt(0), pt(2)], none))).toHaveLength(2)
  })

  it('honours a 40-register limit (Eastron-style meter)', () => {
    const lim = limits({ maxRegistersPerRead: 40 })
    const points = Array.from({ length: 100 }, (_, i) => pt(2 * i, 'float32', 'input-register'))
    const plan = planReads(1, points, lim)
    expect(ranges(plan)).toEqual([
      [0, 40],
      [40, 40],
      [80, 40],
      [120, 40],
      [160, 40],
    ])
    expect(plan.every((r) => r.functionCode === 4)).toBe(true)
    expectValidPlan(points, plan, lim)
    // A float32 must not straddle the boundary: at an odd start the 40th register cannot be taken alone.
    const odd = [pt(0), ...Array.from({ length: 20 }, (_, i) => pt(1 + 2 * i, 'float32'))]
    expect(ranges(planReads(1, odd, lim))).toEqual([
      [0, 39],
      [39, 2],
    ])
  })

  it('honours the 2000-bit limit and uses FC1/FC2', () => {
    const coils = Array.from({ length: 2500 }, (_, i) => pt(i, 'bool', 'coil'))
    const plan = planReads(1, coils)
    expect(ranges(plan)).toEqual([
      [0, 2000],
      [2000, 500],
    ])
    expect(plan.map((r) => r.functionCode)).toEqual([1, 1])
    expect(planReads(1, [pt(0, 'bool', 'discrete-input')])[0]!.functionCode).toBe(2)
  })

  it('never merges different tables, and orders them coil, discrete-input, holding, input', () => {
    const points = [
      pt(0, 'uint16', 'input-register'),
      pt(1, 'uint16', 'holding-register'),
      pt(0, 'bool', 'discrete-input'),
      pt(1, 'bool', 'coil'),
      pt(0, 'uint16', 'holding-register'),
    ]
    const plan = planReads(1, points)
    expect(plan.map((r) => [r.table, r.functionCode, r.start, r.count])).toEqual([
      ['coil', 1, 1, 1],
      ['discrete-input', 2, 0, 1],
      ['holding-register', 3, 0, 2],
      ['input-register', 4, 0, 1],
    ])
  })

  it('lets overlapping points share one read', () => {
    const points = [pt(5), pt(5, 'bit', 'holding-register', { bit: 3 }), pt(4, 'uint32'), pt(5, 'uint16')]
    const plan = planReads(1, points, limits({ maxGap: 0 }))
    expect(ranges(plan)).toEqual([[4, 2]])
    expectValidPlan(points, plan, limits({ maxGap: 0 }))
  })

  it('throws, naming the point, when one point is wider than a read may be', () => {
    const wide = pt(0, 'string', 'holding-register', { code: 'serial_no', length: 50 })
    expect(() => planReads(1, [wide], limits({ maxRegistersPerRead: 40 }))).toThrow(
      /point serial_no: spans 50 registers.*\(40\)/,
    )
    expect(() => planReads(1, [pt(0, 'string', 'holding-register', { code: 'bad_str' })])).toThrow(/bad_str/)
  })

  it('refuses limits beyond the protocol and bad unit ids', () => {
    expect(() => planReads(1, [], limits({ maxRegistersPerRead: 126 }))).toThrow(/1–125/)
    expect(() => planReads(1, [], limits({ maxBitsPerRead: 2001 }))).toThrow(/1–2000/)
    expect(() => planReads(1, [], limits({ maxGap: -1 }))).toThrow(/maxGap/)
    expect(() => planReads(256, [])).toThrow(/unit id/)
    expect(planReads(1, [])).toEqual([])
  })
})

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Can one read hold exactly these points? Span within the limit and no uncovered run over maxGap. */
function fitsOneRead(points: readonly ModbusPoint[], lim: ModbusLimits): boolean {
  const start = Math.min(...points.map((p) => p.register))
  const end = Math.max(...points.map((p) => p.register + width(p)))
  if (end - start > lim.maxRegistersPerRead) return false
  const covered = new Array<boolean>(end - start).fill(false)
  for (const p of points) for (let r = p.register; r < p.register + width(p); r++) covered[r - start] = true
  let run = 0
  for (const c of covered) {
    run = c ? 0 : run + 1
    if (run > lim.maxGap) return false
  }
  return true
}

/** Fewest reads by exhaustive set partition: DP over subsets, the lowest point's group chosen first. */
function minimumReads(points: readonly ModbusPoint[], lim: ModbusLimits): number {
  const n = points.length
  const full = (1 << n) - 1
  const fits = new Array<boolean>(full + 1).fill(false)
  for (let mask = 1; mask <= full; mask++)
    fits[mask] = fitsOneRead(
      points.filter((_, i) => mask & (1 << i)),
      lim,
    )
  const best = new Array<number>(full + 1).fill(Number.POSITIVE_INFINITY)
  best[0] = 0
  for (let mask = 1; mask <= full; mask++) {
    const low = mask & -mask
    for (let sub = mask; sub > 0; sub = (sub - 1) & mask) {
      if (sub & low && fits[sub]) best[mask] = Math.min(best[mask]!, best[mask ^ sub]! + 1)
    }
  }
  return best[full]!
}

describe('planReads is minimal', () => {
  it('matches an exhaustive minimum on 400 random cases of up to 12 points', () => {
    const next = rng(42)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
    const types: readonly DataType[] = ['uint16', 'uint16', 'bit', 'int32', 'float32', 'int64', 'string']
    let split = 0
    for (let c = 0; c < 400; c++) {
      const lim = limits({ maxRegistersPerRead: 4 + Math.floor(next() * 12), maxGap: Math.floor(next() * 4) })
      const points = Array.from({ length: 1 + Math.floor(next() * 12) }, () => {
        const dataType = pick(types)
        const extra =
          dataType === 'bit'
            ? { bit: 0 }
            : dataType === 'string'
              ? { length: 1 + Math.floor(next() * 4) }
              : {}
        return pt(Math.floor(next() * 40), dataType, 'holding-register', extra)
      })
      const plan = planReads(1, points, lim)
      expectValidPlan(points, plan, lim)
      expect(plan.length, JSON.stringify({ lim, points })).toBe(minimumReads(points, lim))
      if (plan.length > 1) split++
    }
    expect(split).toBeGreaterThan(100) // the cases exercise splitting, not just one read each
  })
})
