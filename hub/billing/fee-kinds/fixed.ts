import { feeKindTraits } from '../billing-vocabulary.ts'
import { fixedCharge } from '../fee-calc.ts'
import { charged, type FeeKindDefinition } from './fee-kind.ts'

/** A fixed amount per billing period (停车费, 垃圾费), prorated by the days its standards cover. */
export const fixedKind: FeeKindDefinition = {
  name: 'fixed',
  ...feeKindTraits.fixed,
  billItem:
    ({ period, rounding }) =>
    ({ spans }) => {
      const ruleSpans = spans.map((s) => ({
        from: s.from,
        to: s.to,
        rule: { kind: 'fixed' as const, amount: s.standard.amount ?? '0' },
      }))
      return charged(fixedCharge({ spans: ruleSpans, period, rounding }), spans)
    },
}
