import { type Kysely, sql } from 'kysely'

/**
 * Issue 14: background jobs run once across N hubs (hub/kernel/job-lease.ts).
 *
 * - `job_leases`: one row per job name; the hub named in `holder` runs the job until
 *   `expires_at` and renews it meanwhile; another hub takes an expired row over.
 * - `job_done`: work that must happen once per key (a meter-read phase of a period for an
 *   estate, a night judged by a rule), so neither a restart nor another hub does it again.
 */
const statements = [
  `create table job_leases (
    name text primary key check (length(name) between 1 and 100),
    holder text not null check (length(holder) between 1 and 300),
    acquired_at timestamptz not null default now(),
    renewed_at timestamptz not null default now(),
    expires_at timestamptz not null
  )`,
  `create table job_done (
    job text not null check (length(job) between 1 and 100),
    key text not null check (length(key) between 1 and 400),
    done_at timestamptz not null default now(),
    done_by text not null,
    primary key (job, key)
  )`,
  // Old keys are forgotten by age (each job past its own horizon).
  `create index job_done_age on job_done (job, done_at)`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
