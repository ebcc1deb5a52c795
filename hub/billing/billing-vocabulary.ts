/**
 * The billing domain's lists, each defined once: the TypeScript types, the route schemas, the
 * database CHECKs (hub/store/vocabulary-checks.ts), the console's selects and the catalogues'
 * key sets all derive from these arrays. This file imports nothing, so the console can import it
 * at build time.
 *
 * `feeKindTraits` are the built-in fee kinds; each has its definition in fee-kinds/ and its line
 * in fee-kinds/fee-kind-registry.ts (the compiler holds the three to each other).
 */

/** The fields that say what a standard charges; which of them a standard has follows its item's kind. */
export const ruleFields = [
  'price',
  'amount',
  'bands',
  'tierBasis',
  'shareBasis',
  'shareSource',
  'shareMeterId',
] as const
export type RuleField = (typeof ruleFields)[number]

/** What a fee kind declares besides its engine part (fee-kinds/fee-kind.ts). */
export interface FeeKindTraits {
  /** The standard fields its standards take; every other rule field must be absent. */
  readonly fields: readonly RuleField[]
  /** Whether its items name the meter kind they bill: required, allowed, or not allowed. */
  readonly meter: 'required' | 'optional' | 'none'
  /** A one-off fee is charged at the desk, never by bill runs, and its items' cycle is one_off. */
  readonly oneOff: boolean
}

/**
 * The built-in fee kinds with their traits, in the order the API and the console list them.
 * Each has its definition in fee-kinds/ (which spreads these traits) and its registry line.
 */
export const feeKindTraits = {
  area: { fields: ['price'], meter: 'none', oneOff: false },
  consumption: { fields: ['price'], meter: 'required', oneOff: false },
  tiered: { fields: ['bands', 'tierBasis'], meter: 'required', oneOff: false },
  fixed: { fields: ['amount'], meter: 'none', oneOff: false },
  shared: {
    fields: ['price', 'shareBasis', 'shareSource', 'shareMeterId'],
    meter: 'optional',
    oneOff: false,
  },
  one_off: { fields: ['amount'], meter: 'none', oneOff: true },
} as const satisfies Record<string, FeeKindTraits>
export type FeeKind = keyof typeof feeKindTraits
export const feeKinds = Object.keys(feeKindTraits) as readonly FeeKind[]

export const feeCycles = ['monthly', 'quarterly', 'yearly', 'one_off'] as const
export type FeeCycle = (typeof feeCycles)[number]

/** Round money to 0.01 (分) or 0.10 (角) yuan. */
export const roundingUnits = ['fen', 'jiao'] as const
export type RoundingUnit = (typeof roundingUnits)[number]

/** half-up: away from zero at .5 (四舍五入); down: toward zero (舍去). */
export const roundingModes = ['half-up', 'down'] as const
export type RoundingMode = (typeof roundingModes)[number]

/** A tiered standard's band limits: per billing period, or cumulative over the calendar year. */
export const tierBases = ['period', 'annual'] as const
export type TierBasis = (typeof tierBases)[number]

/** A shared standard splits by the units' area or by their own consumption… */
export const shareBases = ['area', 'consumption'] as const
export type ShareBasis = (typeof shareBases)[number]

/** …the consumption of a meter, or its loss (master − Σ sub-meters). */
export const shareSources = ['meter', 'loss'] as const
export type ShareSource = (typeof shareSources)[number]

/** What a standard is assigned to; the most specific level that has one wins. */
export const assignmentTargets = ['estate', 'building', 'use', 'unit', 'customer'] as const
export type AssignmentTarget = (typeof assignmentTargets)[number]

export const billRunScopes = ['estate', 'building', 'unit', 'customer'] as const
export type BillRunScope = (typeof billRunScopes)[number]

export const billRunStatuses = ['preview', 'approved', 'superseded'] as const
export type BillRunStatus = (typeof billRunStatuses)[number]

export const receivableKinds = ['charge', 'correction', 'late_fee', 'adjustment'] as const
export type ReceivableKind = (typeof receivableKinds)[number]

export const paymentMethods = ['cash', 'card', 'transfer', 'wechat', 'alipay', 'prepayment'] as const
export type PaymentMethod = (typeof paymentMethods)[number]

export const approvalKinds = ['void', 'refund', 'adjustment', 'waiver', 'deposit_refund'] as const
export type ApprovalKind = (typeof approvalKinds)[number]

export const approvalStatuses = ['requested', 'approved', 'rejected'] as const
export type ApprovalStatus = (typeof approvalStatuses)[number]

export const ledgerAccounts = ['receivable', 'revenue', 'cash', 'prepayment', 'deposit'] as const
export type LedgerAccount = (typeof ledgerAccounts)[number]

/** What a payment pays: bills, or a deposit (押金) held until it is refunded. */
export const paymentPurposes = ['bills', 'deposit'] as const
export type PaymentPurpose = (typeof paymentPurposes)[number]

/** Where the money of a payment allocation came from. */
export const allocationSources = ['payment', 'prepayment', 'reversal'] as const
export type AllocationSource = (typeof allocationSources)[number]
