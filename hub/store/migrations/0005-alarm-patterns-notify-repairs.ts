import { type Kysely, sql } from 'kysely'

// Issue 6, second part: more rule kinds (rate of change, offline, meter anomalies, N events in
// a window), notifications through an outbox, SLA policies as data, credentials that link an
// access event to a customer, and work orders with parts, labour, a charge and attachments.
const statements = [
  `alter table alarm_rules drop constraint alarm_rules_kind_check`,
  `alter table alarm_rules add constraint alarm_rules_kind_check check (kind in ('event', 'state', 'threshold', 'rate', 'offline', 'reverse_flow', 'night_flow'))`,
  // An event rule fires on the event_count-th event of its type at one source within
  // window_seconds (N denied attempts at one door within M minutes); 1 = every event.
  `alter table alarm_rules add column event_count integer not null default 1 check (event_count between 1 and 1000)`,
  `alter table alarm_rules add column window_seconds integer check (window_seconds between 1 and 86400)`,
  `alter table alarm_rules add constraint alarm_rules_window check (event_count = 1 or window_seconds is not null)`,
  // Rate of change: |Δvalue| per minute between two consecutive readings above this.
  `alter table alarm_rules add column rate_per_minute numeric check (rate_per_minute > 0)`,
  `alter table alarm_rules add constraint alarm_rules_rate check ((kind = 'rate') = (rate_per_minute is not null))`,
  // Offline: a device (or a gateway) silent for longer than this.
  `alter table alarm_rules add column offline_minutes integer check (offline_minutes between 1 and 10080)`,
  `alter table alarm_rules add column offline_target text check (offline_target in ('device', 'gateway'))`,
  `alter table alarm_rules add constraint alarm_rules_offline check ((kind = 'offline') = (offline_minutes is not null and offline_target is not null))`,
  // Night flow on a vacant unit: every hour from night_start to night_end (estate local time)
  // shows at least min_flow of consumption.
  `alter table alarm_rules add column night_start smallint check (night_start between 0 and 23)`,
  `alter table alarm_rules add column night_end smallint check (night_end between 0 and 23)`,
  `alter table alarm_rules add column min_flow numeric check (min_flow > 0)`,
  `alter table alarm_rules add constraint alarm_rules_night check ((kind = 'night_flow') = (night_start is not null and night_end is not null and min_flow is not null))`,

  // Card, face, QR or PIN → customer, so an access event names the person. A lost card is
  // deactivated, not deleted (older events keep naming who held it); one active per ref.
  `create table customer_credentials (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    customer_id uuid not null,
    kind text not null check (kind in ('card', 'face', 'qr', 'pin')),
    ref text not null check (ref <> ''),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    foreign key (estate_id, customer_id) references customers (estate_id, id)
  )`,
  `create unique index customer_credentials_active on customer_credentials (estate_id, kind, ref) where active`,
  `alter table device_events add column customer_id uuid references customers (id)`,
  `create index device_events_customer_ts on device_events (customer_id, ts) where customer_id is not null`,
  // Counting events at one door within a window, and the access report by door and type.
  `create index device_events_source_ts on device_events (estate_id, source, ts)`,

  // SLA per category and priority (category null = every category of that priority).
  `create table sla_policies (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    category text check (category <> ''),
    priority text not null check (priority in ('urgent', 'high', 'normal', 'low')),
    respond_minutes integer not null check (respond_minutes between 1 and 525600),
    complete_minutes integer not null check (complete_minutes between 1 and 525600),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    check (complete_minutes >= respond_minutes)
  )`,
  `create unique index sla_policies_key on sla_policies (estate_id, coalesce(category, ''), priority)`,

  // Where the order is (the alarm's source: controller/door, device/point), what it took, what it costs.
  `alter table work_orders add column location text`,
  `alter table work_orders add column parts jsonb not null default '[]'`,
  `alter table work_orders add column labour_minutes integer check (labour_minutes >= 0)`,
  `alter table work_orders add column charge_amount numeric(14, 2) check (charge_amount > 0)`,
  `alter table work_orders add column receivable_id uuid references receivables (id)`,

  `create table work_order_attachments (
    id uuid primary key default gen_random_uuid(),
    work_order_id uuid not null references work_orders (id),
    file_name text not null check (file_name <> ''),
    content_type text not null,
    size_bytes integer not null check (size_bytes > 0),
    sha256 text not null,
    content bytea not null,
    uploaded_by uuid references users (id),
    uploaded_at timestamptz not null default now()
  )`,
  `create index work_order_attachments_order on work_order_attachments (work_order_id)`,

  // Notifications to the on-duty team: channels (webhook, e-mail) and an outbox of deliveries
  // written in the same transaction as the alarm or escalation, so none is lost to a crash.
  `create table notification_channels (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    name text not null check (name <> ''),
    kind text not null check (kind in ('webhook', 'email')),
    url text,
    secret text,
    recipients jsonb,
    min_severity text not null default 'major' check (min_severity in ('critical', 'major', 'minor', 'info')),
    topics jsonb not null default '["alarm.raised", "work_order.escalated"]',
    department text,
    enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    check ((kind = 'webhook') = (url is not null)),
    check ((kind = 'email') = (recipients is not null))
  )`,
  `create table notification_deliveries (
    id bigint generated always as identity primary key,
    channel_id uuid not null references notification_channels (id) on delete cascade,
    topic text not null,
    payload jsonb not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz
  )`,
  `create index notification_deliveries_due on notification_deliveries (next_attempt_at) where status = 'pending'`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
