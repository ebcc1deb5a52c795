import { randomBytes } from 'node:crypto'
import type { Insertable, Kysely } from 'kysely'
import { hashPassword } from '../auth/password.ts'
import { createUser, grantRole } from '../auth/user-accounts.ts'
import { approveBillRun, previewBillRun } from '../billing/bill-run.ts'
import type { FeeItemTable } from '../billing/billing-tables.ts'
import { takePayment } from '../billing/payment-desk.ts'
import { Decimal } from '../kernel/decimal.ts'
import { approveClean } from '../metering/meter-read-actions.ts'
import type { Database, PaymentMethod } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { DEMO_USERNAME, demoHash } from './seed-demo.ts'

/**
 * The demo's money side: the estate's fee configuration (property fee by area, tiered
 * electricity, water with sewage), last month's clean meter reads approved, its bill run
 * previewed by the demo admin and approved by a second person (the demo's finance clerk), and a
 * few payments at the desk, so the desk, receipts, arrears and the finance reports have
 * something to show. Every step is idempotent: a second start adds nothing.
 */

export const DEMO_FINANCE_USERNAME = 'demo-finance'

/** Guangzhou-like residential prices: 物业服务费 by area, 阶梯电价 per month, 水费 incl. 污水处理费. */
const FEE_ITEMS = [
  {
    code: 'PROP',
    name: '物业服务费',
    kind: 'area',
    meterKind: null,
    // 万分之三 a day once 15 days overdue, at most the line's amount (when someone accrues it).
    lateFeeDailyRate: '0.0003',
    lateFeeGraceDays: 15,
    lateFeeCapRatio: '1',
  },
  { code: 'ELEC', name: '电费', kind: 'tiered', meterKind: 'electricity' },
  { code: 'WATER', name: '水费(含污水处理费)', kind: 'consumption', meterKind: 'water' },
] as const satisfies readonly Omit<Insertable<FeeItemTable>, 'estateId'>[]

const STANDARDS_FROM = '2024-01-01'
export const DEMO_PROPERTY_FEE = '2.80'
export const DEMO_ELECTRICITY_BANDS = [
  { upTo: '260', price: '0.5883' },
  { upTo: '600', price: '0.6383' },
  { upTo: null, price: '0.8883' },
] as const
export const DEMO_WATER_PRICE = '4.20'

export interface DemoFinanceUser {
  readonly username: string
  /** Fresh on every start, as the admin's: no fixed credential ships with the demo. */
  readonly password: string
  readonly userId: string
}

/**
 * The demo's finance clerk (财务), a second person for everything that needs two (bill-run
 * approval, refunds, voids): created once with the finance role on the demo estate, and given
 * a fresh random password on every start.
 */
export async function demoFinanceUser(db: Kysely<Database>, estateId: string): Promise<DemoFinanceUser> {
  const password = `demo-${randomBytes(9).toString('base64url')}`
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', DEMO_FINANCE_USERNAME)
    .executeTakeFirst()
  if (user) {
    await db
      .updateTable('users')
      .set({ passwordHash: await hashPassword(password), disabled: false })
      .where('id', '=', user.id)
      .execute()
    return { username: DEMO_FINANCE_USERNAME, password, userId: user.id }
  }
  const made = await createUser(db, { username: DEMO_FINANCE_USERNAME, displayName: '演示财务', password })
  await grantRole(db, made.id, 'finance', estateId, null)
  return { username: DEMO_FINANCE_USERNAME, password, userId: made.id }
}

/** Creates the fee items, their standards and assignments in one go, unless the items exist. */
export async function seedDemoFees(db: Kysely<Database>, estateId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('feeItems')
      .select('code')
      .where('estateId', '=', estateId)
      // bounded: the demo's few fee items
      .where(
        'code',
        'in',
        FEE_ITEMS.map((i) => i.code),
      )
      .execute()
    if (existing.length > 0) return false
    const items = await trx
      .insertInto('feeItems')
      .values(FEE_ITEMS.map((item) => ({ estateId, ...item })))
      .returning(['id', 'code'])
      .execute()
    const itemId = (code: string) => items.find((i) => i.code === code)!.id
    const standards = await trx
      .insertInto('feeStandards')
      .values([
        {
          estateId,
          feeItemId: itemId('PROP'),
          name: `住宅物业服务费 ${DEMO_PROPERTY_FEE} 元/m²·月`,
          price: DEMO_PROPERTY_FEE,
          validFrom: STANDARDS_FROM,
        },
        {
          estateId,
          feeItemId: itemId('ELEC'),
          name: '居民阶梯电价(月度)',
          bands: jsonb(DEMO_ELECTRICITY_BANDS.map((b) => ({ ...b }))),
          tierBasis: 'period',
          validFrom: STANDARDS_FROM,
        },
        {
          estateId,
          feeItemId: itemId('WATER'),
          name: `居民用水 ${DEMO_WATER_PRICE} 元/m³(含污水处理费)`,
          price: DEMO_WATER_PRICE,
          validFrom: STANDARDS_FROM,
        },
      ])
      .returning(['id', 'feeItemId'])
      .execute()
    const standardOf = (code: string) => standards.find((s) => s.feeItemId === itemId(code))!.id
    await trx
      .insertInto('feeAssignments')
      .values([
        // The property fee by use (every demo unit is a residence); metered fees estate-wide.
        {
          estateId,
          feeStandardId: standardOf('PROP'),
          target: 'use',
          unitUse: 'residence',
          validFrom: STANDARDS_FROM,
        },
        { estateId, feeStandardId: standardOf('ELEC'), target: 'estate', validFrom: STANDARDS_FROM },
        { estateId, feeStandardId: standardOf('WATER'), target: 'estate', validFrom: STANDARDS_FROM },
      ])
      .execute()
    return true
  })
}

