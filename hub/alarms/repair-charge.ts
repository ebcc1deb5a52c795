import { type Kysely, type Selectable, sql } from 'kysely'
import { loadUnits } from '../billing/bill-inputs.ts'
import { addDays } from '../billing/bill-run.ts'
import { issueReceivable } from '../billing/receivable-issue.ts'
import { conflict, invalid, notFound } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import { localDate } from '../metering/cutoff.ts'
import type { Database } from '../store/database-schema.ts'
import type { WorkOrderTable } from './alarms-tables.ts'

/** The code of the estate's fee item (kind one_off) a paid repair is charged to by default. */
export const REPAIR_FEE_CODE = 'REPAIR'

/** What receivables_one_charge puts in place of a null unit. */
const NO_UNIT = '00000000-0000-0000-0000-000000000000'

/** Yuan with at most 2 decimals, as the billing routes take money (never a JSON number). */
const MONEY = /^\d{1,12}(\.\d{1,2})?$/

export interface RepairCharge {
  /** What the customer pays, e.g. '120.00'. */
  readonly amount: string
  /** Who pays; default the unit's payer today (the tenant in place, else the owner). */
  readonly customerId?: string
  /** A one_off fee item of the estate; default the one with code REPAIR. */
  readonly feeItemId?: string
}

export interface RepairWork {
  readonly note: string
  readonly parts: readonly { name: string; quantity: number }[]
  readonly labourMinutes: number | null
}

export interface IssuedRepairCharge {
  readonly receivableId: string
  readonly customerId: string
  readonly feeItemId: string
  readonly amount: string
  readonly dueDate: string
}

/**
 * Issues the receivable (应收) for a paid repair, inside the caller's transaction (the one that
 * completes the order): one charge on the estate's REPAIR item (or the one_off item given), to
 * the given customer or the unit's payer, due the item's due days after today in the estate's
 * time zone. Its period is `repair:<orderId>`: a second charge for the order is refused (409),
 * and the one-charge unique index backs that. Errors name the request field (body.chargeAmount, …).
 */
export async function issueRepairCharge(
  trx: Kysely<Database>,
  order: Selectable<WorkOrderTable>,
  charge: RepairCharge,
  work: RepairWork,
  by: string | null,
  now: Date,
): Promise<IssuedRepairCharge> {
  if (!MONEY.test(charge.amount))
    throw invalid(
      'body.chargeAmount',
      `must be yuan with at most 2 decimals, got ${JSON.stringify(charge.amount)}`,
      'money.yuan',
      { got: String(JSON.stringify(charge.amount)) },
    )
  const amount = Decimal.of(charge.amount)
  if (!amount.gt(0))
    throw invalid('body.chargeAmount', 'must be more than 0', 'number.exclusiveMinimum', { limit: 0 })

  // The order row is locked by the caller, so this cannot race another completion of it. The
  // one-charge index backs it only for the same payer and item; this covers any. Every charge
  // of the order is on its unit (or none): the index's (estate, unit) prefix finds it.
  const period = `repair:${order.id}`
  const earlier = await trx
    .selectFrom('receivables')
    .select('id')
    .where('estateId', '=', order.estateId)
    .where(sql`coalesce(unit_id, ${NO_UNIT}::uuid)`, '=', order.unitId ?? NO_UNIT)
    .where('period', '=', period)
    .where('kind', '=', 'charge')
    .executeTakeFirst()
  if (earlier)
    throw conflict(
      'params.id',
      `the repair is already charged (receivable ${earlier.id})`,
      'repair.alreadyCharged',
      { receivableId: earlier.id },
    )

  const item = await repairFeeItem(trx, order.estateId, charge.feeItemId)

  const estate = await trx
    .selectFrom('orgNodes')
    .select('timezone')
    .where('id', '=', order.estateId)
    .executeTakeFirstOrThrow()
  const today = localDate(now.getTime(), estate.timezone ?? 'Asia/Shanghai')
  const customerId = await repairPayer(trx, order, charge.customerId, today)

  const dueDate = addDays(today, item.dueDays)
  const fixed = amount.toFixed(2)
  const parts = work.parts.map((p) => `${p.name} × ${p.quantity}`).join(', ')
  const receivableId = await issueReceivable(trx, {
    estateId: order.estateId,
    customerId,
    unitId: order.unitId,
    feeItemId: item.id,
    period,
    kind: 'charge',
    amount: fixed,
    dueDate,
    explanation: {
      formula:
        `${item.name}: work order “${order.title}” (${order.id}): ${work.note}` +
        `; parts: ${parts || 'none'}; labour: ${work.labourMinutes ?? 0} min = ${fixed}`,
      inputs: {
        workOrderId: order.id,
        title: order.title,
        category: order.category,
        parts: work.parts,
        labourMinutes: work.labourMinutes,
        amount: fixed,
      },
    },
    createdBy: by,
  })
  return { receivableId, customerId, feeItemId: item.id, amount: fixed, dueDate }
}

