import { type Kysely, sql } from 'kysely'

// Issue 7: voids, refunds and waivers asked for at the desk and decided on the approvals page.
const statements = [
  // The second person says why they approved or, above all, rejected a request.
  `alter table approvals add column decision_note text check (decision_note <> '')`,
  // The approvals page lists an estate's requests by status, newest first.
  `create index approvals_estate_status on approvals (estate_id, status, requested_at desc)`,
  // The desk asks for one customer's requests; a payment's void is looked up by the payment.
  `create index approvals_customer on approvals (customer_id, requested_at desc)`,
  `create index approvals_payment on approvals (payment_id) where payment_id is not null`,
  // The desk shows a customer's recent payments.
  `create index payments_customer on payments (customer_id, paid_at desc)`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
