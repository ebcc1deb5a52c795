import { type Kysely, sql } from 'kysely'

// Ingest (readings, latest values, events, de-duplication, dead letters), presence and the
// automatic meter-read records. Same DDL on PGlite and PostgreSQL.
const statements = [
  // Readings are partitioned twice: by series class (counters are kept for billing, gauges
  // and states age out by dropping whole partitions) and then by UTC month. Monthly
  // partitions are created on demand by the ingest (hub/ingest/reading-partitions.ts).
  `create table readings (
    point_id uuid not null,
    ts timestamptz not null,
    counter boolean not null,
    value numeric,
    value_text text,
    quality text not null check (quality in ('good', 'uncertain', 'bad')),
    reason text,
    historical boolean not null default false,
    primary key (point_id, counter, ts)
  ) partition by list (counter)`,
  `create table readings_counter partition of readings for values in (true) partition by range (ts)`,
  `create table readings_other partition of readings for values in (false) partition by range (ts)`,

  `create table latest_values (
    point_id uuid primary key references points (id) on delete cascade,
    ts timestamptz not null,
    value numeric,
    value_text text,
    quality text not null check (quality in ('good', 'uncertain', 'bad')),
    reason text,
    last_good_at timestamptz,
    received_at timestamptz not null default now()
  )`,

  // One row per gateway: the committed mark of docs/protocol.md § Acknowledgements and the
  // presence taken from its retained status topic and last will.
  `create table gateway_links (
    gateway_id uuid primary key references gateways (id) on delete cascade,
    committed_seq bigint not null default 0,
    last_batch_at timestamptz,
    last_batch_sent_at timestamptz,
    status text check (status in ('online', 'offline')),
    status_session text,
    status_at timestamptz,
    updated_at timestamptz not null default now()
  )`,
  // Batches committed above the mark (it cannot advance over a gap yet). Rows at or below
  // the mark are deleted in the transaction that moves it, so the table stays small.
  `create table ingested_batches (
    gateway_id uuid not null references gateways (id) on delete cascade,
    seq bigint not null,
    primary key (gateway_id, seq)
  )`,

  `create table device_events (
    id bigint generated always as identity primary key,
    estate_id uuid not null references org_nodes (id),
    gateway_id uuid not null references gateways (id),
    device_id uuid references devices (id),
    source text not null,
    ts timestamptz not null,
    type text not null,
    data jsonb not null,
    historical boolean not null default false,
    gateway_seq bigint not null,
    received_at timestamptz not null default now()
  )`,
  `create index device_events_estate_ts on device_events (estate_id, ts)`,
  `create index device_events_device_ts on device_events (device_id, ts)`,

  // Readings that reached the hub but could not be placed: an unknown point, a time far in
  // the future. Kept with the batch they came in, so nothing a gateway sent is lost silently.
  `create table unmatched_readings (
    id bigint generated always as identity primary key,
    gateway_id uuid not null references gateways (id) on delete cascade,
    gateway_seq bigint not null,
    name text not null,
    ts timestamptz,
    value text,
    quality text not null,
    reason text not null,
    received_at timestamptz not null default now()
  )`,
  `create index unmatched_readings_gateway on unmatched_readings (gateway_id, received_at)`,

  // Payloads that failed validation: the reason and the first bytes (bounded), never parsed.
  `create table dead_letters (
    id bigint generated always as identity primary key,
    received_at timestamptz not null default now(),
    topic text not null,
    gateway_code text,
    reason text not null,
    payload bytea not null,
    payload_bytes integer not null
  )`,
  `create index dead_letters_received on dead_letters (received_at)`,

  // Per estate: when the month's meter reads are cut and how they are validated.
  `create table metering_settings (
    estate_id uuid primary key references org_nodes (id),
    -- Day of month whose 24:00 local time is the cut-off; null = the last day of the month.
    cutoff_day smallint check (cutoff_day between 1 and 28),
    window_hours integer not null default 24 check (window_hours between 1 and 720),
    estimate_missing boolean not null default true,
    spike_factor_water numeric not null default 3 check (spike_factor_water > 1),
    spike_factor_electricity numeric not null default 3 check (spike_factor_electricity > 1),
    spike_factor_gas numeric not null default 3 check (spike_factor_gas > 1),
    spike_factor_heat numeric not null default 3 check (spike_factor_heat > 1),
    offline_after_intervals integer not null default 3 check (offline_after_intervals >= 1),
    updated_at timestamptz not null default now()
  )`,

  `create table meter_reads (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    meter_id uuid not null,
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    period_start timestamptz not null,
    cutoff_at timestamptz not null,
    previous_reading numeric(17, 3),
    previous_at timestamptz,
    previous_source text check (previous_source in ('read', 'install', 'series')),
    current_reading numeric(17, 3),
    current_at timestamptz,
    method text not null check (method in ('exact', 'interpolated', 'nearest', 'estimated', 'manual', 'missing')),
    multiplier numeric not null,
    consumption numeric(20, 3),
    rollover boolean not null default false,
    replacements integer not null default 0,
    trues_up boolean not null default false,
    flags jsonb not null default '[]',
    status text not null check (status in ('auto', 'flagged', 'estimated', 'overridden', 'approved')),
    approved_by uuid references users (id),
    approved_at timestamptz,
    computed_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    version integer not null default 1,
    unique (meter_id, period),
    unique (estate_id, id),
    check (cutoff_at > period_start),
    foreign key (estate_id, meter_id) references meters (estate_id, id)
  )`,
  `create index meter_reads_estate_period on meter_reads (estate_id, period, status)`,

  // Every change to a meter read: who (null = the hub itself), when, why, and the old value.
  `create table meter_read_changes (
    id bigint generated always as identity primary key,
    estate_id uuid not null,
    meter_read_id uuid not null,
    action text not null check (action in ('computed', 'recomputed', 'approved', 'overridden', 'estimated')),
    reason text,
    changed_by uuid references users (id),
    changed_at timestamptz not null default now(),
    old jsonb,
    new jsonb not null,
    foreign key (estate_id, meter_read_id) references meter_reads (estate_id, id)
  )`,
  `create index meter_read_changes_read on meter_read_changes (meter_read_id, id)`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
