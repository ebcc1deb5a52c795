import { type Kysely, sql } from 'kysely'

/**
 * Issue 13: failed logins are counted in the database, so every hub on one database throttles
 * alike and a restart forgets nothing (the in-memory lock it replaces did both wrong). One row
 * per (kind, key): kinds are listed in hub/auth/login-throttle.ts. And a password an admin set
 * must be changed by its user at the next login.
 */
const statements = [
  `create table login_throttle (
    kind text not null check (kind ~ '^[a-z][a-z-]{0,31}$'),
    key text not null check (length(key) <= 400),
    failures integer not null check (failures >= 0),
    window_started_at timestamptz not null,
    next_allowed_at timestamptz not null,
    primary key (kind, key)
  )`,
  // Old rows are deleted by window start (login-throttle.ts, on every recorded failure).
  `create index login_throttle_window on login_throttle (window_started_at)`,
  `alter table users add column must_change_password boolean not null default false`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
