import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import { ApiError, detail } from '../kernel/api-error.ts'
import { permissionsOf, roles } from '../kernel/roles.ts'
import { errorReplies, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { accountAddressKey, type LoginThrottle, loginKeys } from './login-throttle.ts'
import { changeOwnPassword } from './own-password.ts'
import { UNUSABLE_PASSWORD_HASH, verifyPassword } from './password.ts'
import { hashSessionToken, newSessionToken } from './session-token.ts'
import { throttled } from './throttle-refusal.ts'

export interface AuthOptions {
  readonly tokenTtlMinutes: number
  readonly throttle: LoginThrottle
}

const Me = Type.Object({
  id: Id,
  username: Type.String(),
  displayName: Type.String(),
  grants: Type.Array(
    Type.Object({
      id: Id,
      role: OneOf(roles),
      nodeId: Nullable(Id),
      nodeKind: Nullable(Type.String()),
      nodeName: Nullable(Type.String()),
      permissions: Type.Array(Type.String(), {
        description:
          'what the role may change on that node (hub/kernel/roles.ts), for the console to offer only those actions',
      }),
    }),
  ),
})

export function registerAuthRoutes(app: FastifyInstance, db: Kysely<Database>, options: AuthOptions) {
  const tags = ['auth']
  app.post(
    '/api/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Log in; the token goes in `Authorization: Bearer <token>`',
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64 }),
            password: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            token: Type.String(),
            expiresAt: Timestamp,
            user: Type.Object({ id: Id, username: Type.String(), displayName: Type.String() }),
            mustChangePassword: Type.Boolean({
              description:
                'true after an admin set this password: every route but POST /api/v1/auth/password and logout answers 403 (rule auth.passwordChangeRequired) until the user sets their own',
            }),
          }),
          ...errorReplies,
          429: Type.Ref('ErrorResponse'),
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body as { username: string; password: string }
      // Counted by address and by account in the database (login-throttle.ts): a guesser slows
      // down quickly, everyone else logging in from elsewhere does not.
      const keys = loginKeys(username, request.ip)
      const wait = await options.throttle.waitSeconds(keys)
      if (wait > 0) throw throttled(reply, wait)
      const user = await db
        .selectFrom('users')
        .select(['id', 'username', 'displayName', 'passwordHash', 'disabled', 'mustChangePassword'])
        .where((eb) => eb(eb.fn('lower', ['username']), '=', username.toLowerCase()))
        .executeTakeFirst()
      // Always spend the scrypt time, so response time does not tell which usernames exist.
      const ok = await verifyPassword(password, user?.passwordHash ?? UNUSABLE_PASSWORD_HASH)
      if (!user || !ok || user.disabled) {
        await options.throttle.failed(keys)
        request.log.warn({ username, address: request.ip }, 'login failed')
        throw new ApiError('EH_ERR_UNAUTHENTICATED', 'wrong username or password', [
          detail('body.password', 'wrong username or password', 'auth.wrongLogin'),
        ])
      }
      await options.throttle.cleared([accountAddressKey(username, request.ip)])
      const token = newSessionToken()
      const expiresAt = new Date(Date.now() + options.tokenTtlMinutes * 60_000)
      await db
        .insertInto('sessions')
        .values({ userId: user.id, tokenHash: hashSessionToken(token), expiresAt })
        .execute()
      await db.updateTable('users').set({ lastLoginAt: new Date() }).where('id', '=', user.id).execute()
      // Sessions that ended more than a day ago serve no one; logins are rare enough to tidy here.
      await db
        .deleteFrom('sessions')
        .where((eb) =>
          eb.or([
            eb('expiresAt', '<', sql<Date>`now() - interval '1 day'`),
            eb('revokedAt', '<', sql<Date>`now() - interval '1 day'`),
          ]),
        )
        .execute()
      return {
        token,
        expiresAt,
        user: { id: user.id, username: user.username, displayName: user.displayName },
        mustChangePassword: user.mustChangePassword,
      }
    },
  )

  app.post(
    '/api/v1/auth/password',
    {
      config: { access: { self: true }, duringPasswordChange: true },
      schema: {
        tags,
        summary: 'Change your own password (needs the current one; other sessions end)',
        description:
          'A wrong current password counts as a failed login (429 with Retry-After when throttled). Clears the must-change flag an admin reset sets; this session stays valid.',
        security: [{ bearerAuth: [] }],
        body: Type.Object(
          {
            currentPassword: Type.String({ minLength: 1, maxLength: 200 }),
            newPassword: Type.String({ minLength: 10, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...errorReplies, 429: Type.Ref('ErrorResponse') },
      },
    },
    async (request, reply) => {
      const body = request.body as { currentPassword: string; newPassword: string }
      await changeOwnPassword(db, options.throttle, request, reply, {
        currentPassword: body.currentPassword,
        newPassword: body.newPassword,
        fields: { current: 'body.currentPassword', new: 'body.newPassword' },
      })
      return reply.status(204).send()
    },
  )

  app.post(
    '/api/v1/auth/logout',
    {
      config: { access: { self: true }, duringPasswordChange: true },
      schema: {
        tags,
        summary: 'End this session (revokes the token)',
        security: [{ bearerAuth: [] }],
        response: { 204: Type.Null(), ...errorReplies },
      },
    },
    async (request, reply) => {
      await db
        .updateTable('sessions')
        .set({ revokedAt: new Date() })
        .where('id', '=', request.sessionId)
        .execute()
      return reply.status(204).send()
    },
  )

  app.get(
    '/api/v1/auth/me',
    {
      config: { access: { self: true } },
      schema: {
        tags,
        summary: 'Who am I, and what am I granted',
        security: [{ bearerAuth: [] }],
        response: { 200: Me, ...errorReplies },
      },
    },
    async (request) => {
      const user = await db
        .selectFrom('users')
        .select(['id', 'username', 'displayName'])
        .where('id', '=', request.scope.userId)
        .executeTakeFirstOrThrow()
      const grants = await db
        .selectFrom('roleGrants')
        .leftJoin('orgNodes', 'orgNodes.id', 'roleGrants.nodeId')
        .select([
          'roleGrants.id',
          'roleGrants.role',
          'roleGrants.nodeId',
          'orgNodes.kind as nodeKind',
          'orgNodes.name as nodeName',
        ])
        .where('roleGrants.userId', '=', user.id)
        .execute()
      return {
        ...user,
        grants: grants.map((grant) => ({ ...grant, permissions: [...permissionsOf(grant.role)] })),
      }
    },
  )
}
