import { feeKindTraits } from '../billing-vocabulary.ts'
import type { FeeKindDefinition } from './fee-kind.ts'

/**
 * A one-off fee (装修费, 维修费, 特约服务费): charged once at the desk or by a repair
 * (hub/alarms/repair-charge.ts), never by a bill run.
 */
export const oneOffKind: FeeKindDefinition = {
  name: 'one_off',
  ...feeKindTraits.one_off,
  billItem: () => () => undefined,
}
