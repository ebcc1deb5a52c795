import { Type } from 'typebox'
import { conflict } from '../api/api-error.ts'
import type { EstateResource } from '../api/estate-resource.ts'
import { Id, OneOf, Timestamp } from '../api/schema-parts.ts'
import type { CredentialKind } from '../store/database-schema.ts'

// The kinds an access controller reports (drivers/access/access-event-schema.ts, docs/access-events.md).
export const credentialKinds = ['card', 'face', 'qr', 'pin'] as const satisfies readonly CredentialKind[]

// As the controller sends it (1-128 characters), without surrounding spaces: a card number
// pasted with a trailing blank would never match an event.
const Ref = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^\\S(.*\\S)?$',
  description: 'card number, face id, QR payload id or PIN id exactly as the controller reports it',
})

const fields = { customerId: Id, kind: OneOf(credentialKinds), ref: Ref }

/**
 * A card, face, QR code or PIN registered to a customer, so the access events that carry it
 * are stored naming the customer (hub/ingest/batch-writer.ts). One per estate, kind and ref:
 * a second registration of the same card is a 409 naming body.ref. Not editable: the table
 * has no updated_at for the generic PATCH, and there is no delete route yet, so a lost card
 * or one passed to someone else cannot be unregistered through the API (follow-up).
 */
export const customerCredentialResource: EstateResource = {
  path: 'customer-credentials',
  table: 'customerCredentials',
  label: 'customer credential',
  tag: 'customers',
  writePermission: 'customers.write',
  record: Type.Object(
    { id: Id, estateId: Id, ...fields, ref: Type.String(), createdAt: Timestamp },
    { title: 'CustomerCredential' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  update: Type.Object({}, { additionalProperties: false }),
  // The generic PATCH sets updated_at, which customer_credentials does not have.
  without: ['update'],
  filters: { customerId: Id, kind: OneOf(credentialKinds), ref: Ref },
  search: ['ref'],
  orderBy: 'ref',
  references: { customerId: { table: 'customers', label: 'customer' } },
  estateFrom: 'customerId',
  async check({ db, estateId, next }) {
    // The unique key answers a race the same way (database-error.ts names body.ref too).
    const taken = await db
      .selectFrom('customerCredentials')
      .select('id')
      .where('estateId', '=', estateId)
      .where('kind', '=', next.kind as CredentialKind)
      .where('ref', '=', next.ref as string)
      .executeTakeFirst()
    if (taken) throw conflict('body.ref', `this ${next.kind} is already registered in this estate`)
  },
}
