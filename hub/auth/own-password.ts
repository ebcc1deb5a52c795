import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { ApiError, detail } from '../kernel/api-error.ts'
import type { Database } from '../store/database-schema.ts'
import { accountAddressKey, type LoginThrottle, loginKeys } from './login-throttle.ts'
import { hashPassword, verifyPassword } from './password.ts'
import { throttled } from './throttle-refusal.ts'
import { AccountError, checkPasswordStrength } from './user-accounts.ts'

export interface OwnPasswordChange {
  readonly currentPassword: string | undefined
  readonly newPassword: string
  /** Where the two passwords sit in the request, for the error details. */
  readonly fields: { readonly current: string; readonly new: string }
}

/**
 * A user changes their own password: only with the current one (a stolen session alone must not
 * become the account), and a wrong current password counts as a failed login. The session that
 * asked stays; the user's other sessions end, and a reset's must-change flag is cleared.
 */
export async function changeOwnPassword(
  db: Kysely<Database>,
  throttle: LoginThrottle,
  request: FastifyRequest,
  reply: FastifyReply,
  change: OwnPasswordChange,
): Promise<void> {
  const { fields } = change
  if (change.currentPassword === undefined)
    throw new ApiError('EH_ERR_VALIDATION', `${fields.current}: your current password is required`, [
      detail(fields.current, 'your current password is required', 'password.currentRequired'),
    ])
  const user = await db
    .selectFrom('users')
    .select(['id', 'username', 'displayName', 'passwordHash'])
    .where('id', '=', request.scope.userId)
    .executeTakeFirstOrThrow()
  const keys = loginKeys(user.username, request.ip)
  const wait = await throttle.waitSeconds(keys)
  if (wait > 0) throw throttled(reply, wait, fields.current)
  if (!(await verifyPassword(change.currentPassword, user.passwordHash))) {
    await throttle.failed(keys)
    request.log.warn({ username: user.username }, 'own password change: wrong current password')
    throw new ApiError('EH_ERR_VALIDATION', `${fields.current}: not your current password`, [
      detail(fields.current, 'not your current password', 'password.currentWrong'),
    ])
  }
  // After a reset the admin knows the current one: keeping it would defeat the forced change.
  if (change.newPassword.normalize('NFKC') === change.currentPassword.normalize('NFKC'))
    throw new ApiError('EH_ERR_VALIDATION', `${fields.new}: must differ from your current password`, [
      detail(fields.new, 'must differ from your current password', 'password.sameAsCurrent'),
    ])
  try {
    checkPasswordStrength(change.newPassword, user, fields.new.replace(/^body\./, ''))
  } catch (error) {
    if (!(error instanceof AccountError)) throw error
    const message = error.message.slice(error.field.length + 2)
    throw new ApiError('EH_ERR_VALIDATION', `${fields.new}: ${message}`, [
      { field: fields.new, ...error.rule, message },
    ])
  }
  const passwordHash = await hashPassword(change.newPassword)
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({ passwordHash, mustChangePassword: false, updatedAt: new Date() })
      .where('id', '=', user.id)
      .execute()
    await trx
      .updateTable('sessions')
      .set({ revokedAt: new Date() })
      .where('userId', '=', user.id)
      .where('id', '!=', request.sessionId)
      .where('revokedAt', 'is', null)
      .execute()
  })
  await throttle.cleared([accountAddressKey(user.username, request.ip)])
}
