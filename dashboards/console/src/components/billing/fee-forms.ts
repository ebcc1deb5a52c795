import { ruleFields } from '../../../../../hub/billing/billing-vocabulary.ts'
import type { HubBody, HubDraft } from '../../api/hub.ts'
import {
  type AssignmentTarget,
  cyclesFor,
  type FeeAssignment,
  type FeeCycle,
  type FeeItem,
  type FeeKind,
  type FeeStandard,
  firstOfMonth,
  meteredKinds,
  ruleOf,
  takesMeterKind,
  targetField,
} from './fee-config.ts'

/**
 * The fee forms' state and the request bodies made from it. Numbers are kept as the text the
 * clerk typed: decimals go to the hub as that string (never through a float), whole numbers as
 * a number when they are one and as the text otherwise, so the hub's refusal names the field.
 * Only emptiness is checked here: an empty decimal would otherwise be taken as 0.
 */

/** Whole-number text as a number; anything else as typed, for the hub to refuse by name. */
function wholeNumber(text: string): number | string {
  const value = text.trim()
  return /^-?\d{1,9}$/.test(value) ? Number(value) : value
}

const blank = (text: string | null | undefined) => (text ?? '').trim() === ''

// ——— fee items ———

type ItemBody = HubBody<'/api/v1/fee-items', 'post'>
type StandardBody = HubBody<'/api/v1/fee-standards', 'post'>

export interface ItemForm {
  code: string
  name: string
  kind: FeeKind
  /** '' for none */
  meterKind: NonNullable<ItemBody['meterKind']> | ''
  cycle: FeeCycle
  roundingUnit: ItemBody['roundingUnit']
  roundingMode: ItemBody['roundingMode']
  dueDays: string
  lateFeeDailyRate: string
  lateFeeGraceDays: string
  /** '' for no cap */
  lateFeeCapRatio: string
  active: boolean
}

export const itemFields = [
  'code',
  'name',
  'kind',
  'meterKind',
  'cycle',
  'roundingUnit',
  'roundingMode',
  'dueDays',
  'lateFeeDailyRate',
  'lateFeeGraceDays',
  'lateFeeCapRatio',
  'active',
] as const

/** A new item with the hub's defaults written out, so the clerk sees what will apply. */
export function newItemForm(): ItemForm {
  return {
    code: '',
    name: '',
    kind: 'area',
    meterKind: '',
    cycle: 'monthly',
    roundingUnit: 'fen',
    roundingMode: 'half-up',
    dueDays: '15',
    lateFeeDailyRate: '0',
    lateFeeGraceDays: '0',
    lateFeeCapRatio: '',
    active: true,
  }
}

export function itemFormOf(item: FeeItem): ItemForm {
  return {
    code: item.code,
    name: item.name,
    kind: item.kind,
    meterKind: item.meterKind ?? '',
    cycle: item.cycle,
    roundingUnit: item.roundingUnit,
    roundingMode: item.roundingMode,
    dueDays: String(item.dueDays),
    lateFeeDailyRate: item.lateFeeDailyRate,
    lateFeeGraceDays: String(item.lateFeeGraceDays),
    lateFeeCapRatio: item.lateFeeCapRatio ?? '',
    active: item.active,
  }
}

/** A kind changed in the form: the meter kind and cycle follow what the new kind allows. */
export function followKind(form: ItemForm) {
  if (!takesMeterKind(form.kind)) form.meterKind = ''
  const cycles = cyclesFor(form.kind)
  if (!cycles.includes(form.cycle)) form.cycle = cycles[0]!
}

/** The fields left empty that must be filled (an empty rate or day count is not "0"). */
export function missingItemFields(form: ItemForm): (keyof ItemForm)[] {
  const required = ['code', 'name', 'dueDays', 'lateFeeDailyRate', 'lateFeeGraceDays'] as const
  const missing: (keyof ItemForm)[] = required.filter((field) => blank(form[field]))
  if (meteredKinds.includes(form.kind) && blank(form.meterKind)) missing.push('meterKind')
  return missing
}

/** Every field of the form as the hub takes it. */
function itemValues(form: ItemForm): HubDraft<'/api/v1/fee-items/{id}', 'patch'> {
  return {
    code: form.code.trim(),
    name: form.name.trim(),
    kind: form.kind,
    meterKind: takesMeterKind(form.kind) && form.meterKind ? form.meterKind : null,
    cycle: form.cycle,
    roundingUnit: form.roundingUnit,
    roundingMode: form.roundingMode,
    dueDays: wholeNumber(form.dueDays),
    lateFeeDailyRate: form.lateFeeDailyRate.trim(),
    lateFeeGraceDays: wholeNumber(form.lateFeeGraceDays),
    lateFeeCapRatio: blank(form.lateFeeCapRatio) ? null : form.lateFeeCapRatio.trim(),
    active: form.active,
  }
}

/** `POST /api/v1/fee-items`. */
export function newItemBody(estateId: string, form: ItemForm): HubDraft<'/api/v1/fee-items', 'post'> {
  return { estateId, ...itemValues(form) }
}

/** `PATCH /api/v1/fee-items/{id}`: only what the clerk changed (empty when nothing). */
export function itemChanges(item: FeeItem, form: ItemForm): HubDraft<'/api/v1/fee-items/{id}', 'patch'> {
  const before = itemValues(itemFormOf(item))
  const after = itemValues(form)
  return Object.fromEntries(
    Object.entries(after).filter(([key, value]) => (before as Record<string, unknown>)[key] !== value),
  )
}

