import { sum, unbillable, unitReads } from '../bill-reads.ts'
import { held, type ItemRun, type UnitCharge } from './fee-kind.ts'

/**
 * A unit's approved consumption of the item's meter kind over the period and the meters it came
 * from; a held charge when a read cannot be billed; undefined when the unit has no such meter.
 */
export function meteredUse(
  run: ItemRun,
  unitId: string,
): { consumption: string; meters: string[] } | { charge: UnitCharge } | undefined {
  const reads = unitReads(run.inputs, unitId, run.item.meterKind ?? '')
  if (reads.length === 0) return undefined
  const why = unbillable(reads, run.inputs.period)
  if (why !== undefined) return { charge: held(why) }
  return { consumption: sum(reads.map((r) => r.consumption ?? '0')), meters: reads.map((r) => r.meterCode) }
}
