import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { permissionsOf, roles } from '../kernel/roles.ts'
import { errorReplies, Id, OneOf } from '../kernel/schema-parts.ts'
import type { Database, Role } from '../store/database-schema.ts'

/** The roles that may work orders; read from roles.ts so the list follows any change there. */
const workerRoles = roles.filter((role) => permissionsOf(role).includes('workOrders.manage'))

const Assignee = Type.Object(
  {
    id: Id,
    username: Type.String(),
    displayName: Type.String(),
    roles: Type.Array(OneOf(roles), {
      description: 'the roles through which they may work orders in this estate',
    }),
  },
  { title: 'Assignee' },
)

export interface Assignee {
  readonly id: string
  readonly username: string
  readonly displayName: string
  readonly roles: readonly Role[]
}

/**
 * The active users who may work the orders of an estate: a role with workOrders.manage
 * granted on the estate, on a node above it, or on the whole organisation. One query: the
 * estate's chain of ancestors, then the grants that reach it.
 */
export async function assigneesOf(db: Kysely<Database>, estateId: string): Promise<Assignee[]> {
  const rows = await db
    .withRecursive('chain', (qb) =>
      qb
        .selectFrom('orgNodes')
        .select(['id', 'parentId'])
        .where('id', '=', estateId)
        .unionAll((up) =>
          up
            .selectFrom('orgNodes')
            .innerJoin('chain', 'chain.parentId', 'orgNodes.id')
            .select(['orgNodes.id', 'orgNodes.parentId']),
        ),
    )
    .selectFrom('users')
    .innerJoin('roleGrants', 'roleGrants.userId', 'users.id')
    .select(['users.id', 'users.username', 'users.displayName'])
    .select((eb) => eb.fn.agg<Role[]>('array_agg', ['roleGrants.role']).distinct().as('roles'))
    .where('users.disabled', '=', false)
    .where('roleGrants.role', 'in', workerRoles) // bounded: roles of the vocabulary
    .where((eb) =>
      eb.or([
        eb('roleGrants.nodeId', 'is', null),
        eb('roleGrants.nodeId', 'in', eb.selectFrom('chain').select('chain.id')),
      ]),
    )
    .groupBy(['users.id', 'users.username', 'users.displayName'])
    .orderBy('users.displayName')
    .orderBy('users.username')
    .execute()
  return rows.map((r) => ({ ...r, roles: [...r.roles].sort() }))
}

/** Who a work order of an estate can be assigned to: for the assign step's picker. */
export function registerWorkOrderAssigneeRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.get(
    '/api/v1/work-orders/assignees',
    {
      config: { access: { estate: { from: 'query.estateId' }, permission: 'workOrders.manage' } },
      schema: {
        tags: ['work orders'],
        summary:
          'Who the orders of an estate can be assigned to: its active users holding workOrders.manage there',
        description:
          'Users have no department in EstateHub, so there is no department filter: each assignee carries the roles that let them work orders here.',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object({ estateId: Id }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(Assignee) }), ...errorReplies },
      },
    },
    async (request) => {
      return { items: await assigneesOf(db, request.estateId) }
    },
  )
}
