/** The meter reads a bill run bills from: each unit's, whether they can be billed, their sum. */
import { Decimal } from '../kernel/decimal.ts'
import type { BillInputs } from './bill-compute.ts'
import type { ReadState } from './bill-inputs.ts'

// Reads looked up per unit and kind 100,000 times in a large estate: index them once.
const readIndex = new WeakMap<readonly ReadState[], Map<string, ReadState[]>>()
export function unitReads(inputs: BillInputs, unitId: string, kind: string): ReadState[] {
  let index = readIndex.get(inputs.reads)
  if (index === undefined) {
    index = new Map()
    for (const r of inputs.reads) {
      if (r.unitId === null) continue
      const key = `${r.unitId}/${r.kind}`
      const list = index.get(key) ?? []
      list.push(r)
      index.set(key, list)
    }
    readIndex.set(inputs.reads, index)
  }
  return index.get(`${unitId}/${kind}`) ?? []
}

/** Why reads cannot be billed, or undefined when every one is approved with a consumption. */
export function unbillable(reads: readonly ReadState[], period: string): string | undefined {
  const bad = reads.filter((r) => r.status !== 'approved' || r.consumption === null)
  if (bad.length === 0) return undefined
  return bad
    .map((r) =>
      r.status === null
        ? `meter ${r.meterCode} has no read for ${period}`
        : `meter ${r.meterCode} read for ${period} is ${r.status}${r.flags.length > 0 ? ` (${r.flags.map((f) => f.code).join(', ')})` : ''}`,
    )
    .join('; ')
}

export const sum = (values: readonly string[]) => values.reduce((s, v) => s.plus(v), Decimal.ZERO).toString()
