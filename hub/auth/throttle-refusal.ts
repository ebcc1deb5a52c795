import type { FastifyReply } from 'fastify'
import { ApiError, detail, ruleRef } from '../kernel/api-error.ts'

/**
 * The 429 a throttled login (or own password change) gets: Retry-After says when to come back,
 * the rule carries the same seconds for the console. Nothing was checked: not even the right
 * password gets through before then.
 */
export function throttled(reply: FastifyReply, seconds: number, field = 'body.username'): ApiError {
  reply.header('retry-after', String(seconds))
  const message = `too many failed logins from here; try again in ${seconds} s`
  return new ApiError(
    'EH_ERR_LOCKED',
    message,
    [detail(field, 'too many failed logins', 'auth.throttled', { seconds })],
    ruleRef('auth.throttled', { seconds }),
  )
}
