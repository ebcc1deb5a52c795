import { registerSpan as spanOf } from '../driver-types.ts'
import type { ModbusPoint } from './modbus-types.ts'
import { plausibleRangeError } from './register-codec.ts'

/** A point of a loaded profile: a ModbusPoint plus what a person needs to trust it. */
export interface ProfilePoint extends ModbusPoint {
  readonly unit?: string
  /** The document's register number and name, e.g. `30073 Total import kWh`. */
  readonly description?: string
}

export interface ProfileProblem {
  /** Key in the file: `points.3.register`. */
  readonly path: string
  readonly message: string
}

/** How many registers (or coils / inputs) a point occupies. */
export function registerSpan(point: Pick<ModbusPoint, 'dataType' | 'length'>): number {
  return spanOf(point.dataType, point.length)
}

interface Occupied {
  readonly index: number
  readonly code: string
  readonly first: number
  readonly last: number
  /** Set for dataType 'bit': two bits of one register do not overlap each other. */
  readonly bit?: number
}

function overlaps(a: Occupied, b: Occupied): boolean {
  if (a.first > b.last || b.first > a.last) return false
  return a.bit === undefined || b.bit === undefined || a.bit === b.bit
}

/**
 * The rules a schema cannot say: table and data type agree, bit and string points carry
 * what they need, a point fits below 65536, codes are unique, and no two points claim the
 * same register (a typo in a hand-copied map shows up as exactly that).
 */
export function checkProfilePoints(points: readonly ProfilePoint[]): ProfileProblem[] {
  const problems: ProfileProblem[] = []
  const codes = new Map<string, number>()
  const byTable = new Map<string, Occupied[]>()
  points.forEach((p, i) => {
    const at = `points.${i}`
    const bitTable = p.table === 'coil' || p.table === 'discrete-input'
    if (bitTable !== (p.dataType === 'bool')) {
      problems.push({
        path: `${at}.dataType`,
        message: bitTable ? `a ${p.table} holds one bool` : 'bool is only for coils and discrete inputs',
      })
    }
    if (p.dataType === 'bit' && p.bit === undefined)
      problems.push({ path: `${at}.bit`, message: 'is required for dataType bit' })
    if (p.dataType !== 'bit' && p.bit !== undefined)
      problems.push({ path: `${at}.bit`, message: 'is only for dataType bit' })
    if (p.dataType === 'string' && p.length === undefined)
      problems.push({ path: `${at}.length`, message: 'is required for dataType string' })
    const span = registerSpan(p)
    const last = p.register + span - 1
    if (last > 65535) {
      problems.push({ path: `${at}.register`, message: `a ${p.dataType} at ${p.register} runs past 65535` })
    }
    const range = plausibleRangeError(p)
    if (range !== undefined) problems.push({ path: `${at}.plausibleMax`, message: range })
    const first = codes.get(p.code)
    if (first !== undefined)
      problems.push({ path: `${at}.code`, message: `"${p.code}" is already points.${first}` })
    codes.set(p.code, i)
    const list = byTable.get(p.table) ?? []
    const bit = p.dataType === 'bit' ? p.bit : undefined
    list.push({ index: i, code: p.code, first: p.register, last, ...(bit !== undefined ? { bit } : {}) })
    byTable.set(p.table, list)
  })
  for (const [table, list] of byTable) {
    const sorted = [...list].sort((a, b) => a.first - b.first || a.index - b.index)
    sorted.forEach((a, k) => {
      // Every later point that starts at or before a's last register may overlap a.
      for (const b of sorted.slice(k + 1)) {
        if (b.first > a.last) break
        if (!overlaps(a, b)) continue
        const [early, late] = a.index < b.index ? [a, b] : [b, a]
        problems.push({
          path: `points.${late.index}.register`,
          message: `${table} ${late.first}-${late.last} overlaps points.${early.index} (${early.code}, ${early.first}-${early.last})`,
        })
      }
    })
  }
  return problems
}
