import { type Kysely, sql } from 'kysely'

/**
 * Issue 14: alarm state lives in the database and is read and written in the transaction of
 * the batch it judges (alarm-engine.ts), so the answer does not depend on which hub took which
 * batch, or on a restart between two batches of a hold.
 *
 * - `alarm_holds`: when a threshold condition began, per rule and point (the hold-time clock).
 * - `alarm_last_values`: the newest good value of each point a rate or reverse-flow rule
 *   watches, what the next reading is compared with.
 * - `alarm_parked_batches`: a batch committed while an earlier seq of its gateway was not yet
 *   (another hub holds it) waits here, its alarm-relevant readings and events as JSON, until the
 *   transaction that closes the gap judges it in seq order; the one-hub answer. Small: a row
 *   lives from its commit until the gap before it closes.
 *
 * The N-in-M event pattern needs nothing more than device_events (counted up to the judged
 * batch's seq).
 */
const statements = [
  `create table alarm_holds (
    rule_id uuid not null references alarm_rules (id) on delete cascade,
    point_id uuid not null references points (id) on delete cascade,
    since timestamptz not null,
    primary key (rule_id, point_id)
  )`,
  `create table alarm_last_values (
    point_id uuid primary key references points (id) on delete cascade,
    ts timestamptz not null,
    value numeric not null
  )`,
  `create table alarm_parked_batches (
    gateway_id uuid not null references gateways (id) on delete cascade,
    seq bigint not null,
    historical boolean not null,
    readings jsonb not null,
    events jsonb not null,
    parked_at timestamptz not null default now(),
    primary key (gateway_id, seq)
  )`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
