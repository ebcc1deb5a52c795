import { Type } from 'typebox'
import { conflict, invalid } from '../kernel/api-error.ts'
import type { EstateResource, EstateTable } from '../kernel/estate-resource.ts'
import { Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { workOrderPriorities } from './alarm-rule-resource.ts'

const Minutes = (description: string) =>
  Type.Integer({ minimum: 1, maximum: 525_600, description: `${description} (1 minute to 1 year)` })

const minutes = {
  respondMinutes: Minutes('minutes from registration to the first response (dispatch)'),
  completeMinutes: Minutes('minutes from registration to completion; at least respondMinutes'),
}

/**
 * SLA policies (服务时限): how long an estate allows to respond to and to complete a work
 * order of a category and priority. A policy with category null covers every category of its
 * priority that has no policy of its own; with none, DEFAULT_SLA applies (sla-policy.ts). One
 * policy per estate, category and priority; what a policy matches is fixed (a different key
 * is a new policy), its minutes may change. Orders take their times when registered.
 */
export const slaPolicyResource: EstateResource = {
  path: 'sla-policies',
  // Not (yet) in EstateTable's union, which another change owns; the generic routes only
  // need a table with estate_id, id and updated_at, which sla_policies has.
  table: 'slaPolicies' as string as EstateTable,
  label: 'SLA policy',
  tag: 'work orders',
  writePermission: 'workOrders.manage',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      category: Nullable(Type.String()),
      priority: OneOf(workOrderPriorities),
      respondMinutes: Type.Integer(),
      completeMinutes: Type.Integer(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'SlaPolicy' },
  ),
  create: Type.Object(
    {
      estateId: Id,
      category: Type.Optional(
        Nullable(
          Type.String({
            minLength: 1,
            maxLength: 50,
            pattern: '^\\S(.*\\S)?$',
            description:
              "the work order category ('plumbing'); null or absent: every category of the priority",
          }),
        ),
      ),
      priority: OneOf(workOrderPriorities),
      ...minutes,
    },
    { additionalProperties: false },
  ),
  update: Type.Object(
    {
      respondMinutes: Type.Optional(minutes.respondMinutes),
      completeMinutes: Type.Optional(minutes.completeMinutes),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  filters: { priority: OneOf(workOrderPriorities), category: Type.String({ minLength: 1, maxLength: 50 }) },
  search: ['category'],
  orderBy: 'priority',
  references: {},
  estateFrom: 'estateId',
  async check({ db, estateId, existing, next }) {
    const respond = next.respondMinutes as number
    const complete = next.completeMinutes as number
    if (complete < respond)
      throw invalid(
        'body.completeMinutes',
        `must be at least respondMinutes (${respond}): an order cannot be due done before it is due answered`,
        'sla.completeBeforeRespond',
        { respond },
      )
    if (existing) return
    // The unique key (estate, coalesce(category, ''), priority) answers a race with 409 too,
    // but its message cannot name a field; this names it.
    const category = (next.category as string | null | undefined) ?? null
    const priority = next.priority as string
    const taken = await db
      .selectFrom('slaPolicies')
      .select('id')
      .where('estateId', '=', estateId)
      .where('priority', '=', priority as never)
      .where((eb) => (category === null ? eb('category', 'is', null) : eb('category', '=', category)))
      .executeTakeFirst()
    if (taken)
      throw category === null
        ? conflict(
            'body.priority',
            `this estate already has a policy for every ${priority} order (category null): change that one (${taken.id})`,
            'sla.duplicate',
            { priority },
          )
        : conflict(
            'body.category',
            `this estate already has a policy for ${priority} ${category} orders: change that one (${taken.id})`,
            'sla.duplicate',
            { priority, category: String(category) },
          )
  },
}
