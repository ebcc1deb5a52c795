import { type Kysely, sql } from 'kysely'

// The system of record: organisation tree, property, customers, devices, meters, users.
// Plain DDL: the same statements run on PGlite and PostgreSQL (both PostgreSQL 15+).
const statements = [
  `create table org_nodes (
    id uuid primary key default gen_random_uuid(),
    kind text not null check (kind in ('group', 'company', 'estate')),
    parent_id uuid references org_nodes (id),
    code text not null unique check (code <> ''),
    name text not null check (name <> ''),
    timezone text,
    address text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((kind = 'group') = (parent_id is null))
  )`,
  `create index org_nodes_parent on org_nodes (parent_id)`,

  `create table buildings (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    code text not null check (code <> ''),
    name text not null check (name <> ''),
    floors_above integer check (floors_above >= 0),
    floors_below integer check (floors_below >= 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, code),
    unique (estate_id, id)
  )`,

  `create table units (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    building_id uuid not null,
    code text not null check (code <> ''),
    floor integer not null,
    area_m2 numeric(16, 2) not null check (area_m2 > 0),
    use text not null check (use in ('residence', 'shop', 'office', 'parking', 'storage', 'other')),
    status text not null check (status in ('vacant', 'occupied', 'rented', 'decorating')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, code),
    unique (estate_id, id),
    foreign key (estate_id, building_id) references buildings (estate_id, id)
  )`,
  `create index units_building on units (building_id)`,

  `create table customers (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    code text not null check (code <> ''),
    kind text not null check (kind in ('person', 'company')),
    name text not null check (name <> ''),
    phone text,
    email text,
    id_document text,
    notes text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, code),
    unique (estate_id, id)
  )`,

  `create table occupancies (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    unit_id uuid not null,
    customer_id uuid not null,
    role text not null check (role in ('owner', 'tenant')),
    start_date date not null,
    end_date date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (end_date is null or end_date >= start_date),
    foreign key (estate_id, unit_id) references units (estate_id, id),
    foreign key (estate_id, customer_id) references customers (estate_id, id)
  )`,
  `create index occupancies_unit on occupancies (unit_id)`,
  `create index occupancies_customer on occupancies (customer_id)`,

  `create table gateways (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    code text not null unique check (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name text not null check (name <> ''),
    secret_hash text not null,
    secret_rotated_at timestamptz not null default now(),
    enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id)
  )`,

  `create table devices (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    gateway_id uuid not null,
    code text not null check (code <> ''),
    name text not null check (name <> ''),
    protocol text not null check (protocol in ('modbus-tcp', 'modbus-rtu', 'modbus-rtu-over-tcp', 'bacnet-ip', 'access-webhook')),
    connection jsonb not null default '{}',
    device_class text,
    building_id uuid,
    unit_id uuid,
    poll_interval_ms integer check (poll_interval_ms >= 100),
    enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (gateway_id, code),
    unique (estate_id, id),
    foreign key (estate_id, gateway_id) references gateways (estate_id, id),
    foreign key (estate_id, building_id) references buildings (estate_id, id),
    foreign key (estate_id, unit_id) references units (estate_id, id)
  )`,

  `create table points (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    device_id uuid not null,
    code text not null check (code <> ''),
    name text not null check (name <> ''),
    address jsonb not null,
    data_type text not null,
    byte_order text check (byte_order in ('ABCD', 'CDAB', 'BADC', 'DCBA')),
    -- Unconstrained numerics keep the value as written (0.1, not 0.1000000000).
    scale numeric not null default 1 check (scale <> 0 and scale(scale) <= 10),
    "offset" numeric not null default 0 check (scale("offset") <= 10),
    unit text,
    kind text not null check (kind in ('counter', 'gauge', 'state', 'event')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (device_id, code),
    unique (estate_id, id),
    foreign key (estate_id, device_id) references devices (estate_id, id)
  )`,

  `create table meters (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    code text not null check (code <> ''),
    kind text not null check (kind in ('water', 'electricity', 'gas', 'heat')),
    unit_id uuid,
    building_id uuid,
    location text,
    serial_number text,
    multiplier numeric not null default 1 check (multiplier > 0 and scale(multiplier) <= 4),
    register_capacity numeric(17, 3) check (register_capacity > 0),
    install_reading numeric(17, 3) not null default 0 check (install_reading >= 0),
    installed_on date,
    point_id uuid unique,
    parent_meter_id uuid,
    billing boolean not null default true,
    status text not null default 'active' check (status in ('active', 'retired')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, code),
    unique (estate_id, id),
    check (register_capacity is null or install_reading < register_capacity),
    check (parent_meter_id is null or parent_meter_id <> id),
    foreign key (estate_id, unit_id) references units (estate_id, id),
    foreign key (estate_id, building_id) references buildings (estate_id, id),
    foreign key (estate_id, point_id) references points (estate_id, id),
    foreign key (estate_id, parent_meter_id) references meters (estate_id, id)
  )`,
  `create index meters_unit on meters (unit_id)`,
  `create index meters_parent on meters (parent_meter_id)`,

  `create table users (
    id uuid primary key default gen_random_uuid(),
    username text not null check (username ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$'),
    display_name text not null,
    password_hash text not null,
    disabled boolean not null default false,
    last_login_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`,
  `create unique index users_username on users (lower(username))`,

  `create table meter_replacements (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    meter_id uuid not null,
    replaced_at timestamptz not null,
    old_final_reading numeric(17, 3) not null check (old_final_reading >= 0),
    new_start_reading numeric(17, 3) not null check (new_start_reading >= 0),
    old_serial_number text,
    new_serial_number text,
    old_multiplier numeric not null check (old_multiplier > 0),
    new_multiplier numeric not null check (new_multiplier > 0 and scale(new_multiplier) <= 4),
    old_register_capacity numeric(17, 3) check (old_register_capacity > 0),
    new_register_capacity numeric(17, 3) check (new_register_capacity > 0),
    reason text,
    recorded_by uuid references users (id),
    created_at timestamptz not null default now(),
    foreign key (estate_id, meter_id) references meters (estate_id, id)
  )`,
  `create index meter_replacements_meter on meter_replacements (meter_id, replaced_at)`,

  `create table role_grants (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id),
    role text not null check (role in ('admin', 'finance', 'service', 'engineering', 'leasing', 'viewer')),
    node_id uuid references org_nodes (id),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    unique nulls not distinct (user_id, role, node_id)
  )`,

  `create table sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id),
    token_hash text not null unique,
    expires_at timestamptz not null,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
  )`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
