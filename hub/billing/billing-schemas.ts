import { Type } from 'typebox'
import { DecimalOut, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { billRunScopes, billRunStatuses } from './billing-vocabulary.ts'

/*
 * What the bill-run and desk routes answer, for the OpenAPI document and so the console's types
 * (decision 0013). Rows are passed through whole (`additionalProperties`); the named fields are
 * what clients rely on.
 */

const open = { additionalProperties: true } as const
const Scope = OneOf(billRunScopes)
const RunStatus = OneOf(billRunStatuses)

/** A bill run in the list: its totals, scope and who previewed and approved it. */
export const BillRunSummary = Type.Object(
  {
    id: Id,
    estateId: Id,
    period: Type.String(),
    scope: Scope,
    scopeId: Id,
    scopeName: Nullable(Type.String({ description: 'the building or unit code, or the customer name' })),
    status: RunStatus,
    lines: Type.Integer(),
    total: DecimalOut,
    toIssue: DecimalOut,
    held: Type.Integer(),
    createdBy: Nullable(Id),
    createdByName: Nullable(Type.String()),
    createdAt: Timestamp,
    approvedBy: Nullable(Id),
    approvedByName: Nullable(Type.String()),
    approvedAt: Nullable(Timestamp),
  },
  { ...open, title: 'BillRunSummary' },
)

export const BillRunLine = Type.Object(
  {
    id: Type.Integer(),
    unitId: Nullable(Id),
    unitCode: Nullable(Type.String()),
    customerId: Id,
    customerName: Nullable(Type.String()),
    feeItemId: Id,
    feeItemCode: Type.String(),
    feeItemName: Type.String(),
    amount: Nullable(DecimalOut),
    issued: Nullable(DecimalOut),
    difference: Nullable(DecimalOut),
    explanation: Nullable(
      Type.Object({ formula: Type.Optional(Type.String({ description: 'for people' })) }, open),
    ),
    heldReason: Nullable(Type.String()),
    dueDate: Type.String({
      format: 'date',
      description:
        'when the line is due: what approval gave it, or would give it today (the period’s end + the item’s dueDays, or today + dueDays when that has passed)',
    }),
  },
  { ...open, title: 'BillRunLine' },
)

/** A bill run with its lines, the held ones apart. */
export const BillRunDetail = Type.Object(
  {
    id: Id,
    estateId: Id,
    period: Type.String(),
    scope: Scope,
    scopeId: Id,
    status: RunStatus,
    total: DecimalOut,
    toIssue: DecimalOut,
    createdBy: Nullable(Id),
    createdAt: Timestamp,
    approvedBy: Nullable(Id),
    approvedAt: Nullable(Timestamp),
    lines: Type.Array(BillRunLine),
    held: Type.Array(BillRunLine),
  },
  { ...open, title: 'BillRunDetail' },
)

export const OpenReceivable = Type.Object(
  {
    id: Id,
    unitId: Nullable(Id),
    unitCode: Nullable(Type.String()),
    feeItemId: Id,
    feeItemCode: Nullable(Type.String()),
    feeItemName: Nullable(Type.String()),
    period: Nullable(Type.String()),
    kind: Type.String(),
    amount: DecimalOut,
    open: DecimalOut,
    dueDate: Type.String({
      format: 'date',
      description:
        'due the item’s dueDays after the period’s end; a line issued after that date (a late run, a correction, an adjustment) dueDays after its issue',
    }),
    issuedAt: Timestamp,
  },
  { ...open, title: 'OpenReceivable' },
)

/** The desk's view of a customer: balances and every open receivable. */
export const CustomerAccount = Type.Object(
  {
    customerId: Id,
    receivable: DecimalOut,
    prepayment: DecimalOut,
    deposit: DecimalOut,
    open: Type.Array(OpenReceivable),
  },
  { ...open, title: 'CustomerAccount' },
)

export const DeskCustomer = Type.Object(
  {
    customerId: Id,
    code: Type.String(),
    name: Type.String(),
    phone: Nullable(Type.String()),
    units: Type.Array(Type.String(), { description: 'codes of the units the customer occupies now' }),
  },
  { ...open, title: 'DeskCustomer' },
)

export const PaymentResult = Type.Object(
  {
    paymentId: Id,
    receiptNo: Type.String(),
    amount: DecimalOut,
    allocated: Type.Array(Type.Object({ receivableId: Id, amount: DecimalOut }, open)),
    toPrepayment: DecimalOut,
    toDeposit: DecimalOut,
    replayed: Type.Boolean({ description: 'the same request was made before with this key' }),
  },
  { ...open, title: 'PaymentResult' },
)
