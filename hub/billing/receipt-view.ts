import type { Kysely } from 'kysely'
import { Decimal } from '../kernel/decimal.ts'
import { DEFAULT_TIME_ZONE } from '../metering/meter-read-inputs.ts'
import type { Database } from '../store/database-schema.ts'
import type { ReceiptView } from './receipt-html.ts'

/** Everything a printed receipt shows, read from the payment and what it paid. */
export async function receiptView(db: Kysely<Database>, paymentId: string): Promise<ReceiptView | undefined> {
  const payment = await db
    .selectFrom('payments as p')
    .innerJoin('customers as c', 'c.id', 'p.customerId')
    .innerJoin('orgNodes as e', 'e.id', 'p.estateId')
    .leftJoin('orgNodes as co', 'co.id', 'e.parentId')
    .leftJoin('users as u', 'u.id', 'p.cashierId')
    .select([
      'p.id',
      'p.receiptNo',
      'p.paidAt',
      'p.method',
      'p.reference',
      'p.amount',
      'p.purpose',
      'c.name as customerName',
      'e.name as estateName',
      'e.timezone',
      'co.name as companyName',
      'u.displayName as cashier',
    ])
    .where('p.id', '=', paymentId)
    .executeTakeFirst()
  if (!payment) return undefined
  const lines = await db
    .selectFrom('paymentAllocations as a')
    .innerJoin('receivables as r', 'r.id', 'a.receivableId')
    .innerJoin('feeItems as f', 'f.id', 'r.feeItemId')
    .leftJoin('units as u', 'u.id', 'r.unitId')
    .select(['f.name as item', 'r.period', 'r.kind', 'u.code as unit', 'a.amount'])
    .where('a.paymentId', '=', paymentId)
    .where('a.source', '=', 'payment')
    .orderBy('a.id')
    .execute()
  const allocated = lines.reduce((s, l) => s.plus(l.amount), Decimal.ZERO)
  const voided = await db
    .selectFrom('approvals')
    .select('id')
    .where('paymentId', '=', paymentId)
    .where('kind', '=', 'void')
    .where('status', '=', 'approved')
    .executeTakeFirst()
  const rest = Decimal.of(payment.amount).minus(allocated)
  return {
    receiptNo: payment.receiptNo,
    estateName: payment.estateName,
    companyName: payment.companyName ?? '',
    customerName: payment.customerName,
    unitCodes: [...new Set(lines.flatMap((l) => (l.unit ? [l.unit] : [])))],
    paidAt: payment.paidAt.toISOString(),
    timeZone: payment.timezone ?? DEFAULT_TIME_ZONE,
    method: payment.method,
    reference: payment.reference,
    cashier: payment.cashier ?? '',
    lines: [
      ...lines.map((l) => ({
        item: l.kind === 'late_fee' ? `${l.item}（滞纳金）` : l.item,
        period: l.period !== null && /^\d{4}-\d{2}$/.test(l.period) ? l.period : null,
        unit: l.unit,
        amount: Decimal.of(l.amount).toFixed(2),
      })),
      // A deposit is a line of its own (押金), not prepayment.
      ...(payment.purpose === 'deposit'
        ? [{ item: '押金', period: null, unit: null, amount: rest.toFixed(2) }]
        : []),
    ],
    total: Decimal.of(payment.amount).toFixed(2),
    toPrepayment: payment.purpose === 'deposit' ? '0.00' : rest.toFixed(2),
    status: voided ? 'voided' : 'valid',
  }
}
