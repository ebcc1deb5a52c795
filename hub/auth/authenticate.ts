import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { type AccessScope, loadAccessScope } from '../kernel/access-scope.ts'
import { ApiError, detail, forbidden } from '../kernel/api-error.ts'
import type { ErrorRule } from '../kernel/error-rules.ts'
import type { Database } from '../store/database-schema.ts'
import { hashSessionToken, looksLikeSessionToken } from './session-token.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's access, set for every route not marked public. */
    scope: AccessScope
    sessionId: string
  }
  interface FastifyContextConfig {
    /** No bearer token needed (login, health, metrics, docs). */
    public?: boolean
    /** Open to a user who must change their password first (the change itself, logout). */
    duringPasswordChange?: boolean
  }
}

const unauthenticated = (message: string, rule: ErrorRule & `auth.token${string}`) =>
  new ApiError('EH_ERR_UNAUTHENTICATED', message, [detail('headers.authorization', message, rule)])

async function scopeOf(db: Kysely<Database>, request: FastifyRequest): Promise<AccessScope> {
  const header = request.headers.authorization
  if (!header)
    throw unauthenticated('a bearer token is required (POST /api/v1/auth/login)', 'auth.tokenMissing')
  const [scheme, token] = header.split(' ')
  if (scheme?.toLowerCase() !== 'bearer' || !token || !looksLikeSessionToken(token)) {
    throw unauthenticated('the Authorization header must be "Bearer <token>"', 'auth.tokenMalformed')
  }
  const session = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.userId')
    .select([
      'sessions.id',
      'sessions.userId',
      'users.username',
      'sessions.expiresAt',
      'users.mustChangePassword',
    ])
    .where('sessions.tokenHash', '=', hashSessionToken(token))
    .where('sessions.revokedAt', 'is', null)
    .where('users.disabled', '=', false)
    .executeTakeFirst()
  if (!session || session.expiresAt.getTime() <= Date.now()) {
    throw unauthenticated('the token is unknown, revoked or expired; log in again', 'auth.tokenInvalid')
  }
  request.sessionId = session.id
  // An admin set this password: until the user sets their own, it opens nothing else. Read with
  // the session, so the check costs no query of its own.
  if (session.mustChangePassword && !request.routeOptions.config?.duringPasswordChange)
    throw forbidden(
      'an administrator set your password: change it first (POST /api/v1/auth/password)',
      'auth.passwordChangeRequired',
    )
  return loadAccessScope(db, session.userId, session.username)
}

/** Checks the bearer token before the body is parsed or validated. */
export function registerAuthentication(app: FastifyInstance, db: Kysely<Database>) {
  app.decorateRequest('scope', null as unknown as AccessScope)
  app.decorateRequest('sessionId', '')
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public || !request.routeOptions.url) return
    request.scope = await scopeOf(db, request)
  })
}
