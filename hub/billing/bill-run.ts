import { type Kysely, sql } from 'kysely'
import { conflict, forbidden } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { Database } from '../store/database-schema.ts'
import { computeBill } from './bill-compute.ts'
import {
  type BillUnit,
  issueKey,
  loadFeeItems,
  loadIssued,
  loadReads,
  loadStandards,
  loadUnits,
  monthSpan,
} from './bill-inputs.ts'
import { estateToday } from './due-dates.ts'
import { billRunsNeedFourEyes } from './four-eyes.ts'
import { applyPrepayment } from './receivable-issue.ts'

export type BillScope = 'estate' | 'building' | 'unit' | 'customer'

export interface BillRunRequest {
  readonly estateId: string
  readonly period: string
  readonly scope: BillScope
  /** The estate, building, unit or customer id. */
  readonly scopeId: string
  readonly userId: string | null
}

export interface BillRunSummary {
  readonly id: string
  readonly period: string
  readonly scope: BillScope
  readonly status: string
  readonly lines: number
  /** Σ of the computed amounts. */
  readonly total: string
  /** Σ of what approval issues: new charges and corrections (negative when amounts went down). */
  readonly toIssue: string
  readonly held: number
}

/**
 * Previews a bill run (费用计算): every line with its explanation, what is already issued for
 * its key, and the difference approval would issue; lines that cannot be billed are held with
 * the reason. The preview is stored so approval issues exactly what was shown.
 */
