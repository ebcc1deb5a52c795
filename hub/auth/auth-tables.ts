import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, Role, Timestamp } from '../store/database-schema.ts'

// The auth domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations and the module's own (migrations/).

export interface UserTable {
  id: Generated<string>
  username: string
  displayName: string
  passwordHash: string
  disabled: Generated<boolean>
  /** Set by an admin's password reset: every route but the own password change answers 403. */
  mustChangePassword: Generated<boolean>
  lastLoginAt: Date | null
  createdAt: CreatedAt
  updatedAt: Timestamp
}
export interface RoleGrantTable {
  id: Generated<string>
  userId: string
  role: Role
  nodeId: string | null
  createdBy: string | null
  createdAt: CreatedAt
}
export interface SessionTable {
  id: Generated<string>
  userId: string
  tokenHash: string
  expiresAt: Date
  revokedAt: Date | null
  createdAt: CreatedAt
}

/** Failed logins per (kind, key): hub/auth/login-throttle.ts, migration 0010. */
export interface LoginThrottleTable {
  kind: string
  key: string
  failures: number
  windowStartedAt: Date
  nextAllowedAt: Date
}

export type User = Selectable<UserTable>
export type NewUser = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>

declare module '../store/database-schema.ts' {
  interface Database {
    users: UserTable
    roleGrants: RoleGrantTable
    sessions: SessionTable
    loginThrottle: LoginThrottleTable
  }
}
