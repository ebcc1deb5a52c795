import { type Kysely, sql } from 'kysely'

/**
 * Issue 13, item 4: money is computed once.
 *
 * - A late fee names the as-of date it was accrued for, and one receivable has at most one
 *   late fee per as-of date: two accruals racing for one day cannot both charge. Fees accrued
 *   before this migration keep a null date (some may be the doubles this key now prevents;
 *   receivables are immutable, so they stay and are corrected by waivers if need be).
 * - `late_fee_runs`: one row per estate and as-of date, so the daily job of several hubs
 *   accrues a day once and an operator sees when it ran.
 * - Estates say at what local time the daily accrual runs; org nodes say whether a bill run
 *   needs a second person to approve it (four eyes; null: as the parent, and on at the root).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table receivables add column accrued_as_of date`.execute(db)
  await sql`alter table receivables add constraint receivables_accrued_as_of_late_fee
    check (accrued_as_of is null or kind = 'late_fee')`.execute(db)
  await sql`create unique index receivables_late_fee_once on receivables (late_fee_for, accrued_as_of)
    where accrued_as_of is not null`.execute(db)

  await sql`create table late_fee_runs (
    estate_id uuid not null references org_nodes (id),
    as_of date not null,
    lines integer not null default 0,
    amount numeric(14, 2) not null default 0,
    runs integer not null default 0,
    first_run_at timestamptz not null default now(),
    last_run_at timestamptz not null default now(),
    last_run_by uuid references users (id),
    primary key (estate_id, as_of)
  )`.execute(db)

  await sql`alter table org_nodes add column late_fee_accrual_time text not null default '02:00'
    constraint org_nodes_late_fee_accrual_time check (late_fee_accrual_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$')`.execute(
    db,
  )
  await sql`alter table org_nodes add column four_eyes_bill_runs boolean`.execute(db)
}
