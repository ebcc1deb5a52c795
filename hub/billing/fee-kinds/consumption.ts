import { feeKindTraits } from '../billing-vocabulary.ts'
import { consumptionCharge } from '../fee-calc.ts'
import { charged, type FeeKindDefinition } from './fee-kind.ts'
import { meteredUse } from './metered-use.ts'

/** 水费, 电费 …: the unit's metered consumption × price, split across standards by days. */
export const consumptionKind: FeeKindDefinition = {
  name: 'consumption',
  ...feeKindTraits.consumption,
  billItem:
    (run) =>
    ({ unit, spans }) => {
      const use = meteredUse(run, unit.id)
      if (use === undefined || 'charge' in use) return use?.charge
      const ruleSpans = spans.map((s) => ({
        from: s.from,
        to: s.to,
        rule: { kind: 'consumption' as const, price: s.standard.price ?? '0' },
      }))
      const { period, rounding } = run
      const line = consumptionCharge({ consumption: use.consumption, spans: ruleSpans, period, rounding })
      return charged(line, spans, { meters: use.meters })
    },
}
