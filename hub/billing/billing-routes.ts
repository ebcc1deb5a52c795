import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import { invalid, notFound } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import type { Reference } from '../kernel/route-access.ts'
import {
  errorReplies,
  Id,
  IdParams,
  Nullable,
  OneOf,
  Page,
  PageQuery,
  Timestamp,
} from '../kernel/schema-parts.ts'
import type { ApprovalKind, Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import { decideApproval, requestApproval } from './approval-actions.ts'
import { listApprovals } from './approval-list.ts'
import { monthSpan } from './bill-inputs.ts'
import { approveBillRun, previewBillRun } from './bill-run.ts'
import {
  BillRunDetail,
  BillRunSummary,
  CustomerAccount,
  DeskCustomer,
  PaymentResult,
} from './billing-schemas.ts'
import {
  type ApprovalStatus,
  approvalStatuses,
  type BillRunStatus,
  billRunScopes,
  billRunStatuses,
  paymentPurposes,
} from './billing-vocabulary.ts'
import { customerPayments } from './customer-payments.ts'
import { addDays, dueDateOf, estateToday } from './due-dates.ts'
import { accrueLateFees } from './late-fees.ts'
import { customerBalances, openReceivables } from './ledger.ts'
import { takePayment } from './payment-desk.ts'
import { renderReceipt } from './receipt-html.ts'
import { receiptView } from './receipt-view.ts'
import { issueReceivable } from './receivable-issue.ts'

const strict = { additionalProperties: false } as const
const Period = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' })
const Money = Type.String({ pattern: '^[0-9]{1,12}(\\.[0-9]{1,2})?$', description: 'yuan, up to 2 decimals' })
const SignedMoney = Type.String({ pattern: '^-?[0-9]{1,12}(\\.[0-9]{1,2})?$' })
const DateText = Type.String({ format: 'date' })

/** Ids the body names: records of the route's estate the caller can see (404 / 400 naming them). */
const same = (table: Reference['table'], label: string): Reference => ({ table, label, same: true })
const scopeTables = { building: 'buildings', unit: 'units', customer: 'customers' } as const

const APPROVAL_KINDS = [
  'void',
  'refund',
  'deposit_refund',
  'adjustment',
  'waiver',
] as const satisfies readonly ApprovalKind[]

/** Who may ask: the desk voids and refunds payments; changing what is owed is billing's. */
const requestPermission = (kind: ApprovalKind) =>
  kind === 'adjustment' || kind === 'waiver' ? 'billing.run' : 'payments.take'

/** Bill runs, the cashier's desk, receipts, approvals and late fees (issue 5). */
export function registerBillingRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const tags = ['billing']
  const security = [{ bearerAuth: [] }]
  const billRun = { table: 'billRuns', label: 'bill run' } as const
  const customer = { table: 'customers', label: 'customer' } as const

  app.post(
    '/api/v1/bill-runs',
    {
      config: {
        access: {
          estate: { from: 'body.estateId' },
          permission: 'billing.run',
          references: {
            'body.scopeId': (request) => {
              const kind = (request.body as { scope: 'estate' | keyof typeof scopeTables }).scope
              return kind === 'estate' ? undefined : same(scopeTables[kind], kind)
            },
          },
        },
      },
      schema: {
        tags,
        summary: 'Preview a bill run (费用计算) for an estate, building, unit or customer and a month',
        security,
        body: Type.Object(
          {
            estateId: Id,
            period: Period,
            scope: OneOf(billRunScopes),
            scopeId: Type.Optional(Id),
          },
          strict,
        ),
        response: { 201: Type.Object({ id: Id }, { additionalProperties: true }), ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        estateId: string
        period: string
        scope: 'estate' | 'building' | 'unit' | 'customer'
        scopeId?: string
      }
      const estateId = request.estateId
      let scopeId = estateId
      if (body.scope !== 'estate') {
        if (body.scopeId === undefined)
          throw invalid('body.scopeId', `is required for scope ${body.scope}`, 'billRun.scopeIdRequired', {
            scope: body.scope,
          })
        scopeId = body.scopeId
      }
      const run = await previewBillRun(db, {
        estateId,
        period: body.period,
        scope: body.scope,
        scopeId,
        userId: request.scope.userId,
      })
      return reply.status(201).send(run)
    },
  )

  app.get(
    '/api/v1/bill-runs',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags,
        summary: 'Bill runs of an estate, newest first (the ones waiting for approval: status=preview)',
        security,
        querystring: Type.Object(
          {
            estateId: Id,
            status: Type.Optional(OneOf(billRunStatuses)),
            period: Type.Optional(Period),
            ...PageQuery,
          },
          strict,
        ),
        response: { 200: Page(BillRunSummary), ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as {
        estateId: string
        status?: BillRunStatus
        period?: string
        limit?: number
        offset?: number
      }
      const estateId = request.estateId
      const limit = q.limit ?? 50
      const offset = q.offset ?? 0
      let query = db.selectFrom('billRuns as r').where('r.estateId', '=', estateId)
      if (q.status) query = query.where('r.status', '=', q.status)
      if (q.period) query = query.where('r.period', '=', q.period)
      const [rows, count] = await Promise.all([
        query
          .leftJoin('users as c', 'c.id', 'r.createdBy')
          .leftJoin('users as a', 'a.id', 'r.approvedBy')
          .leftJoin('buildings as b', 'b.id', 'r.scopeId')
          .leftJoin('units as u', 'u.id', 'r.scopeId')
          .leftJoin('customers as k', 'k.id', 'r.scopeId')
          .select([
            'r.id',
            'r.estateId',
            'r.period',
            'r.scope',
            'r.scopeId',
            'r.status',
            'r.lines',
            'r.total',
            'r.toIssue',
            'r.held',
            'r.createdBy',
            'c.displayName as createdByName',
            'r.createdAt',
            'r.approvedBy',
            'a.displayName as approvedByName',
            'r.approvedAt',
            (eb) => eb.fn.coalesce('b.code', 'u.code', 'k.name').as('scopeName'),
          ])
          .orderBy('r.createdAt', 'desc')
          .orderBy('r.id')
          .limit(limit)
          .offset(offset)
          .execute(),
        query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ])
      return {
        items: rows.map((r) => ({
          ...r,
          createdAt: new Date(r.createdAt).toISOString(),
          approvedAt: r.approvedAt ? new Date(r.approvedAt).toISOString() : null,
        })),
        total: Number(count.n),
        limit,
        offset,
      }
    },
  )

  app.get(
    '/api/v1/bill-runs/:id',
    {
      config: { access: { estate: { from: 'params.id', record: billRun } } },
      schema: {
        tags,
        summary: 'A bill run with every line, its explanation, and the held list',
        security,
        params: IdParams,
        response: { 200: BillRunDetail, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const run = await db.selectFrom('billRuns').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
      const lines = await db
        .selectFrom('billRunLines as l')
        .leftJoin('units as u', 'u.id', 'l.unitId')
        .leftJoin('customers as c', 'c.id', 'l.customerId')
        .innerJoin('feeItems as f', 'f.id', 'l.feeItemId')
        .select([
          'l.id',
          'l.unitId',
          'u.code as unitCode',
          'l.customerId',
          'c.name as customerName',
          'l.feeItemId',
          'f.code as feeItemCode',
          'f.name as feeItemName',
          'l.amount',
          'l.issued',
          'l.difference',
          'l.explanation',
          'l.heldReason',
          'f.dueDays',
          // What this run issued for the line, else the charge already issued for its key.
          (eb) =>
            eb
              .selectFrom('receivables as ir')
              .select('ir.dueDate')
              .whereRef('ir.billRunId', '=', 'l.billRunId')
              .whereRef('ir.customerId', '=', 'l.customerId')
              .whereRef('ir.feeItemId', '=', 'l.feeItemId')
              .where((w) => w('ir.unitId', 'is not distinct from', w.ref('l.unitId')))
              .limit(1)
              .as('issuedDue'),
          (eb) =>
            eb
              .selectFrom('receivables as ch')
              .select('ch.dueDate')
              .whereRef('ch.estateId', '=', 'l.estateId')
              .where('ch.kind', '=', 'charge')
              .whereRef('ch.period', '=', 'l.period')
              .whereRef('ch.customerId', '=', 'l.customerId')
              .whereRef('ch.feeItemId', '=', 'l.feeItemId')
              .where((w) => w('ch.unitId', 'is not distinct from', w.ref('l.unitId')))
              .limit(1)
              .as('chargeDue'),
        ])
        .where('l.billRunId', '=', id)
        .orderBy('u.code')
        .orderBy('f.code')
        .execute()
      // Each line's due date: what approval gave, or would give today (due-dates.ts).
      const today = await estateToday(db, run.estateId)
      const periodEnd = monthSpan(run.period).to
      const withDue = lines.map(({ issuedDue, chargeDue, dueDays, ...line }) => ({
        ...line,
        dueDate:
          issuedDue ??
          (run.status === 'approved' && chargeDue !== null
            ? chargeDue
            : dueDateOf(chargeDue ?? addDays(periodEnd, dueDays), today, dueDays)),
      }))
      return {
        ...run,
        createdAt: run.createdAt.toISOString(),
        approvedAt: run.approvedAt ? new Date(run.approvedAt).toISOString() : null,
        lines: withDue.filter((l) => l.heldReason === null),
        held: withDue.filter((l) => l.heldReason !== null),
      }
    },
  )

  app.post(
    '/api/v1/bill-runs/:id/approve',
    {
      config: { access: { estate: { from: 'params.id', record: billRun }, permission: 'billing.run' } },
      schema: {
        tags,
        summary:
          'Approve a previewed run (审批): issue its receivables, or the corrections of changed ones; not by who previewed it where the org tree asks for four eyes (the default): 403 billRun.selfApproval',
        security,
        params: IdParams,
        response: {
          200: Type.Object({ issued: Type.Integer(), corrections: Type.Integer(), amount: Type.String() }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      return approveBillRun(db, id, request.scope.userId)
    },
  )

  app.get(
    '/api/v1/customers/:id/account',
    {
      config: { access: { estate: { from: 'params.id', record: customer } } },
      schema: {
        tags,
        summary: 'The desk view of a customer: every open receivable (arrears first), prepayment and deposit',
        security,
        params: IdParams,
        response: { 200: CustomerAccount, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const open = await openReceivables(db, id)
      const items = new Map(
        (
          await db
            .selectFrom('feeItems')
            .select(['id', 'code', 'name'])
            .where('id', '=', anyUuid([...new Set(open.map((o) => o.feeItemId))]))
            .execute()
        ).map((i) => [i.id, i]),
      )
      const units = new Map(
        (
          await db
            .selectFrom('units')
            .select(['id', 'code'])
            .where('id', '=', anyUuid([...new Set(open.flatMap((o) => (o.unitId ? [o.unitId] : [])))]))
            .execute()
        ).map((u) => [u.id, u.code]),
      )
      return {
        customerId: id,
        ...(await customerBalances(db, id)),
        open: open.map((o) => ({
          ...o,
          issuedAt: new Date(o.issuedAt).toISOString(),
          feeItemCode: items.get(o.feeItemId)?.code ?? null,
          feeItemName: items.get(o.feeItemId)?.name ?? null,
          unitCode: o.unitId ? (units.get(o.unitId) ?? null) : null,
        })),
      }
    },
  )

  app.get(
    '/api/v1/desk/search',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags,
        summary: 'Find a customer at the desk by name, code, phone or unit code',
        security,
        querystring: Type.Object({ estateId: Id, q: Type.String({ minLength: 1, maxLength: 100 }) }, strict),
        response: {
          200: Type.Object({ items: Type.Array(DeskCustomer) }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const { q } = request.query as { estateId: string; q: string }
      const estateId = request.estateId
      const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      const rows = await sql<{
        customerId: string
        code: string
        name: string
        phone: string | null
        units: string[]
      }>`
        select c.id as customer_id, c.code, c.name, c.phone,
          coalesce(array_agg(distinct u.code) filter (where u.code is not null), '{}') as units
        from customers c
        left join occupancies o on o.customer_id = c.id and (o.end_date is null or o.end_date >= current_date)
        left join units u on u.id = o.unit_id
        where c.estate_id = ${estateId} and (c.name ilike ${like} or c.code ilike ${like} or c.phone ilike ${like}
          or exists (select 1 from occupancies o2 join units u2 on u2.id = o2.unit_id where o2.customer_id = c.id and u2.code ilike ${like}))
        group by c.id, c.code, c.name, c.phone order by c.code limit 20`.execute(db)
      return { items: rows.rows }
    },
  )

  app.post(
    '/api/v1/payments',
    {
      config: { access: { estate: { from: 'body.estateId' }, permission: 'payments.take' } },
      schema: {
        tags,
        summary:
          'Take a payment (收款) or a deposit; send an Idempotency-Key header so a retry never charges twice',
        security,
        headers: Type.Object(
          { 'idempotency-key': Type.String({ minLength: 8, maxLength: 200 }) },
          { additionalProperties: true },
        ),
        body: Type.Object(
          {
            estateId: Id,
            customerId: Id,
            purpose: Type.Optional(OneOf(paymentPurposes)),
            method: OneOf(['cash', 'card', 'transfer', 'wechat', 'alipay'] as const),
            reference: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
            amount: Money,
            allocations: Type.Optional(
              Type.Array(Type.Object({ receivableId: Id, amount: Money }, strict), { maxItems: 500 }),
            ),
          },
          strict,
        ),
        response: {
          200: PaymentResult,
          201: PaymentResult,
          ...errorReplies,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        estateId: string
        customerId: string
        purpose?: 'bills' | 'deposit'
        method: 'cash' | 'card' | 'transfer' | 'wechat' | 'alipay'
        reference?: string | null
        amount: string
        allocations?: { receivableId: string; amount: string }[]
      }
      const estateId = request.estateId
      if (body.method !== 'cash' && !body.reference)
        throw invalid(
          'body.reference',
          `is required for ${body.method} (the bank or wallet transaction number)`,
          'payment.referenceRequired',
          { method: body.method },
        )
      const result = await takePayment(db, {
        estateId,
        customerId: body.customerId,
        purpose: body.purpose ?? 'bills',
        method: body.method,
        reference: body.reference ?? null,
        amount: body.amount,
        ...(body.allocations ? { allocations: body.allocations } : {}),
        idempotencyKey: request.headers['idempotency-key'] as string,
        cashierId: request.scope.userId,
      })
      return reply.status(result.replayed ? 200 : 201).send(result)
    },
  )

  app.get(
    '/api/v1/payments/:id/receipt',
    {
      config: { access: { estate: { from: 'params.id', record: { table: 'payments', label: 'payment' } } } },
      schema: {
        tags,
        summary: 'The printable receipt (收款单), A5 or 80 mm roll, Chinese or English',
        security,
        params: IdParams,
        querystring: Type.Object(
          {
            size: Type.Optional(OneOf(['a5', 'roll80'] as const)),
            lang: Type.Optional(OneOf(['zh-CN', 'en'] as const)),
          },
          strict,
        ),
        response: { 200: Type.String(), ...errorReplies },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string }
      const q = request.query as { size?: 'a5' | 'roll80'; lang?: 'zh-CN' | 'en' }
      const view = await receiptView(db, id)
      if (!view) throw notFound('payment')
      reply.header('content-type', 'text/html; charset=utf-8')
      return renderReceipt(view, { size: q.size ?? 'a5', lang: q.lang ?? 'zh-CN' })
    },
  )

  const ApprovalBody = Type.Object(
    {
      estateId: Id,
      kind: OneOf(APPROVAL_KINDS),
      paymentId: Type.Optional(Id),
      receivableId: Type.Optional(Id),
      customerId: Type.Optional(Id),
      feeItemId: Type.Optional(Id),
      amount: Type.Optional(SignedMoney),
      reason: Type.String({ minLength: 1, maxLength: 500 }),
    },
    strict,
  )
  app.post(
    '/api/v1/approvals',
    {
      config: {
        access: {
          estate: { from: 'body.estateId' },
          permission: (request) => requestPermission((request.body as { kind: ApprovalKind }).kind),
          references: {
            'body.paymentId': same('payments', 'payment'),
            'body.receivableId': same('receivables', 'receivable'),
            'body.customerId': same('customers', 'customer'),
            'body.feeItemId': same('feeItems', 'fee item'),
          },
        },
      },
      schema: {
        tags,
        summary: 'Request a void (红冲), refund, deposit refund, adjustment (费用调整) or late-fee waiver',
        security,
        body: ApprovalBody,
        response: { 201: Type.Object({ id: Id }), ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        estateId: string
        kind: 'void' | 'refund' | 'deposit_refund' | 'adjustment' | 'waiver'
        paymentId?: string
        receivableId?: string
        customerId?: string
        feeItemId?: string
        amount?: string
        reason: string
      }
      const estateId = request.estateId
      const { estateId: _e, ...rest } = body
      const id = await requestApproval(db, { ...rest, estateId, requestedBy: request.scope.userId })
      return reply.status(201).send({ id })
    },
  )

  const ApprovalStatus = OneOf(approvalStatuses)
  const ApprovalItem = Type.Object({
    id: Id,
    estateId: Id,
    kind: OneOf(APPROVAL_KINDS),
    status: ApprovalStatus,
    amount: Type.String(),
    reason: Type.String(),
    paymentId: Nullable(Id),
    receiptNo: Nullable(Type.String()),
    receivableId: Nullable(Id),
    feeItemId: Nullable(Id),
    feeItemName: Nullable(Type.String()),
    period: Nullable(Type.String()),
    customerId: Nullable(Id),
    customerCode: Nullable(Type.String()),
    customerName: Nullable(Type.String()),
    unitCodes: Type.Array(Type.String()),
    requestedBy: Id,
    requestedByName: Nullable(Type.String()),
    requestedAt: Timestamp,
    decidedBy: Nullable(Id),
    decidedByName: Nullable(Type.String()),
    decidedAt: Nullable(Timestamp),
    decisionNote: Nullable(Type.String()),
  })
  app.get(
    '/api/v1/approvals',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags,
        summary:
          'Requests waiting for (or given) a second person’s approval, newest first, with customer, units and names; what the caller may request and whether they may decide',
        security,
        querystring: Type.Object(
          {
            estateId: Id,
            status: Type.Optional(ApprovalStatus),
            customerId: Type.Optional(Id),
            ...PageQuery,
          },
          strict,
        ),
        response: {
          200: Type.Object({
            items: Type.Array(ApprovalItem),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            mayDecide: Type.Boolean({ description: 'the caller holds payments.approve in the estate' }),
            mayRequest: Type.Array(OneOf(APPROVAL_KINDS), {
              description: 'the kinds the caller may request',
            }),
          }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        estateId: string
        status?: ApprovalStatus
        customerId?: string
        limit?: number
        offset?: number
      }
      const estateId = request.estateId
      const limit = q.limit ?? 50
      const offset = q.offset ?? 0
      const { items, total } = await listApprovals(db, {
        estateId,
        ...(q.status ? { status: q.status } : {}),
        ...(q.customerId ? { customerId: q.customerId } : {}),
        limit,
        offset,
      })
      return {
        items,
        total,
        limit,
        offset,
        mayDecide: request.scope.can('payments.approve', estateId),
        mayRequest: APPROVAL_KINDS.filter((kind) => request.scope.can(requestPermission(kind), estateId)),
      }
    },
  )

  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `/api/v1/approvals/:id/${decision}`,
      {
        config: {
          access: {
            estate: { from: 'params.id', record: { table: 'approvals', label: 'approval' } },
            permission: 'payments.approve',
          },
        },
        schema: {
          tags,
          summary:
            decision === 'approve'
              ? 'Approve a request: its effect is booked now (a note is optional)'
              : 'Reject a request with a note saying why: nothing is booked',
          security,
          params: IdParams,
          // No body at all is an approval without a note, as before notes existed.
          body: Nullable(Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, strict)),
          response: { 204: Type.Null(), ...errorReplies },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const note = (request.body as { note?: string } | null)?.note?.trim() ?? ''
        // The requester reads why at the desk: a rejection must say it.
        if (decision === 'reject' && note === '')
          throw invalid('body.note', 'is required to reject a request', 'approval.noteRequired')
        await decideApproval(db, id, request.scope.userId, decision, note || undefined)
        return reply.status(204).send()
      },
    )
  }

  app.get(
    '/api/v1/customers/:id/payments',
    {
      config: { access: { estate: { from: 'params.id', record: customer } } },
      schema: {
        tags,
        summary:
          'A customer’s payments, newest first: what of each did not go to bills, what of that may still be refunded, and whether it was voided (红冲)',
        security,
        params: IdParams,
        querystring: Type.Object({ ...PageQuery }, strict),
        response: {
          200: Page(
            Type.Object({
              id: Id,
              receiptNo: Type.String(),
              paidAt: Timestamp,
              purpose: OneOf(paymentPurposes),
              method: Type.String(),
              reference: Nullable(Type.String()),
              amount: Type.String(),
              cashierName: Nullable(Type.String()),
              unallocated: Type.String({ description: 'what of it did not go to bills' }),
              refundable: Type.String({
                description:
                  'the most a refund may still ask: unallocated less refunds approved or waiting (checked at request and at approval)',
              }),
              voided: Type.Boolean(),
            }),
          ),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const q = request.query as { limit?: number; offset?: number }
      const limit = q.limit ?? 50
      const offset = q.offset ?? 0
      return { ...(await customerPayments(db, id, { limit, offset })), limit, offset }
    },
  )

  app.post(
    '/api/v1/receivables/one-off',
    {
      config: {
        access: {
          estate: { from: 'body.estateId' },
          permission: 'billing.run',
          references: {
            'body.customerId': same('customers', 'customer'),
            'body.unitId': same('units', 'unit'),
            'body.feeItemId': same('feeItems', 'fee item'),
          },
        },
      },
      schema: {
        tags,
        summary: 'Issue a one-off charge (decoration, special service, paid repair) to a customer',
        security,
        body: Type.Object(
          {
            estateId: Id,
            customerId: Id,
            unitId: Type.Optional(Id),
            feeItemId: Id,
            amount: Type.Optional(Money),
            dueDate: DateText,
            note: Type.String({ minLength: 1, maxLength: 500 }),
          },
          strict,
        ),
        response: { 201: Type.Object({ id: Id, amount: Type.String() }), ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        estateId: string
        customerId: string
        unitId?: string
        feeItemId: string
        amount?: string
        dueDate: string
        note: string
      }
      const estateId = request.estateId
      const item = await db
        .selectFrom('feeItems')
        .select(['kind', 'name'])
        .where('id', '=', body.feeItemId)
        .executeTakeFirstOrThrow()
      if (item.kind !== 'one_off')
        throw invalid(
          'body.feeItemId',
          `is a ${item.kind} item: one-off charges need a one_off item`,
          'feeItem.notOneOff',
          { kind: item.kind },
        )
      let amount = body.amount
      if (amount === undefined) {
        // The item's standard in force on the due date gives the amount when none is typed.
        const standard = await db
          .selectFrom('feeStandards')
          .select('amount')
          .where('feeItemId', '=', body.feeItemId)
          .where('validFrom', '<=', body.dueDate)
          .where((eb) => eb.or([eb('validTo', 'is', null), eb('validTo', '>', body.dueDate)]))
          .executeTakeFirst()
        if (!standard?.amount)
          throw invalid(
            'body.amount',
            'is required: the item has no standard amount on that date',
            'charge.amountRequired',
          )
        amount = standard.amount
      }
      if (Decimal.of(amount).isZero()) throw invalid('body.amount', 'must not be zero', 'number.notZero')
      const id = await db.transaction().execute((trx) =>
        issueReceivable(trx, {
          estateId,
          customerId: body.customerId,
          unitId: body.unitId ?? null,
          feeItemId: body.feeItemId,
          period: null,
          kind: 'charge',
          amount: amount!,
          dueDate: body.dueDate,
          explanation: { formula: `${item.name}: ${body.note}`, inputs: { amount: amount! } },
          createdBy: request.scope.userId,
        }),
      )
      return reply.status(201).send({ id, amount: Decimal.of(amount).toFixed(2) })
    },
  )

  app.post(
    '/api/v1/estates/:estateId/late-fees/accrue',
    {
      config: { access: { estate: { from: 'params.estateId' }, permission: 'billing.run' } },
      schema: {
        tags,
        summary:
          'Accrue late fees (滞纳金) as of a date, today or earlier (the daily job does it at the estate’s late_fee_accrual_time); computed once: a repeat, or a run racing it, issues 0 new lines and says what was accrued for that date already',
        security,
        params: Type.Object({ estateId: Id }, strict),
        body: Type.Object(
          { asOf: Type.String({ format: 'date', description: 'the estate’s local date; not after today' }) },
          strict,
        ),
        response: {
          200: Type.Object({
            asOf: Type.String(),
            lines: Type.Integer({ description: 'late-fee lines this request issued' }),
            amount: Type.String({ description: 'their sum' }),
            alreadyAccrued: Type.Object(
              { lines: Type.Integer(), amount: Type.String() },
              { description: 'what earlier accruals for this date issued (the job, another request)' },
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const estateId = request.estateId
      const { asOf } = request.body as { asOf: string }
      // A fee for days that have not passed would charge for lateness that may never happen.
      const today = await estateToday(db, estateId)
      if (asOf > today) throw invalid('body.asOf', `is after the estate's today (${today})`, 'date.inFuture')
      return accrueLateFees(db, estateId, asOf, request.scope.userId)
    },
  )
}
