import { type Kysely, sql } from 'kysely'

// Billing and collection: fee items and standards, bill runs, receivables (应收), payments and
// receipts, and the double-entry ledger every balance is derived from. Money is numeric(14,2)
// or (16,2), never a float. Issued rows are immutable: triggers refuse update and delete.
const statements = [
  `create table fee_items (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    code text not null check (code <> ''),
    name text not null check (name <> ''),
    kind text not null check (kind in ('area', 'consumption', 'tiered', 'fixed', 'shared', 'one_off')),
    meter_kind text check (meter_kind in ('water', 'electricity', 'gas', 'heat')),
    rounding_unit text not null default 'fen' check (rounding_unit in ('fen', 'jiao')),
    rounding_mode text not null default 'half-up' check (rounding_mode in ('half-up', 'down')),
    cycle text not null default 'monthly' check (cycle in ('monthly', 'quarterly', 'yearly', 'one_off')),
    due_days integer not null default 15 check (due_days between 0 and 365),
    -- 滞纳金: a daily rate from the day after the due date (plus grace), capped as a share of the principal.
    late_fee_daily_rate numeric(9, 6) not null default 0 check (late_fee_daily_rate >= 0 and late_fee_daily_rate <= 0.01),
    late_fee_grace_days integer not null default 0 check (late_fee_grace_days >= 0),
    late_fee_cap_ratio numeric(6, 4) check (late_fee_cap_ratio >= 0),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, code),
    unique (estate_id, id),
    check ((kind in ('consumption', 'tiered')) = (meter_kind is not null) or kind = 'shared')
  )`,

  `create table fee_standards (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    fee_item_id uuid not null,
    name text not null check (name <> ''),
    price numeric(14, 4) check (price >= 0),
    amount numeric(14, 2) check (amount >= 0),
    bands jsonb,
    tier_basis text check (tier_basis in ('period', 'annual')),
    share_basis text check (share_basis in ('area', 'consumption')),
    -- What a shared charge splits: a common-area meter's consumption, or a master meter's loss.
    share_source text check (share_source in ('meter', 'loss')),
    share_meter_id uuid,
    valid_from date not null,
    valid_to date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    check (valid_to is null or valid_to > valid_from),
    foreign key (estate_id, fee_item_id) references fee_items (estate_id, id),
    foreign key (estate_id, share_meter_id) references meters (estate_id, id)
  )`,

  // Who a standard applies to; the most specific wins: customer > unit > use > building > estate.
  `create table fee_assignments (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    fee_standard_id uuid not null,
    target text not null check (target in ('estate', 'building', 'use', 'unit', 'customer')),
    building_id uuid,
    unit_use text check (unit_use in ('residence', 'shop', 'office', 'parking', 'storage', 'other')),
    unit_id uuid,
    customer_id uuid,
    valid_from date not null,
    valid_to date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (estate_id, id),
    check (valid_to is null or valid_to > valid_from),
    check ((target = 'building') = (building_id is not null)),
    check ((target = 'use') = (unit_use is not null)),
    check ((target = 'unit') = (unit_id is not null)),
    check ((target = 'customer') = (customer_id is not null)),
    foreign key (estate_id, fee_standard_id) references fee_standards (estate_id, id),
    foreign key (estate_id, building_id) references buildings (estate_id, id),
    foreign key (estate_id, unit_id) references units (estate_id, id),
    foreign key (estate_id, customer_id) references customers (estate_id, id)
  )`,
  `create index fee_assignments_standard on fee_assignments (fee_standard_id)`,

  `create table bill_runs (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    scope text not null check (scope in ('estate', 'building', 'unit', 'customer')),
    scope_id uuid not null,
    status text not null check (status in ('preview', 'approved', 'superseded')),
    lines integer not null default 0,
    total numeric(16, 2) not null default 0,
    to_issue numeric(16, 2) not null default 0,
    held integer not null default 0,
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    approved_by uuid references users (id),
    approved_at timestamptz,
    unique (estate_id, id)
  )`,

  // What a run computed, key by key, and what approval will issue: the difference to what is
  // already issued for the key (a new charge, or a correcting line when inputs changed).
  `create table bill_run_lines (
    id bigint generated always as identity primary key,
    estate_id uuid not null,
    bill_run_id uuid not null,
    unit_id uuid,
    customer_id uuid not null,
    fee_item_id uuid not null,
    period text not null,
    amount numeric(14, 2),
    issued numeric(14, 2) not null default 0,
    difference numeric(14, 2),
    explanation jsonb not null,
    held_reason text,
    foreign key (estate_id, bill_run_id) references bill_runs (estate_id, id)
  )`,
  `create index bill_run_lines_run on bill_run_lines (bill_run_id)`,

  `create table receivables (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    customer_id uuid not null,
    unit_id uuid,
    fee_item_id uuid not null,
    period text,
    kind text not null check (kind in ('charge', 'correction', 'late_fee', 'adjustment')),
    amount numeric(14, 2) not null check (amount <> 0),
    due_date date not null,
    issued_at timestamptz not null default now(),
    bill_run_id uuid,
    -- A correction or adjustment of an issued line: it adds to that line's balance.
    corrects_id uuid references receivables (id),
    -- A late fee (滞纳金) and the line it accrued on.
    late_fee_for uuid references receivables (id),
    explanation jsonb not null default '{}',
    created_by uuid references users (id),
    unique (estate_id, id),
    check (kind <> 'correction' or corrects_id is not null),
    check ((kind = 'late_fee') = (late_fee_for is not null)),
    foreign key (estate_id, customer_id) references customers (estate_id, id),
    foreign key (estate_id, unit_id) references units (estate_id, id),
    foreign key (estate_id, fee_item_id) references fee_items (estate_id, id)
  )`,
  // One charge per unit, customer, item and period: a repeated bill run cannot issue it twice.
  `create unique index receivables_one_charge on receivables (estate_id, coalesce(unit_id, '00000000-0000-0000-0000-000000000000'::uuid), customer_id, fee_item_id, period) where kind = 'charge'`,
  `create index receivables_customer on receivables (customer_id, due_date)`,
  // Balances sum a line's corrections and late fees: without these, every balance is a scan.
  `create index receivables_corrects on receivables (corrects_id) where corrects_id is not null`,
  `create index receivables_late_fee_for on receivables (late_fee_for) where late_fee_for is not null`,

  `create table receipt_counters (
    estate_id uuid not null references org_nodes (id),
    year integer not null,
    last integer not null,
    primary key (estate_id, year)
  )`,

  `create table payments (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null,
    customer_id uuid not null,
    purpose text not null check (purpose in ('bills', 'deposit')),
    method text not null check (method in ('cash', 'card', 'transfer', 'wechat', 'alipay', 'prepayment')),
    reference text,
    amount numeric(14, 2) not null check (amount > 0),
    receipt_no text not null,
    receipt_year integer not null,
    receipt_seq integer not null,
    cashier_id uuid references users (id),
    paid_at timestamptz not null default now(),
    idempotency_key text not null check (length(idempotency_key) between 8 and 200),
    request_hash text not null,
    unique (estate_id, id),
    unique (estate_id, idempotency_key),
    unique (estate_id, receipt_year, receipt_seq),
    foreign key (estate_id, customer_id) references customers (estate_id, id)
  )`,

  `create table payment_allocations (
    id bigint generated always as identity primary key,
    estate_id uuid not null,
    payment_id uuid,
    receivable_id uuid not null,
    source text not null check (source in ('payment', 'prepayment', 'reversal')),
    amount numeric(14, 2) not null check (amount <> 0),
    created_at timestamptz not null default now(),
    foreign key (estate_id, payment_id) references payments (estate_id, id),
    foreign key (estate_id, receivable_id) references receivables (estate_id, id)
  )`,
  `create index payment_allocations_receivable on payment_allocations (receivable_id)`,
  `create index payment_allocations_payment on payment_allocations (payment_id)`,

  // Refunds, voids (红冲), adjustments and late-fee waivers wait for a second person's approval.
  `create table approvals (
    id uuid primary key default gen_random_uuid(),
    estate_id uuid not null references org_nodes (id),
    kind text not null check (kind in ('void', 'refund', 'adjustment', 'waiver', 'deposit_refund')),
    payment_id uuid,
    receivable_id uuid,
    customer_id uuid,
    fee_item_id uuid,
    amount numeric(14, 2) not null,
    reason text not null check (reason <> ''),
    status text not null default 'requested' check (status in ('requested', 'approved', 'rejected')),
    requested_by uuid not null references users (id),
    requested_at timestamptz not null default now(),
    decided_by uuid references users (id),
    decided_at timestamptz,
    check (decided_by is null or decided_by <> requested_by)
  )`,

  // The ledger: every issued line, payment, allocation, prepayment, deposit, late fee,
  // adjustment, refund and void is a balanced journal of entries. Balances are sums of them.
  `create table ledger_entries (
    id bigint generated always as identity primary key,
    estate_id uuid not null references org_nodes (id),
    journal_id uuid not null,
    account text not null check (account in ('receivable', 'revenue', 'cash', 'prepayment', 'deposit')),
    customer_id uuid,
    fee_item_id uuid,
    receivable_id uuid,
    payment_id uuid,
    method text,
    debit numeric(16, 2) not null default 0 check (debit >= 0),
    credit numeric(16, 2) not null default 0 check (credit >= 0),
    effective_at timestamptz not null,
    created_at timestamptz not null default now(),
    memo text not null,
    check ((debit = 0) <> (credit = 0))
  )`,
  `create index ledger_entries_estate_journal on ledger_entries (estate_id, journal_id)`,
  `create index ledger_entries_customer on ledger_entries (customer_id, account)`,
  `create index ledger_entries_receivable on ledger_entries (receivable_id)`,

  `create function refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% rows are immutable: add a correcting row instead', tg_table_name
        using errcode = '55000';
    end $$`,
  ...['ledger_entries', 'receivables', 'payments', 'payment_allocations'].map(
    (table) =>
      `create trigger ${table}_immutable before update or delete on ${table} for each row execute function refuse_change()`,
  ),
]

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