export interface DemoBillingReport {
  readonly period: string
  /** Clean (auto) reads approved by this call. */
  readonly approvedReads: number
  /** The period's approved estate run; issued: receivables this call issued (0 on a rerun). */
  readonly run: {
    readonly id: string
    readonly lines: number
    readonly held: number
    readonly issued: number
  }
  /** Billed for the period in total (charges and corrections). */
  readonly billed: string
  /** Payments this call took (0 on a rerun). */
  readonly payments: number
  readonly ms: number
}

const METHODS: readonly Exclude<PaymentMethod, 'prepayment'>[] = [
  'wechat',
  'alipay',
  'cash',
  'card',
  'transfer',
]

/**
 * Bills `period` for the demo estate as a property office would: approves the clean meter
 * reads (the flagged ones stay flagged, so their units' metered lines are held), previews the
 * estate's bill run as the demo admin and approves it as the finance clerk, then takes
 * payments from about one payer in ten (most in full, a few in part, a few with something
 * left over as prepayment), each with its receipt. Skips what is done: reads already approved,
 * a period already billed, payments already taken (by their idempotency keys).
 */
export async function billDemoPeriod(
  db: Kysely<Database>,
  options: { estateId: string; period: string; financeUserId: string },
): Promise<DemoBillingReport> {
  const started = performance.now()
  const { estateId, period } = options
  const admin = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', DEMO_USERNAME)
    .executeTakeFirstOrThrow()
  let run = await db
    .selectFrom('billRuns')
    .select(['id', 'lines', 'held'])
    .where('estateId', '=', estateId)
    .where('period', '=', period)
    .where('scope', '=', 'estate')
    .where('status', '=', 'approved')
    .orderBy('createdAt', 'desc')
    .executeTakeFirst()
  let approvedReads = 0
  let issued = 0
  if (!run) {
    approvedReads = await approveClean(db, { userId: admin.id }, { estateId, period })
    const preview = await previewBillRun(db, {
      estateId,
      period,
      scope: 'estate',
      scopeId: estateId,
      userId: admin.id,
    })
    // Two people: the admin prepared the run, the finance clerk approves it.
    issued = (await approveBillRun(db, preview.id, options.financeUserId)).issued
    run = { id: preview.id, lines: preview.lines, held: preview.held }
  }

  // What each payer was billed for the period, by customer code (deterministic choices).
  const bills = await db
    .selectFrom('receivables')
    .innerJoin('customers', 'customers.id', 'receivables.customerId')
    .select(['customers.id', 'customers.code', (eb) => eb.fn.sum<string>('receivables.amount').as('amount')])
    .where('receivables.estateId', '=', estateId)
    .where('receivables.period', '=', period)
    .where('receivables.kind', 'in', ['charge', 'correction'])
    .groupBy(['customers.id', 'customers.code'])
    .orderBy('customers.code')
    .execute()
  const billed = bills.reduce((sum, b) => sum.plus(b.amount), Decimal.ZERO)
  const keyOf = (code: string) => `demo-${period}-${code}`
  const taken = new Set(
    (
      await db
        .selectFrom('payments')
        .select('idempotencyKey')
        .where('estateId', '=', estateId)
        // bounded: the demo's bills, a few dozen
        .where('idempotencyKey', 'in', bills.length > 0 ? bills.map((b) => keyOf(b.code)) : ['-'])
        .execute()
    ).map((p) => p.idempotencyKey),
  )
  let payments = 0
  for (const bill of bills) {
    const h = demoHash(`pay:${period}:${bill.code}`)
    const share = h % 100
    // ~7 % pay in full, ~2 % a part (whole yuan), ~1 % round up to the next ¥100 (prepayment).
    const total = Decimal.of(bill.amount)
    const amount =
      share < 7
        ? total
        : share < 9
          ? total.div(2, 0, 'down')
          : share < 10
            ? total.div(100, 0, 'down').plus(1).times(100)
            : undefined
    if (amount === undefined || !amount.gt(0) || taken.has(keyOf(bill.code))) continue
    const method = METHODS[(h >>> 8) % METHODS.length]!
    await takePayment(db, {
      estateId,
      customerId: bill.id,
      purpose: 'bills',
      method,
      reference:
        method === 'cash' ? null : `${method.toUpperCase()}-${period.replace('-', '')}-${h % 1_000_000}`,
      amount: amount.toFixed(2),
      idempotencyKey: keyOf(bill.code),
      cashierId: options.financeUserId,
    })
    payments += 1
  }
  return {
    period,
    approvedReads,
    run: { id: run.id, lines: run.lines, held: run.held, issued },
    billed: billed.toFixed(2),
    payments,
    ms: performance.now() - started,
  }
}
