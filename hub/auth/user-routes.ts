import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import type { AccessScope } from '../kernel/access-scope.ts'
import { ApiError, detail, forbidden, forbiddenField, invalid, notFound } from '../kernel/api-error.ts'
import { containsPattern } from '../kernel/like-pattern.ts'
import { roles } from '../kernel/roles.ts'
import {
  errorReplies,
  Id,
  IdParams,
  Nullable,
  OneOf,
  Page,
  PageQuery,
  Timestamp,
} from '../kernel/schema-parts.ts'
import type { Database, Role } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import type { LoginThrottle } from './login-throttle.ts'
import { changeOwnPassword } from './own-password.ts'
import { hashPassword } from './password.ts'
import { AccountError, checkPasswordStrength, createUser, grantRole } from './user-accounts.ts'

const Grant = Type.Object({ id: Id, role: OneOf(roles), nodeId: Nullable(Id), createdAt: Timestamp })
const User = Type.Object(
  {
    id: Id,
    username: Type.String(),
    displayName: Type.String(),
    disabled: Type.Boolean(),
    mustChangePassword: Type.Boolean({
      description: 'an admin set the password; the user must set their own at the next login',
    }),
    lastLoginAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    grants: Type.Array(Grant),
  },
  { title: 'User' },
)
const GrantBody = Type.Object(
  { role: OneOf(roles), nodeId: Nullable(Id) },
  { additionalProperties: false, description: 'nodeId null: the whole organisation' },
)
const Username = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$' })
const Password = Type.String({ minLength: 10, maxLength: 200 })

const mayManage = (scope: AccessScope, nodeId: string | null) =>
  nodeId === null ? scope.globally('users.manage') : scope.can('users.manage', nodeId)

const asApiError = (error: unknown) => {
  if (!(error instanceof AccountError)) return error
  const message = error.message.slice(error.field.length + 2)
  const field = `body.${error.field}`
  return new ApiError(error.conflict ? 'EH_ERR_CONFLICT' : 'EH_ERR_VALIDATION', `${field}: ${message}`, [
    { field, ...error.rule, message },
  ])
}

/**
 * User administration. An admin sees the users holding a grant inside their scope and may
 * change a user only when every grant of that user lies inside it, so an estate admin cannot
 * lock out or re-password a company admin who also works in their estate.
 */
