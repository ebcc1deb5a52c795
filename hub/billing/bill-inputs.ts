import { type Kysely, sql } from 'kysely'
import type { Database, FeeBand, FeeCycle, FeeKind, MeterKind, UnitUse } from '../store/database-schema.ts'
import type {
  AssignmentTarget,
  RoundingMode,
  RoundingUnit,
  ShareBasis,
  ShareSource,
  TierBasis,
} from './billing-vocabulary.ts'
import { feeKindsWhere } from './fee-kinds/fee-kind-registry.ts'

/** The calendar span a monthly bill run covers: [first of the month, first of the next). */
export function monthSpan(period: string): { from: string; to: string } {
  const [y, m] = period.split('-').map(Number) as [number, number]
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`
  return { from: `${period}-01`, to: `${next}-01` }
}

export interface BillUnit {
  readonly id: string
  readonly code: string
  readonly buildingId: string
  readonly use: UnitUse
  readonly areaM2: string
  readonly floor: number
  /** Who pays this period: the tenant in place at the period's end, else the owner. */
  readonly customerId: string | null
}

export interface FeeItemRow {
  readonly id: string
  readonly code: string
  readonly name: string
  readonly kind: FeeKind
  readonly meterKind: MeterKind | null
  readonly roundingUnit: RoundingUnit
  readonly roundingMode: RoundingMode
  readonly cycle: FeeCycle
  readonly dueDays: number
}

export interface StandardRow {
  readonly id: string
  readonly feeItemId: string
  readonly name: string
  readonly price: string | null
  readonly amount: string | null
  readonly bands: FeeBand[] | null
  readonly tierBasis: TierBasis | null
  readonly shareBasis: ShareBasis | null
  readonly shareSource: ShareSource | null
  readonly shareMeterId: string | null
  readonly validFrom: string
  readonly validTo: string | null
}

export interface AssignmentRow {
  readonly feeStandardId: string
  readonly target: AssignmentTarget
  readonly buildingId: string | null
  readonly unitUse: UnitUse | null
  readonly unitId: string | null
  readonly customerId: string | null
  readonly validFrom: string
  readonly validTo: string | null
}

/** Every unit of the estate with its payer for the period (the whole estate: shares need it). */
export async function loadUnits(
  db: Kysely<Database>,
  estateId: string,
  span: { from: string; to: string },
): Promise<BillUnit[]> {
  const rows = await sql<BillUnit>`
    select u.id, u.code, u.building_id, u.use, u.area_m2::text as area_m2, u.floor,
      (select o.customer_id from occupancies o
        where o.unit_id = u.id and o.start_date < ${span.to}::date
          and (o.end_date is null or o.end_date >= (${span.to}::date - 1))
        order by (o.role = 'tenant') desc, o.start_date desc limit 1) as customer_id
    from units u where u.estate_id = ${estateId} order by u.code`.execute(db)
  return rows.rows
}

export async function loadFeeItems(db: Kysely<Database>, estateId: string): Promise<FeeItemRow[]> {
  return (
    db
      .selectFrom('feeItems')
      .select(['id', 'code', 'name', 'kind', 'meterKind', 'roundingUnit', 'roundingMode', 'cycle', 'dueDays'])
      .where('estateId', '=', estateId)
      .where('active', '=', true)
      // One-off fees are charged at the desk, never by a run.
      // bounded: fee kinds of the registry
      .where('kind', 'in', feeKindsWhere((kind) => !kind.oneOff) as FeeKind[])
      .orderBy('code')
      .execute()
  )
}

/** Standards and their assignments that overlap the span. */
export async function loadStandards(
  db: Kysely<Database>,
  estateId: string,
  span: { from: string; to: string },
): Promise<{ standards: Map<string, StandardRow>; assignments: AssignmentRow[] }> {
  const standards = await db
    .selectFrom('feeStandards')
    .select([
      'id',
      'feeItemId',
      'name',
      'price',
      'amount',
      'bands',
      'tierBasis',
      'shareBasis',
      'shareSource',
      'shareMeterId',
      'validFrom',
      'validTo',
    ])
    .where('estateId', '=', estateId)
    .where('validFrom', '<', span.to)
    .where((eb) => eb.or([eb('validTo', 'is', null), eb('validTo', '>', span.from)]))
    .execute()
  const assignments = await db
    .selectFrom('feeAssignments')
    .select([
      'feeStandardId',
      'target',
      'buildingId',
      'unitUse',
      'unitId',
      'customerId',
      'validFrom',
      'validTo',
    ])
    .where('estateId', '=', estateId)
    .where('validFrom', '<', span.to)
    .where((eb) => eb.or([eb('validTo', 'is', null), eb('validTo', '>', span.from)]))
    .execute()
  return { standards: new Map(standards.map((s) => [s.id, s])), assignments }
}

export interface ReadState {
  readonly meterId: string
  readonly meterCode: string
  readonly unitId: string | null
  /** The master meter this one is a sub-meter of (a loss is the master minus its subs). */
  readonly parentMeterId: string | null
  readonly kind: MeterKind
  readonly status: string | null
  readonly consumption: string | null
  readonly flags: readonly { code: string }[]
}

/** Billing meters' reads for the period, and each unit's approved use earlier in the year. */
export async function loadReads(
  db: Kysely<Database>,
  estateId: string,
  period: string,
): Promise<{ reads: ReadState[]; yearToDate: Map<string, string> }> {
  const reads = await sql<ReadState>`
    select m.id as meter_id, m.code as meter_code, m.unit_id, m.parent_meter_id, m.kind, r.status, r.consumption::text as consumption,
      coalesce(r.flags, '[]'::jsonb) as flags
    from meters m left join meter_reads r on r.meter_id = m.id and r.period = ${period}
    where m.estate_id = ${estateId} and m.status = 'active'`.execute(db)
  const year = period.slice(0, 4)
  const ytd = await sql<{ unitId: string; kind: string; total: string }>`
    select m.unit_id, m.kind, sum(r.consumption)::text as total
    from meter_reads r join meters m on m.id = r.meter_id
    where m.estate_id = ${estateId} and m.billing and r.status = 'approved' and r.consumption is not null
      and r.period >= ${`${year}-01`} and r.period < ${period} and m.unit_id is not null
    group by m.unit_id, m.kind`.execute(db)
  return {
    reads: reads.rows,
    yearToDate: new Map(ytd.rows.map((r) => [`${r.unitId}/${r.kind}`, r.total])),
  }
}

/** What is already issued for each (unit, customer, item, period): the charge and its corrections. */
export async function loadIssued(
  db: Kysely<Database>,
  estateId: string,
  period: string,
): Promise<Map<string, { chargeId: string; net: string }>> {
  const rows = await sql<{
    unitId: string | null
    customerId: string
    feeItemId: string
    chargeId: string
    net: string
  }>`
    select c.unit_id, c.customer_id, c.fee_item_id, c.id as charge_id,
      (c.amount + coalesce((select sum(x.amount) from receivables x where x.corrects_id = c.id and x.kind = 'correction'), 0))::text as net
    from receivables c where c.estate_id = ${estateId} and c.period = ${period} and c.kind = 'charge'`.execute(
    db,
  )
  return new Map(
    rows.rows.map((r) => [
      issueKey(r.unitId, r.customerId, r.feeItemId),
      { chargeId: r.chargeId, net: r.net },
    ]),
  )
}

export function issueKey(unitId: string | null, customerId: string, feeItemId: string): string {
  return `${unitId ?? '-'}/${customerId}/${feeItemId}`
}
