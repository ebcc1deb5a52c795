import { Type } from 'typebox'
import { conflict } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Id, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import type { CredentialKind } from '../store/database-schema.ts'
import { credentialKinds } from './property-vocabulary.ts'

// The kinds an access controller reports (drivers/access/access-event-schema.ts, docs/access-events.md).
export { credentialKinds }

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
 * are stored naming the customer (hub/ingest/batch-writer.ts). One active per estate, kind and
 * ref: a second registration of the same card is a 409 naming body.ref. A lost card, or one
 * handed back, is deactivated (`active: false`), not deleted: the events it opened keep naming
 * who held it, and the card can then be registered to someone else.
 */
export const customerCredentialResource: EstateResource = {
  path: 'customer-credentials',
  table: 'customerCredentials',
  label: 'customer credential',
  tag: 'customers',
  writePermission: 'customers.write',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      ...fields,
      ref: Type.String(),
      active: Type.Boolean(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'CustomerCredential' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  // Who holds the card and which card it is do not change: a new holder is a new registration.
  update: Type.Object({ active: Type.Boolean() }, { additionalProperties: false }),
  filters: { customerId: Id, kind: OneOf(credentialKinds), ref: Ref, active: Type.Boolean() },
  search: ['ref'],
  orderBy: 'ref',
  references: { customerId: { table: 'customers', label: 'customer' } },
  estateFrom: 'customerId',
  async check({ db, estateId, existing, next }) {
    if (next.active === false) return
    // The unique index answers a race the same way (database-error.ts names body.ref too).
    let query = db
      .selectFrom('customerCredentials')
      .select('id')
      .where('estateId', '=', estateId)
      .where('kind', '=', next.kind as CredentialKind)
      .where('ref', '=', next.ref as string)
      .where('active', '=', true)
    if (existing) query = query.where('id', '<>', existing.id as string)
    if (await query.executeTakeFirst())
      throw conflict(
        existing ? 'body.active' : 'body.ref',
        `this ${next.kind} is already registered in this estate`,
        'credential.registered',
        { kind: String(next.kind) },
      )
  },
}
