import { feeKindTraits } from '../billing-vocabulary.ts'
import { tieredCharge } from '../fee-calc.ts'
import { charged, type FeeKindDefinition } from './fee-kind.ts'
import { meteredUse } from './metered-use.ts'

/**
 * 阶梯: the unit's metered consumption priced by bands, per period or cumulative over the
 * calendar year. The bands are the ones in force at the period's end (no proration of bands).
 */
export const tieredKind: FeeKindDefinition = {
  name: 'tiered',
  ...feeKindTraits.tiered,
  billItem:
    (run) =>
    ({ unit, spans }) => {
      const use = meteredUse(run, unit.id)
      if (use === undefined || 'charge' in use) return use?.charge
      const standard = spans[spans.length - 1]!.standard
      const basis = standard.tierBasis ?? 'period'
      const line = tieredCharge({
        consumption: use.consumption,
        bands: standard.bands ?? [],
        basis,
        yearToDateBefore:
          basis === 'annual' ? (run.inputs.yearToDate.get(`${unit.id}/${run.item.meterKind}`) ?? '0') : '0',
        rounding: run.rounding,
      })
      return charged(line, spans, { meters: use.meters })
    },
}
