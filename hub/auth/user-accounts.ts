import type { Kysely } from 'kysely'
import { type RuleRef, ruleRef } from '../kernel/api-error.ts'
import type { Database, Role } from '../store/database-schema.ts'
import { hashPassword, MIN_PASSWORD_LENGTH } from './password.ts'
import { judgePassword, MIN_PASSWORD_SCORE } from './password-strength.ts'

export class AccountError extends Error {
  readonly field: string
  /** True when the problem is a clash with an existing account (HTTP 409), not bad input. */
  readonly conflict: boolean
  readonly rule: RuleRef
  constructor(field: string, message: string, rule: RuleRef, conflict = false) {
    super(`${field}: ${message}`)
    this.field = field
    this.rule = rule
    this.conflict = conflict
  }
}

/**
 * Refuses a password an attacker would guess: too short, holding the username, or scored below
 * MIN_PASSWORD_SCORE by zxcvbn with the account's own names as known words. Applied to what
 * people type (API, CLI), not to passwords the hub generates itself (the demo's).
 */
export function checkPasswordStrength(
  password: string,
  account: { readonly username: string; readonly displayName?: string | undefined },
  field = 'password',
) {
  const { username } = account
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new AccountError(
      field,
      `must be at least ${MIN_PASSWORD_LENGTH} characters`,
      ruleRef('password.tooShort', {
        min: MIN_PASSWORD_LENGTH,
      }),
    )
  if (password.toLowerCase().includes(username.toLowerCase()))
    throw new AccountError(field, 'must not contain the username', ruleRef('password.containsUsername'))
  const inputs = [username, ...(account.displayName ? [account.displayName] : [])]
  const { score, feedback } = judgePassword(password, inputs)
  if (score < MIN_PASSWORD_SCORE)
    throw new AccountError(
      field,
      `is too easy to guess (strength ${score} of 4, at least ${MIN_PASSWORD_SCORE} needed)${feedback ? `: ${feedback}` : ''}`,
      ruleRef('password.weak', { score, min: MIN_PASSWORD_SCORE, feedback }),
    )
}

export interface NewAccount {
  readonly username: string
  readonly displayName?: string
  readonly password: string
}

/**
 * Creates a user; the password is stored only as its scrypt hash. Used by the API, the CLI and
 * the demo; the first two check the password's strength first (checkPasswordStrength).
 */
export async function createUser(db: Kysely<Database>, account: NewAccount) {
  const taken = await db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['username']), '=', account.username.toLowerCase()))
    .executeTakeFirst()
  if (taken)
    throw new AccountError(
      'username',
      `${account.username} is taken`,
      ruleRef('user.usernameTaken', { username: account.username }),
      true,
    )
  return db
    .insertInto('users')
    .values({
      username: account.username,
      displayName: account.displayName ?? account.username,
      passwordHash: await hashPassword(account.password),
      disabled: false,
    })
    .returning(['id', 'username', 'displayName', 'disabled', 'createdAt', 'updatedAt', 'lastLoginAt'])
    .executeTakeFirstOrThrow()
}

/** Grants `role` on a node (null: the whole organisation); granting twice is a no-op. */
export async function grantRole(
  db: Kysely<Database>,
  userId: string,
  role: Role,
  nodeId: string | null,
  createdBy: string | null,
) {
  const existing = await db
    .selectFrom('roleGrants')
    .selectAll()
    .where('userId', '=', userId)
    .where('role', '=', role)
    .where((eb) => (nodeId === null ? eb('nodeId', 'is', null) : eb('nodeId', '=', nodeId)))
    .executeTakeFirst()
  if (existing) return existing
  return db
    .insertInto('roleGrants')
    .values({ userId, role, nodeId, createdBy })
    .returningAll()
    .executeTakeFirstOrThrow()
}
