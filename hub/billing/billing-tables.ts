import type { ColumnType, Generated } from 'kysely'
import type {
  ApprovalKind,
  CreatedAt,
  Decimal,
  DefaultDecimal,
  FeeBand,
  FeeCycle,
  FeeKind,
  Json,
  LedgerAccount,
  MeterKind,
  PaymentMethod,
  ReceivableKind,
  Timestamp,
  UnitUse,
} from '../store/database-schema.ts'
import type {
  AllocationSource,
  ApprovalStatus,
  AssignmentTarget,
  BillRunScope,
  BillRunStatus,
  PaymentPurpose,
  RoundingMode,
  RoundingUnit,
  ShareBasis,
  ShareSource,
  TierBasis,
} from './billing-vocabulary.ts'

// The billing domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

export interface FeeItemTable {
  id: Generated<string>
  estateId: string
  code: string
  name: string
  kind: FeeKind
  meterKind: MeterKind | null
  roundingUnit: ColumnType<RoundingUnit, RoundingUnit | undefined, RoundingUnit>
  roundingMode: ColumnType<RoundingMode, RoundingMode | undefined, RoundingMode>
  cycle: ColumnType<FeeCycle, FeeCycle | undefined, FeeCycle>
  dueDays: ColumnType<number, number | undefined, number>
  lateFeeDailyRate: DefaultDecimal
  lateFeeGraceDays: ColumnType<number, number | undefined, number>
  lateFeeCapRatio: string | null
  active: ColumnType<boolean, boolean | undefined, boolean>
  createdAt: CreatedAt
  updatedAt: Timestamp
}
export interface FeeStandardTable {
  id: Generated<string>
  estateId: string
  feeItemId: string
  name: string
  price: string | null
  amount: string | null
  bands: Json<FeeBand[]> | null
  tierBasis: TierBasis | null
  shareBasis: ShareBasis | null
  shareSource: ShareSource | null
  shareMeterId: string | null
  validFrom: string
  validTo: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}
export interface FeeAssignmentTable {
  id: Generated<string>
  estateId: string
  feeStandardId: string
  target: AssignmentTarget
  buildingId: string | null
  unitUse: UnitUse | null
  unitId: string | null
  customerId: string | null
  validFrom: string
  validTo: string | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}
export interface BillRunTable {
  id: Generated<string>
  estateId: string
  period: string
  scope: BillRunScope
  scopeId: string
  status: BillRunStatus
  lines: ColumnType<number, number | undefined, number>
  total: DefaultDecimal
  toIssue: DefaultDecimal
  held: ColumnType<number, number | undefined, number>
  createdBy: string | null
  createdAt: CreatedAt
  approvedBy: string | null
  approvedAt: Timestamp | null
}
export interface BillRunLineTable {
  id: Generated<number>
  estateId: string
  billRunId: string
  unitId: string | null
  customerId: string
  feeItemId: string
  period: string
  amount: string | null
  issued: DefaultDecimal
  difference: string | null
  explanation: Json<Record<string, unknown>>
  heldReason: string | null
}
export interface ReceivableTable {
  id: Generated<string>
  estateId: string
  customerId: string
  unitId: string | null
  feeItemId: string
  period: string | null
  kind: ReceivableKind
  amount: Decimal
  dueDate: string
  issuedAt: ColumnType<Date, Date | string | undefined, never>
  billRunId: string | null
  correctsId: string | null
  lateFeeFor: ColumnType<string | null, string | null | undefined, never>
  /** A late fee's as-of date: one per receivable and date (migration 0009; null before it). */
  accruedAsOf: ColumnType<string | null, string | null | undefined, never>
  explanation: Json<Record<string, unknown>>
  createdBy: string | null
}
/** One row per estate and as-of date that late fees were accrued for (by the job or on request). */
export interface LateFeeRunTable {
  estateId: string
  asOf: string
  lines: ColumnType<number, number | undefined, number>
  amount: DefaultDecimal
  runs: ColumnType<number, number | undefined, number>
  firstRunAt: ColumnType<Date, Date | string | undefined, never>
  lastRunAt: ColumnType<Date, Date | string | undefined, Date | string>
  lastRunBy: string | null
}
export interface ReceiptCounterTable {
  estateId: string
  year: number
  last: number
}
export interface PaymentTable {
  id: Generated<string>
  estateId: string
  customerId: string
  purpose: PaymentPurpose
  method: PaymentMethod
  reference: string | null
  amount: Decimal
  receiptNo: string
  receiptYear: number
  receiptSeq: number
  cashierId: string | null
  paidAt: ColumnType<Date, Date | string | undefined, never>
  idempotencyKey: string
  requestHash: string
}
export interface PaymentAllocationTable {
  id: Generated<number>
  estateId: string
  paymentId: string | null
  receivableId: string
  source: AllocationSource
  amount: Decimal
  createdAt: ColumnType<Date, Date | string | undefined, never>
}
export interface ApprovalTable {
  id: Generated<string>
  estateId: string
  kind: ApprovalKind
  paymentId: string | null
  receivableId: string | null
  customerId: string | null
  feeItemId: string | null
  amount: Decimal
  reason: string
  status: ColumnType<ApprovalStatus, 'requested' | undefined, Exclude<ApprovalStatus, 'requested'>>
  requestedBy: string
  requestedAt: ColumnType<Date, Date | string | undefined, never>
  decidedBy: string | null
  decidedAt: Timestamp | null
  /** Why the second person approved or rejected it (required to reject, over the API). */
  decisionNote: string | null
}
export interface LedgerEntryTable {
  id: Generated<number>
  estateId: string
  journalId: string
  account: LedgerAccount
  customerId: string | null
  feeItemId: string | null
  receivableId: string | null
  paymentId: string | null
  method: string | null
  debit: DefaultDecimal
  credit: DefaultDecimal
  effectiveAt: ColumnType<Date, Date | string, never>
  createdAt: ColumnType<Date, Date | string | undefined, never>
  memo: string
}

declare module '../store/database-schema.ts' {
  interface Database {
    feeItems: FeeItemTable
    feeStandards: FeeStandardTable
    feeAssignments: FeeAssignmentTable
    billRuns: BillRunTable
    billRunLines: BillRunLineTable
    receivables: ReceivableTable
    receiptCounters: ReceiptCounterTable
    payments: PaymentTable
    paymentAllocations: PaymentAllocationTable
    approvals: ApprovalTable
    ledgerEntries: LedgerEntryTable
    lateFeeRuns: LateFeeRunTable
  }
}
