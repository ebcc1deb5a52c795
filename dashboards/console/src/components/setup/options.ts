import { i18n } from '../../i18n/index.ts'
import type { Option } from './resource.ts'

export const unitUses = ['residence', 'shop', 'office', 'parking', 'storage', 'other'] as const
export const unitStatuses = ['vacant', 'occupied', 'rented', 'decorating'] as const
export const customerKinds = ['person', 'company'] as const
export const occupancyRoles = ['owner', 'tenant'] as const
export const credentialKinds = ['card', 'face', 'qr', 'pin'] as const
export const meterKinds = ['water', 'electricity', 'gas', 'heat'] as const
export const meterStatuses = ['active', 'retired'] as const
export const roles = ['admin', 'finance', 'service', 'engineering', 'leasing', 'viewer'] as const

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
