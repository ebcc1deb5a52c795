import { type Kysely, sql } from 'kysely'

// Alarm rules (data, not code), alarms with their lifecycle, and work orders (工单) with an
// SLA clock and a timeline of every change.
const statements = [
  `create table alarm_rules (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    name text not null check (name <> ''),
    kind text not null check (kind in ('event', 'state', 'threshold')),
    -- Which sources: a device class, a device, or a point; none = every source of the estate.
    device_class text,
    device_id uuid references devices (id),
    point_id uuid references points (id),
    event_type text check (event_type in ('granted', 'denied', 'forced', 'held_open', 'tamper', 'alarm_input', 'state_change', 'alarm')),
    match_value text,
    above numeric,
    hysteresis numeric not null default 0 check (hysteresis >= 0),
    hold_seconds integer not null default 0 check (hold_seconds >= 0),
    severity text not null default 'major' check (severity in ('critical', 'major', 'minor', 'info')),
    work_order_category text,
    work_order_priority text check (work_order_priority in ('urgent', 'high', 'normal', 'low')),
    department text,
    enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    check ((kind = 'event') = (event_type is not null)),
    check ((kind = 'state') = (match_value is not null)),
    check ((kind = 'threshold') = (above is not null)),
    check ((work_order_category is null) = (work_order_priority is null))
  )`,

  `create table alarms (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    rule_id uuid not null,
    source text not null,
    device_id uuid references devices (id),
    point_id uuid references points (id),
    status text not null check (status in ('active', 'acknowledged', 'cleared', 'closed')),
    severity text not null,
    raised_at timestamptz not null,
    last_seen_at timestamptz not null,
    occurrences integer not null default 1,
    acknowledged_by uuid references users (id),
    acknowledged_at timestamptz,
    cleared_at timestamptz,
    closed_at timestamptz,
    details jsonb not null default '{}',
    unique (estate_id, id),
    foreign key (estate_id, rule_id) references alarm_rules (estate_id, id)
  )`,
  // One open alarm per rule and source, however often the signal flaps.
  `create unique index alarms_one_open on alarms (rule_id, source) where status <> 'closed'`,

  `create table work_orders (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    source text not null check (source in ('alarm', 'resident', 'desk', 'inspection')),
    alarm_id uuid,
    category text not null,
    priority text not null check (priority in ('urgent', 'high', 'normal', 'low')),
    department text,
    title text not null,
    description text,
    building_id uuid,
    unit_id uuid,
    device_id uuid,
    status text not null default 'registered' check (status in ('registered', 'dispatched', 'assigned', 'in_progress', 'done', 'return_visit', 'closed', 'cancelled')),
    assignee_id uuid references users (id),
    respond_by timestamptz not null,
    complete_by timestamptz not null,
    responded_at timestamptz,
    completed_at timestamptz,
    closed_at timestamptz,
    completion_note text,
    satisfaction smallint check (satisfaction between 1 and 5),
    visit_comment text,
    cancel_reason text,
    -- When an SLA breach was escalated to the department head (once per order).
    escalated_at timestamptz,
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    foreign key (estate_id, alarm_id) references alarms (estate_id, id)
  )`,
  `create index work_orders_estate_status on work_orders (estate_id, status)`,
  // An alarm raises one order.
  `create unique index work_orders_one_per_alarm on work_orders (alarm_id) where alarm_id is not null`,

  `create table work_order_events (
    id bigint generated always as identity primary key,
    work_order_id uuid not null references work_orders (id),
    at timestamptz not null default now(),
    by uuid references users (id),
    action text not null,
    from_status text,
    to_status text,
    note text,
    data jsonb not null default '{}'
  )`,
  `create index work_order_events_order on work_order_events (work_order_id, id)`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
