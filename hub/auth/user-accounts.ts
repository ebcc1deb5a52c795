import type { Kysely } from 'kysely'
import { type RuleRef, ruleRef } from '../kernel/api-error.ts'
import type { Database, Role } from '../store/database-schema.ts'
import { hashPassword, MIN_PASSWORD_LENGTH } from './password.ts'

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

export function checkPasswordStrength(password: string, username: string, field = 'password') {
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
}

export interface NewAccount {
  readonly username: string
  readonly displayName?: string
  readonly password: string
}

/** Creates a user; the password is stored only as its scrypt hash. Used by the API and the CLI. */
export async function createUser(db: Kysely<Database>, account: NewAccount) {
  checkPasswordStrength(account.password, account.username)
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
