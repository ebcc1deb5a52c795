import { feeKindTraits } from '../billing-vocabulary.ts'
import { areaCharge } from '../fee-calc.ts'
import { charged, type FeeKindDefinition } from './fee-kind.ts'

/** 物业费 by area: price per m² per month of the unit's area, prorated by days. */
export const areaKind: FeeKindDefinition = {
  name: 'area',
  ...feeKindTraits.area,
  billItem:
    ({ period, rounding }) =>
    ({ unit, spans }) => {
      const ruleSpans = spans.map((s) => ({
        from: s.from,
        to: s.to,
        rule: { kind: 'area' as const, price: s.standard.price ?? '0' },
      }))
      return charged(areaCharge({ areaM2: unit.areaM2, spans: ruleSpans, period, rounding }), spans)
    },
}