export async function previewBillRun(db: Kysely<Database>, request: BillRunRequest): Promise<BillRunSummary> {
  const span = monthSpan(request.period)
  const [units, items, { standards, assignments }, { reads, yearToDate }, issued] = await Promise.all([
    loadUnits(db, request.estateId, span),
    loadFeeItems(db, request.estateId),
    loadStandards(db, request.estateId, span),
    loadReads(db, request.estateId, request.period),
    loadIssued(db, request.estateId, request.period),
  ])
  const inScope = scopeFilter(request)
  const computed = computeBill(
    { period: request.period, units, items, standards, assignments, reads, yearToDate },
    inScope,
  )
  let total = Decimal.ZERO
  let toIssue = Decimal.ZERO
  let held = 0
  const rows = computed.map((line) => {
    const done =
      line.customerId === null
        ? undefined
        : issued.get(issueKey(line.unitId, line.customerId, line.feeItemId))
    const already = Decimal.of(done?.net ?? '0')
    const difference = line.amount === null ? null : Decimal.of(line.amount).minus(already)
    if (line.amount !== null) total = total.plus(line.amount)
    if (difference !== null) toIssue = toIssue.plus(difference)
    if (line.heldReason !== null) held += 1
    return { line, issued: already.toFixed(2), difference: difference?.toFixed(2) ?? null }
  })
  return db.transaction().execute(async (trx) => {
    // A newer preview of the same run replaces an older one that was never approved.
    await trx
      .updateTable('billRuns')
      .set({ status: 'superseded' })
      .where('estateId', '=', request.estateId)
      .where('period', '=', request.period)
      .where('scope', '=', request.scope)
      .where('scopeId', '=', request.scopeId)
      .where('status', '=', 'preview')
      .execute()
    const run = await trx
      .insertInto('billRuns')
      .values({
        estateId: request.estateId,
        period: request.period,
        scope: request.scope,
        scopeId: request.scopeId,
        status: 'preview',
        lines: rows.length,
        total: total.toFixed(2),
        toIssue: toIssue.toFixed(2),
        held,
        createdBy: request.userId,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    // One JSON parameter per chunk (jsonb_to_recordset): a 100,000-unit run writes 400,000 lines.
    // The next chunk is serialised while the database writes the previous one (two cores).
    let writing: Promise<unknown> = Promise.resolve()
    for (let i = 0; i < rows.length; i += 10_000) {
      const chunk = rows.slice(i, i + 10_000).map(({ line, issued: done, difference }) => ({
        unit_id: line.unitId,
        // Held lines without a payer keep the key readable; they issue nothing.
        customer_id: line.customerId ?? '00000000-0000-0000-0000-000000000000',
        fee_item_id: line.feeItemId,
        amount: line.amount,
        issued: done,
        difference,
        explanation: line.explanation,
        held_reason: line.heldReason,
      }))
      const payload = JSON.stringify(chunk)
      await writing
      writing =
        sql`insert into bill_run_lines (estate_id, bill_run_id, unit_id, customer_id, fee_item_id, period,
          amount, issued, difference, explanation, held_reason)
        select ${request.estateId}::uuid, ${run.id}::uuid, unit_id, customer_id, fee_item_id, ${request.period}, amount,
          issued, difference, explanation, held_reason
        from jsonb_to_recordset(${payload}::jsonb) as r(unit_id uuid, customer_id uuid, fee_item_id uuid,
          amount numeric, issued numeric, difference numeric, explanation jsonb, held_reason text)`.execute(
          trx,
        )
    }
    await writing
    return {
      id: run.id,
      period: request.period,
      scope: request.scope,
      status: 'preview',
      lines: rows.length,
      total: total.toFixed(2),
      toIssue: toIssue.toFixed(2),
      held,
    }
  })
}

function scopeFilter(request: BillRunRequest): (unit: BillUnit) => boolean {
  switch (request.scope) {
    case 'estate':
      return () => true
    case 'building':
      return (u) => u.buildingId === request.scopeId
    case 'unit':
      return (u) => u.id === request.scopeId
    case 'customer':
      return (u) => u.customerId === request.scopeId
  }
}

/**
 * Approves a previewed run (审批): issues each line's difference as a new charge, or as a
 * correction of the charge already issued for its key; nothing is issued twice, since the
 * difference is taken again against what is issued at this moment (under the estate's lock).
 * A line is due dueDays after the period, or after today when that has passed (a correction of
 * an overdue charge included: due-dates.ts). The person who previewed the run may not approve
 * it where the org tree asks for four eyes (four-eyes.ts). Customers with prepayment then have
 * it applied to the new lines.
 */
export async function approveBillRun(
  db: Kysely<Database>,
  runId: string,
  userId: string,
): Promise<{ issued: number; corrections: number; amount: string }> {
  return db.transaction().execute(async (trx) => {
    const run = await trx
      .selectFrom('billRuns')
      .selectAll()
      .where('id', '=', runId)
      .forUpdate()
      .executeTakeFirstOrThrow()
    if (run.status !== 'preview')
      throw conflict(
        'params.id',
        run.status === 'approved'
          ? 'is already approved'
          : 'was replaced by a newer preview; approve that one',
        run.status === 'approved' ? 'billRun.alreadyApproved' : 'billRun.replaced',
      )
    // Four eyes (docs/billing.md): whoever prepared the run may not approve it, unless the
    // org tree says this estate does without. Checked here, not only in the console.
    if (run.createdBy === userId && (await billRunsNeedFourEyes(trx, run.estateId)))
      throw forbidden(
        'a bill run must be approved by someone other than who prepared it',
        'billRun.selfApproval',
      )
    // One approval at a time per estate: the differences below stay true until commit.
    await trx
      .selectFrom('orgNodes')
      .select('id')
      .where('id', '=', run.estateId)
      .forUpdate()
      .executeTakeFirstOrThrow()
    // Set-based, in the database: each line's difference to what is issued for its key now
    // becomes a charge, or a correction of that charge (docs/benchmarks.md: 400,000 lines).
    const span = monthSpan(run.period)
    // Due dueDays after the period, or after today when that date has passed (due-dates.ts).
    const today = await estateToday(trx, run.estateId)
    const zero = '00000000-0000-0000-0000-000000000000'
    // What is already issued for a line's key: on a month's first run nothing, and then the
    // lookup is left out (400,000 index probes that find nothing); on a re-run, the charge and
    // its corrections, found through the one-charge index.
    const reissue = await sql<{ any: boolean }>`
      select exists (select 1 from receivables where estate_id = ${run.estateId} and kind = 'charge'
        and period = ${run.period}) as any`.execute(trx)
    const issued = reissue.rows[0]!.any
      ? sql`left join lateral (
          select c.id as charge_id, c.due_date, c.amount + coalesce((select sum(x.amount) from receivables x
            where x.corrects_id = c.id and x.kind = 'correction'), 0) as net
          from receivables c
          where c.estate_id = l.estate_id and c.kind = 'charge' and c.period = l.period
            and c.customer_id = l.customer_id and c.fee_item_id = l.fee_item_id
            and coalesce(c.unit_id, ${zero}::uuid) = coalesce(l.unit_id, ${zero}::uuid)
        ) i on true`
      : sql`left join lateral (select null::uuid as charge_id, null::date as due_date, null::numeric as net) i on true`
    await sql`
      insert into receivables (estate_id, customer_id, unit_id, fee_item_id, period, kind, amount, due_date,
        bill_run_id, corrects_id, explanation, created_by)
      select l.estate_id, l.customer_id, l.unit_id, l.fee_item_id, l.period,
        case when i.charge_id is null then 'charge' else 'correction' end,
        l.amount - coalesce(i.net, 0),
        case when coalesce(i.due_date, ${span.to}::date + f.due_days) >= ${today}::date
          then coalesce(i.due_date, ${span.to}::date + f.due_days) else ${today}::date + f.due_days end,
        l.bill_run_id, i.charge_id,
        case when i.charge_id is null then l.explanation
          else l.explanation || jsonb_build_object('corrects', i.charge_id, 'previouslyIssued', i.net::text,
            'nowComputed', l.amount::text) end,
        ${userId}::uuid
      from bill_run_lines l
      join fee_items f on f.id = l.fee_item_id
      ${issued}
      where l.bill_run_id = ${runId} and l.held_reason is null and l.amount is not null
        and l.amount - coalesce(i.net, 0) <> 0
      order by l.id`.execute(trx)
    // One journal per receivable, its id the receivable's: receivable against revenue.
    await sql`
      insert into ledger_entries (estate_id, journal_id, account, customer_id, fee_item_id, receivable_id,
        debit, credit, effective_at, memo)
      select r.estate_id, r.id, e.account, r.customer_id, r.fee_item_id, r.id, e.debit, e.credit, now(),
        r.kind || ' ' || r.period
      from receivables r
      cross join lateral (values
        ('receivable', greatest(r.amount, 0), greatest(-r.amount, 0)),
        ('revenue', greatest(-r.amount, 0), greatest(r.amount, 0))) as e(account, debit, credit)
      where r.bill_run_id = ${runId}`.execute(trx)
    const summary = await sql<{ charges: number; corrections: number; amount: string }>`
      select count(*) filter (where kind = 'charge')::int as charges,
        count(*) filter (where kind = 'correction')::int as corrections,
        coalesce(sum(amount), 0)::text as amount
      from receivables where bill_run_id = ${runId}`.execute(trx)
    const { charges, corrections } = summary.rows[0]!
    const amount = Decimal.of(summary.rows[0]!.amount)
    await trx
      .updateTable('billRuns')
      .set({ status: 'approved', approvedBy: userId, approvedAt: new Date() })
      .where('id', '=', runId)
      .execute()
    // Only this run's customers who hold prepayment have anything to apply.
    const holders = await sql<{ customerId: string }>`
      select e.customer_id from ledger_entries e
      where e.estate_id = ${run.estateId} and e.account = 'prepayment'
        and e.customer_id in (select customer_id from receivables where bill_run_id = ${runId})
      group by e.customer_id having sum(e.credit) > sum(e.debit)`.execute(trx)
    for (const { customerId } of holders.rows) await applyPrepayment(trx, run.estateId, customerId)
    return { issued: charges, corrections, amount: amount.toFixed(2) }
  })
}

export { addDays } from './due-dates.ts'