async function repairFeeItem(
  trx: Kysely<Database>,
  estateId: string,
  feeItemId: string | undefined,
): Promise<{ id: string; name: string; kind: string; dueDays: number }> {
  const select = trx
    .selectFrom('feeItems')
    .select(['id', 'name', 'kind', 'dueDays', 'code'])
    .where('estateId', '=', estateId)
  if (feeItemId !== undefined) {
    const item = await select.where('id', '=', feeItemId).executeTakeFirst()
    // An item of another estate is reported like a missing one.
    if (!item) throw notFound('fee item', 'body.feeItemId')
    if (item.kind !== 'one_off')
      throw invalid(
        'body.feeItemId',
        `is a ${item.kind} item (${item.code}): a paid repair needs a one_off item`,
        'feeItem.notOneOff',
        { kind: item.kind },
      )
    return item
  }
  const item = await select.where('code', '=', REPAIR_FEE_CODE).executeTakeFirst()
  if (!item)
    throw invalid(
      'body.feeItemId',
      `is required: the estate has no fee item with code ${REPAIR_FEE_CODE} to charge repairs to; create one (kind one_off) or give feeItemId`,
      'repair.noFeeItem',
      { code: REPAIR_FEE_CODE },
    )
  if (item.kind !== 'one_off')
    throw invalid(
      'body.feeItemId',
      `is required: the estate's ${REPAIR_FEE_CODE} fee item is a ${item.kind} item, not one_off; give a one_off item`,
      'repair.feeItemNotOneOff',
      { code: REPAIR_FEE_CODE, kind: item.kind },
    )
  return item
}

/** The customer given (of the order's estate), else who pays for the order's unit today. */
async function repairPayer(
  trx: Kysely<Database>,
  order: Selectable<WorkOrderTable>,
  customerId: string | undefined,
  today: string,
): Promise<string> {
  if (customerId !== undefined) {
    const customer = await trx
      .selectFrom('customers')
      .select('id')
      .where('id', '=', customerId)
      .where('estateId', '=', order.estateId)
      .executeTakeFirst()
    if (!customer) throw notFound('customer', 'body.chargeCustomerId')
    return customer.id
  }
  if (order.unitId === null)
    throw invalid(
      'body.chargeCustomerId',
      'is required: the order has no unit whose tenant or owner would pay the repair',
      'repair.noPayer',
    )
  // Billing decides who pays for a unit (the tenant in place, else the owner): the same rule
  // as a bill run whose period ends today.
  const units = await loadUnits(trx, order.estateId, { from: today, to: addDays(today, 1) })
  const unit = units.find((u) => u.id === order.unitId)
  if (!unit?.customerId)
    throw invalid(
      'body.chargeCustomerId',
      `is required: unit ${unit?.code ?? order.unitId} has no tenant or owner in place on ${today}`,
      'repair.noPayerOnDate',
      { unit: String(unit?.code ?? order.unitId), date: String(today) },
    )
  return unit.customerId
}
