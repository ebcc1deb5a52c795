import { i18n } from '../../i18n/index.ts'
import type { Option } from './resource.ts'

// The hub's lists, defined once in plain files that import nothing.
export { roles } from '../../../../../hub/kernel/roles.ts'
export { meterKinds, meterStatuses } from '../../../../../hub/metering/metering-vocabulary.ts'
export {
  credentialKinds,
  customerKinds,
  occupancyRoles,
  unitStatuses,
  unitUses,
} from '../../../../../hub/property/property-vocabulary.ts'

/** The label of an enumeration value: `setup.<group>.<value>`, or the value when unknown. */
export function enumLabel(group: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  const key = `setup.${group}.${String(value)}`
  return i18n.global.te(key) ? i18n.global.t(key) : String(value)
}

/** Options of an enumeration, labelled from `setup.<group>`. */
export function enumOptions(group: string, values: readonly string[]): Option[] {
  return values.map((value) => ({ value, label: enumLabel(group, value) }))
}

export function yesNo(value: unknown): string {
  return i18n.global.t(value ? 'common.yes' : 'common.no')
}
