import type { Page } from '../../api/client.ts'
import { type HubAnswer, type HubItem, hub } from '../../api/hub.ts'

/**
 * The hub's second-person approvals (docs/billing.md): a void (红冲) or refund of a payment
 * and a late-fee waiver are asked for at the desk and decided by someone else on the
 * approvals page. Nothing moves in the books until a request is approved.
 */

export const APPROVAL_KINDS = ['void', 'refund', 'deposit_refund', 'adjustment', 'waiver'] as const
export type ApprovalKind = (typeof APPROVAL_KINDS)[number]
export type ApprovalStatus = 'requested' | 'approved' | 'rejected'

/** A request as `GET /api/v1/approvals` lists it. */
export type Approval = ApprovalList['items'][number]

export type ApprovalList = HubAnswer<'/api/v1/approvals'>

/** A payment under the customer's account at the desk (`GET /api/v1/customers/{id}/payments`). */
export type CustomerPayment = HubItem<'/api/v1/customers/{id}/payments'>

/** What a request is about: a payment (void, refund) or an open late fee (waiver). */
export type ApprovalSubject =
  | { readonly kind: 'void'; readonly payment: CustomerPayment }
  | { readonly kind: 'refund' | 'deposit_refund'; readonly payment: CustomerPayment }
  | {
      readonly kind: 'waiver'
      readonly receivableId: string
      readonly feeItemName: string | null
      readonly period: string | null
      readonly open: string
    }

export function listApprovals(query: {
  estateId: string
  status?: ApprovalStatus
  customerId?: string
  limit: number
  offset?: number
}): Promise<ApprovalList> {
  return hub.get('/api/v1/approvals', { query })
}

export function customerPayments(customerId: string, limit: number): Promise<Page<CustomerPayment>> {
  return hub.get('/api/v1/customers/{id}/payments', { path: { id: customerId }, query: { limit } })
}

/** Sends the request; the caller shows the hub's errors beside the form's fields. */
export function requestApproval(
  estateId: string,
  subject: ApprovalSubject,
  input: { amount?: string; reason: string },
): Promise<{ id: string }> {
  const about =
    subject.kind === 'waiver' ? { receivableId: subject.receivableId } : { paymentId: subject.payment.id }
  return hub.post(
    '/api/v1/approvals',
    {
      estateId,
      kind: subject.kind,
      ...about,
      // A void is always the whole payment: the hub fills in its amount.
      ...(subject.kind === 'void' ? {} : { amount: input.amount }),
      reason: input.reason,
    },
    { quiet: true },
  )
}

export async function decideApproval(
  id: string,
  decision: 'approve' | 'reject',
  note: string,
): Promise<void> {
  await hub.post(`/api/v1/approvals/{id}/${decision}`, note ? { note } : {}, { path: { id }, quiet: true })
}

/** The most a request about `subject` may ask, as the hub checks it. */
export function maxAmountOf(subject: ApprovalSubject): string {
  return subject.kind === 'waiver'
    ? subject.open
    : subject.kind === 'void'
      ? subject.payment.amount
      : subject.payment.refundable
}