// ——— fee standards ———

/** A band as typed; the last band's limit is open (no upper limit), whatever its text. */
export interface BandRow {
  upTo: string
  price: string
}

export interface StandardForm {
  name: string
  price: string
  amount: string
  bands: BandRow[]
  tierBasis: NonNullable<StandardBody['tierBasis']>
  shareBasis: NonNullable<StandardBody['shareBasis']>
  shareSource: NonNullable<StandardBody['shareSource']>
  shareMeterId: string
  validFrom: string
  validTo: string
}

/** The standard form's fields in order: its name, what it charges (the hub's rule fields), when. */
export const standardFields = ['name', ...ruleFields, 'validFrom', 'validTo'] as const

export function newStandardForm(item: FeeItem): StandardForm {
  return {
    name: item.name,
    price: '',
    amount: '',
    bands: [
      { upTo: '', price: '' },
      { upTo: '', price: '' },
    ],
    tierBasis: 'period',
    shareBasis: 'area',
    shareSource: 'meter',
    shareMeterId: '',
    validFrom: firstOfMonth(),
    validTo: '',
  }
}

export function standardFormOf(item: FeeItem, standard: FeeStandard): StandardForm {
  return { ...newStandardForm(item), name: standard.name, validTo: standard.validTo ?? '' }
}

/** The bands with an empty price, or an empty limit where one is needed: index → field. */
export function missingBandFields(form: StandardForm): { index: number; field: 'upTo' | 'price' }[] {
  const missing: { index: number; field: 'upTo' | 'price' }[] = []
  form.bands.forEach((band, index) => {
    if (index < form.bands.length - 1 && blank(band.upTo)) missing.push({ index, field: 'upTo' })
    if (blank(band.price)) missing.push({ index, field: 'price' })
  })
  return missing
}

/** `POST /api/v1/fee-standards`: exactly the fields the item's kind prices by. */
export function newStandardBody(
  item: FeeItem,
  form: StandardForm,
): HubDraft<'/api/v1/fee-standards', 'post'> {
  // An empty field is left out (undefined is not sent): the hub then says it is required.
  const typed = (text: string) => (blank(text) ? undefined : text.trim())
  const rule = ruleOf(item.kind)
  return {
    feeItemId: item.id,
    name: form.name.trim(),
    validFrom: typed(form.validFrom),
    validTo: typed(form.validTo),
    ...(rule === 'price' || rule === 'shared' ? { price: typed(form.price) } : {}),
    ...(rule === 'amount' ? { amount: typed(form.amount) } : {}),
    ...(rule === 'bands'
      ? {
          bands: form.bands.map((band, i) => ({
            upTo: i === form.bands.length - 1 ? null : band.upTo.trim(),
            price: band.price.trim(),
          })),
          tierBasis: form.tierBasis,
        }
      : {}),
    ...(rule === 'shared'
      ? {
          shareBasis: form.shareBasis,
          shareSource: form.shareSource,
          shareMeterId: form.shareMeterId || undefined,
        }
      : {}),
  }
}

/** `PATCH /api/v1/fee-standards/{id}`: the hub lets a standard be renamed and ended, nothing else. */
export function standardChanges(
  standard: FeeStandard,
  form: StandardForm,
): HubDraft<'/api/v1/fee-standards/{id}', 'patch'> {
  const changes: HubDraft<'/api/v1/fee-standards/{id}', 'patch'> = {}
  if (form.name.trim() !== standard.name) changes.name = form.name.trim()
  const validTo = blank(form.validTo) ? null : form.validTo
  if (validTo !== standard.validTo) changes.validTo = validTo
  return changes
}

// ——— fee assignments ———

export interface AssignmentForm {
  target: AssignmentTarget
  buildingId: string
  unitUse: string
  unitId: string
  customerId: string
  validFrom: string
  validTo: string
}

export const assignmentFields = [
  'target',
  'buildingId',
  'unitUse',
  'unitId',
  'customerId',
  'validFrom',
  'validTo',
] as const

/** Applies from the day its standard does, to the whole estate, until changed. */
export function newAssignmentForm(standard: FeeStandard): AssignmentForm {
  return {
    target: 'estate',
    buildingId: '',
    unitUse: '',
    unitId: '',
    customerId: '',
    validFrom: standard.validFrom,
    validTo: '',
  }
}

/** `POST /api/v1/fee-assignments`: the target and only the one field that names it. */
export function newAssignmentBody(
  standard: FeeStandard,
  form: AssignmentForm,
): HubDraft<'/api/v1/fee-assignments', 'post'> {
  const field = targetField[form.target]
  const value = field ? form[field] : ''
  return {
    feeStandardId: standard.id,
    target: form.target,
    ...(field && value ? { [field]: value } : {}),
    ...(blank(form.validFrom) ? {} : { validFrom: form.validFrom }),
    ...(blank(form.validTo) ? {} : { validTo: form.validTo }),
  }
}

/** `PATCH /api/v1/fee-assignments/{id}`: an assignment's only change is its end. */
export function assignmentEnd(
  assignment: FeeAssignment,
  validTo: string,
): HubDraft<'/api/v1/fee-assignments/{id}', 'patch'> {
  const next = blank(validTo) ? null : validTo
  return next === assignment.validTo ? {} : { validTo: next }
}