export function registerUserRoutes(app: FastifyInstance, db: Kysely<Database>, throttle: LoginThrottle) {
  const security = [{ bearerAuth: [] }]
  const tags = ['users']

  const grantsOf = (userIds: readonly string[]) =>
    userIds.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('roleGrants')
          .select(['id', 'userId', 'role', 'nodeId', 'createdAt'])
          .where('userId', '=', anyUuid(userIds))
          .execute()

  // What a user record shows (never the password hash).
  const userColumns = [
    'id',
    'username',
    'displayName',
    'disabled',
    'mustChangePassword',
    'lastLoginAt',
    'createdAt',
    'updatedAt',
  ] as const

  const loadUser = async (scope: AccessScope, id: string) => {
    const user = await db.selectFrom('users').select(userColumns).where('id', '=', id).executeTakeFirst()
    const grants = user ? await grantsOf([user.id]) : []
    const visible =
      user &&
      (user.id === scope.userId ||
        scope.isGlobal ||
        grants.some((g) => g.nodeId !== null && mayManage(scope, g.nodeId)))
    if (!user || !visible) throw notFound('user')
    return { ...user, grants }
  }

  const requireManage = (scope: AccessScope, user: { id: string; grants: { nodeId: string | null }[] }) => {
    if (!user.grants.every((g) => mayManage(scope, g.nodeId))) {
      throw forbidden('this user holds grants outside the nodes you administer', 'user.outsideYourNodes')
    }
  }

  app.get(
    '/api/v1/users',
    {
      config: { access: { anywhere: 'users.manage' } },
      schema: {
        tags,
        summary: 'List the users holding grants inside the nodes you administer',
        security,
        querystring: Type.Object(
          { ...PageQuery, q: Type.Optional(Type.String({ minLength: 1 })) },
          { additionalProperties: false },
        ),
        response: { 200: Page(User), ...errorReplies },
      },
    },
    async (request) => {
      const { limit = 50, offset = 0, q } = request.query as { limit?: number; offset?: number; q?: string }
      const scope = request.scope
      // A list: filtered to the users holding a grant on a node the caller administers.
      const nodes = scope.visibleNodes().filter((id) => scope.can('users.manage', id))
      let select = db.selectFrom('users')
      if (!scope.globally('users.manage')) {
        select = select.where((eb) =>
          eb.exists(
            eb
              .selectFrom('roleGrants')
              .select('roleGrants.id')
              .whereRef('roleGrants.userId', '=', 'users.id')
              .where('roleGrants.nodeId', '=', anyUuid(nodes)),
          ),
        )
      }
      if (q)
        select = select.where((eb) =>
          eb.or([
            eb('username', 'ilike', containsPattern(q)),
            eb('displayName', 'ilike', containsPattern(q)),
          ]),
        )
      const [users, count] = await Promise.all([
        select.select(userColumns).orderBy('username').limit(limit).offset(offset).execute(),
        select.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      ])
      const grants = await grantsOf(users.map((u) => u.id))
      const items = users.map((u) => ({ ...u, grants: grants.filter((g) => g.userId === u.id) }))
      return { items, total: Number(count.total), limit, offset }
    },
  )

  app.get(
    '/api/v1/users/:id',
    {
      config: { access: { self: true } },
      schema: {
        tags,
        summary: 'Read one user',
        security,
        params: IdParams,
        response: { 200: User, ...errorReplies },
      },
    },
    async (request) => loadUser(request.scope, (request.params as { id: string }).id),
  )

  app.post(
    '/api/v1/users',
    {
      config: { access: { anywhere: 'users.manage' } },
      schema: {
        tags,
        summary: 'Create a user with at least one grant inside the nodes you administer',
        security,
        body: Type.Object(
          {
            username: Username,
            displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            password: Password,
            grants: Type.Array(GrantBody, { minItems: 1 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: User, ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        username: string
        displayName?: string
        password: string
        grants: { role: Role; nodeId: string | null }[]
      }
      for (const [i, grant] of body.grants.entries()) {
        if (grant.nodeId !== null && !request.scope.canSee(grant.nodeId))
          throw notFound('organisation node', `body.grants.${i}.nodeId`)
        if (!mayManage(request.scope, grant.nodeId))
          throw forbiddenField(
            `body.grants.${i}.nodeId`,
            'you may grant roles only inside the nodes you administer',
            'user.grantOutsideYourNodes',
          )
      }
      try {
        checkPasswordStrength(body.password, body)
      } catch (e) {
        throw asApiError(e)
      }
      const created = await db.transaction().execute(async (trx) => {
        const user = await createUser(trx, body).catch((e) => {
          throw asApiError(e)
        })
        for (const grant of body.grants)
          await grantRole(trx, user.id, grant.role, grant.nodeId, request.scope.userId)
        return user
      })
      return reply.status(201).send(await loadUser(request.scope, created.id))
    },
  )

  app.patch(
    '/api/v1/users/:id',
    {
      config: { access: { self: true } },
      schema: {
        tags,
        summary: 'Change a user (yourself: name and password only)',
        description:
          'Your own password needs currentPassword too (a wrong one counts as a failed login). A password set for someone else is a reset: their sessions end and they must change it at their next login.',
        security,
        params: IdParams,
        body: Type.Partial(
          Type.Object({
            displayName: Type.String({ minLength: 1, maxLength: 100 }),
            password: Password,
            currentPassword: Type.String({
              minLength: 1,
              maxLength: 200,
              description: 'your current password, when changing your own',
            }),
            disabled: Type.Boolean(),
          }),
          {
            additionalProperties: false,
            minProperties: 1,
          },
        ),
        response: { 200: User, ...errorReplies },
      },
    },
    async (request, reply) => {
      const user = await loadUser(request.scope, (request.params as { id: string }).id)
      const body = request.body as {
        displayName?: string
        password?: string
        currentPassword?: string
        disabled?: boolean
      }
      const self = user.id === request.scope.userId
      if (self && body.disabled !== undefined)
        throw invalid('body.disabled', 'you cannot disable yourself', 'user.disableSelf')
      if (!self) requireManage(request.scope, user)
      if (!self && body.currentPassword !== undefined)
        throw invalid(
          'body.currentPassword',
          'only for your own password; an admin resets without it',
          'password.currentNotYours',
        )
      // Your own: the current password first (counted as a login when wrong); sessions as below.
      if (self && body.password !== undefined)
        await changeOwnPassword(db, throttle, request, reply, {
          currentPassword: body.currentPassword,
          newPassword: body.password,
          fields: { current: 'body.currentPassword', new: 'body.password' },
        })
      const changes: {
        displayName?: string
        passwordHash?: string
        mustChangePassword?: boolean
        disabled?: boolean
        updatedAt: Date
      } = { updatedAt: new Date() }
      if (body.displayName !== undefined) changes.displayName = body.displayName
      if (body.disabled !== undefined) changes.disabled = body.disabled
      const reset = !self && body.password !== undefined
      if (reset) {
        try {
          checkPasswordStrength(body.password!, user)
        } catch (e) {
          throw asApiError(e)
        }
        changes.passwordHash = await hashPassword(body.password!)
        // Someone else knows this password: its owner must replace it before anything else.
        changes.mustChangePassword = true
      }
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set(changes).where('id', '=', user.id).execute()
        // A reset or a disabled account ends the sessions already open (an own change ended the
        // others in changeOwnPassword).
        if (reset || body.disabled) {
          await trx
            .updateTable('sessions')
            .set({ revokedAt: new Date() })
            .where('userId', '=', user.id)
            .where('revokedAt', 'is', null)
            .execute()
        }
      })
      return loadUser(request.scope, user.id)
    },
  )

  app.post(
    '/api/v1/users/:id/grants',
    {
      config: { access: { node: { from: 'body.nodeId', optional: true }, permission: 'users.manage' } },
      schema: {
        tags,
        summary: 'Grant a role on a node',
        security,
        params: IdParams,
        body: GrantBody,
        response: { 201: User, ...errorReplies },
      },
    },
    async (request, reply) => {
      const user = await loadUser(request.scope, (request.params as { id: string }).id)
      const { role, nodeId } = request.body as { role: Role; nodeId: string | null }
      if (user.id === request.scope.userId)
        throw invalid('params.id', 'you cannot grant roles to yourself', 'user.grantSelf')
      await grantRole(db, user.id, role, nodeId, request.scope.userId)
      return reply.status(201).send(await loadUser(request.scope, user.id))
    },
  )

  app.delete(
    '/api/v1/users/:id/grants/:grantId',
    {
      config: { access: { anywhere: 'users.manage' } },
      schema: {
        tags,
        summary: 'Withdraw a grant',
        security,
        params: Type.Object({ id: Id, grantId: Id }, { additionalProperties: false }),
        response: { 200: User, ...errorReplies },
      },
    },
    async (request) => {
      const { id, grantId } = request.params as { id: string; grantId: string }
      const user = await loadUser(request.scope, id)
      const grant = user.grants.find((g) => g.id === grantId)
      if (!grant) throw notFound('grant', 'params.grantId')
      if (!mayManage(request.scope, grant.nodeId))
        throw forbidden('this grant lies outside the nodes you administer', 'user.grantOutside')
      if (user.id === request.scope.userId && grant.role === 'admin') {
        throw new ApiError('EH_ERR_CONFLICT', 'you cannot withdraw your own admin grant', [
          detail('params.grantId', 'own admin grant', 'user.withdrawOwnAdmin'),
        ])
      }
      await db.deleteFrom('roleGrants').where('id', '=', grant.id).execute()
      return loadUser(request.scope, user.id)
    },
  )
}
