import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decideApproval, requestApproval } from '../hub/billing/approval-actions.ts'
import { customerPayments } from '../hub/billing/customer-payments.ts'
import { addDays } from '../hub/billing/due-dates.ts'
import { accrueDueEstates } from '../hub/billing/late-fee-job.ts'
import { accrueLateFees } from '../hub/billing/late-fees.ts'
import { customerBalances } from '../hub/billing/ledger.ts'
import { checkLedger } from '../hub/billing/ledger-check.ts'
import { takePayment } from '../hub/billing/payment-desk.ts'
import { issueReceivable, issueReceivables } from '../hub/billing/receivable-issue.ts'
import { ApiError } from '../hub/kernel/api-error.ts'
import { Decimal } from '../hub/kernel/decimal.ts'
import { localDate } from '../hub/metering/cutoff.ts'
import { seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Money is computed once (issue 13, item 4), against a real database: late fees accrued once
 * per line and date however many accruals race (also the daily job of several hubs), no late
 * fee on a line the day it is issued, refunds that together never exceed the payment, four
 * eyes on bill runs; then a randomized mix of concurrent accruals, payments, refunds and voids
 * after which `ledger check` passes. Races need PostgreSQL (PGlite has one connection, so
 * there the same steps run one after another and must give the same answers).
 */
for (const backend of storeBackends()) {
  describe(`money is computed once (${backend.name})`, () => {
    let hub: TestHub
    const tokens: Record<'preparer' | 'approver' | 'admin', string> = {
      preparer: '',
      approver: '',
      admin: '',
    }
    const ids: Record<'preparer' | 'approver', string> = { preparer: '', approver: '' }
    const db = () => hub.store.db
    const today = () => localDate(Date.now(), 'Asia/Shanghai')

    /** A new estate with a fee item that charges 0.05 % a day from the due date, no grace, no cap. */
    const estate = async (code: string) => {
      const site = await seedSite(db(), { code, points: [] })
      const item = await db()
        .insertInto('feeItems')
        .values({
          estateId: site.estateId,
          code: 'PROP',
          name: '物业费',
          kind: 'fixed',
          dueDays: 15,
          lateFeeDailyRate: '0.0005',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return { ...site, feeItemId: item.id }
    }
    const customers = async (estateId: string, n: number) =>
      (
        await db()
          .insertInto('customers')
          .values(
            Array.from({ length: n }, (_, i) => ({
              estateId,
              code: `C${i}-${randomUUID().slice(0, 6)}`,
              kind: 'person' as const,
              name: `业主${i}`,
            })),
          )
          .returning('id')
          .execute()
      ).map((c) => c.id)
    const charge = (
      site: { estateId: string; feeItemId: string },
      customerId: string,
      amount: string,
      dueDate: string,
      extra: { unitId?: string; period?: string } = {},
    ) => ({
      estateId: site.estateId,
      customerId,
      unitId: extra.unitId ?? null,
      feeItemId: site.feeItemId,
      period: extra.period ?? `p-${randomUUID()}`,
      kind: 'charge' as const,
      amount,
      dueDate,
      explanation: { formula: 'test' },
      createdBy: null,
    })
    const pay = (estateId: string, customerId: string, amount: string) =>
      takePayment(db(), {
        estateId,
        customerId,
        purpose: 'bills',
        method: 'cash',
        reference: null,
        amount,
        idempotencyKey: randomUUID(),
        cashierId: ids.preparer,
      })
    const books = async (estateId: string) => {
      const [result] = await checkLedger(db(), [estateId])
      expect(result!.problems).toEqual([])
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      tokens.admin = await hub.userWithGrants('money-admin', [{ role: 'admin', nodeId: null }])
      tokens.preparer = await hub.userWithGrants('money-preparer', [{ role: 'finance', nodeId: null }])
      tokens.approver = await hub.userWithGrants('money-approver', [{ role: 'finance', nodeId: null }])
      for (const who of ['preparer', 'approver'] as const)
        ids[who] = (
          await db()
            .selectFrom('users')
            .select('id')
            .where('username', '=', `money-${who}`)
            .executeTakeFirstOrThrow()
        ).id
    })
    afterAll(() => hub?.close())

    it('charges late fees once when accruals for one date race: 200 lines, 200 fees', async () => {
      const site = await estate('RACE')
      const payers = await customers(site.estateId, 200)
      await db()
        .transaction()
        .execute((trx) =>
          issueReceivables(
            trx,
            payers.map((c) => charge(site, c, '100.00', '2026-01-15')),
          ),
        )
      const reports = await Promise.all(
        [1, 2, 3, 4].map(() => accrueLateFees(db(), site.estateId, '2026-02-14', null)),
      )
      // 100.00 × 0.0005 × 30 days = 1.50 a line, once.
      expect(reports.map((r) => r.lines).sort((a, b) => a - b)).toEqual([0, 0, 0, 200])
      expect(reports.find((r) => r.lines === 200)).toMatchObject({
        amount: '300.00',
        alreadyAccrued: { lines: 0, amount: '0.00' },
      })
      for (const r of reports.filter((x) => x.lines === 0))
        expect(r).toEqual({
          asOf: '2026-02-14',
          lines: 0,
          amount: '0.00',
          alreadyAccrued: { lines: 200, amount: '300.00' },
        })
      const fees = await db()
        .selectFrom('receivables')
        .select([(eb) => eb.fn.countAll<string>().as('n'), (eb) => eb.fn.sum<string>('amount').as('sum')])
        .where('estateId', '=', site.estateId)
        .where('kind', '=', 'late_fee')
        .executeTakeFirstOrThrow()
      expect([Number(fees.n), Decimal.of(fees.sum).toFixed(2)]).toEqual([200, '300.00'])
      // The database's own key: a second fee for a line and date is refused whoever writes it.
      const line = await db()
        .selectFrom('receivables')
        .select(['id', 'customerId'])
        .where('estateId', '=', site.estateId)
        .where('kind', '=', 'charge')
        .limit(1)
        .executeTakeFirstOrThrow()
      await expect(
        db()
          .transaction()
          .execute((trx) =>
            issueReceivable(trx, {
              ...charge(site, line.customerId, '1.50', '2026-02-14'),
              kind: 'late_fee',
              lateFeeFor: line.id,
              accruedAsOf: '2026-02-14',
            }),
          ),
      ).rejects.toThrow(/receivables_late_fee_once/)
      await books(site.estateId)
    })

    it('refuses an as-of date after the estate’s today (date.inFuture)', async () => {
      const site = await estate('FUTR')
      const refused = await hub.call(tokens.preparer, {
        method: 'POST',
        url: `/api/v1/estates/${site.estateId}/late-fees/accrue`,
        payload: { asOf: addDays(today(), 1) },
      })
      expect(refused.status).toBe(400)
      expect(refused.body.details).toEqual([
        expect.objectContaining({ field: 'body.asOf', rule: 'date.inFuture' }),
      ])
    })

    /** A unit with an owner, and a fixed 100.00 a month standard on the item for the whole estate. */
    const billable = async (code: string) => {
      const site = await estate(code)
      const unit = await db()
        .insertInto('units')
        .values({
          estateId: site.estateId,
          buildingId: site.buildingId,
          code: '1-101',
          floor: 1,
          areaM2: '90.00',
          use: 'residence',
          status: 'occupied',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      const [owner] = await customers(site.estateId, 1)
      await db()
        .insertInto('occupancies')
        .values({
          estateId: site.estateId,
          unitId: unit.id,
          customerId: owner!,
          role: 'owner',
          startDate: '2024-01-01',
        })
        .execute()
      const standard = await db()
        .insertInto('feeStandards')
        .values({
          estateId: site.estateId,
          feeItemId: site.feeItemId,
          name: '固定物业费',
          amount: '100.00',
          validFrom: '2024-01-01',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await db()
        .insertInto('feeAssignments')
        .values({
          estateId: site.estateId,
          feeStandardId: standard.id,
          target: 'estate',
          validFrom: '2024-01-01',
        })
        .execute()
      return { ...site, unitId: unit.id, ownerId: owner!, standardId: standard.id }
    }
    const preview = async (estateId: string, period: string) => {
      const run = await hub.call(tokens.preparer, {
        method: 'POST',
        url: '/api/v1/bill-runs',
        payload: { estateId, period, scope: 'estate' },
      })
      expect(run.status, JSON.stringify(run.body)).toBe(201)
      return run.body.id as string
    }
    const approve = (token: string, runId: string) =>
      hub.call(token, { method: 'POST', url: `/api/v1/bill-runs/${runId}/approve` })

    it('gives a correction or adjustment of an overdue line its own due date: no late fee the day it is issued', async () => {
      const site = await billable('CORR')
      // January's 100.00 was billed in time (due 2026-02-16) and paid.
      const original = await db()
        .transaction()
        .execute((trx) =>
          issueReceivable(
            trx,
            charge(site, site.ownerId, '100.00', '2026-02-16', { unitId: site.unitId, period: '2026-01' }),
          ),
        )
      await pay(site.estateId, site.ownerId, '100.00')
      // The price is corrected to 120.00 long after: the run issues a correction of 20.00.
      await db()
        .updateTable('feeStandards')
        .set({ amount: '120.00' })
        .where('id', '=', site.standardId)
        .execute()
      const runId = await preview(site.estateId, '2026-01')
      const approved = await approve(tokens.approver, runId)
      expect(approved.body).toEqual({ issued: 0, corrections: 1, amount: '20.00' })
      const correction = await db()
        .selectFrom('receivables')
        .select(['dueDate', 'amount'])
        .where('correctsId', '=', original)
        .executeTakeFirstOrThrow()
      expect(correction).toEqual({ amount: '20.00', dueDate: addDays(today(), 15) })
      const detail = await hub.call(tokens.approver, { method: 'GET', url: `/api/v1/bill-runs/${runId}` })
      expect(detail.body.lines.map((l: { dueDate: string }) => l.dueDate)).toEqual([addDays(today(), 15)])
      // Before: 20.00 × 0.0005 × the days since 2026-02-16, charged the day the correction was issued.
      const accrued = await hub.call(tokens.preparer, {
        method: 'POST',
        url: `/api/v1/estates/${site.estateId}/late-fees/accrue`,
        payload: { asOf: today() },
      })
      expect(accrued.body).toMatchObject({ lines: 0, amount: '0.00' })
      // An adjustment of the same line: due 15 days after it is approved, too.
      const request = await requestApproval(db(), {
        estateId: site.estateId,
        kind: 'adjustment',
        receivableId: original,
        amount: '10.00',
        reason: '补收',
        requestedBy: ids.preparer,
      })
      await decideApproval(db(), request, ids.approver, 'approve')
      const adjustment = await db()
        .selectFrom('receivables')
        .select('dueDate')
        .where('correctsId', '=', original)
        .where('kind', '=', 'adjustment')
        .executeTakeFirstOrThrow()
      expect(adjustment.dueDate).toBe(addDays(today(), 15))
      // Five days after they fall due: (20.00 + 10.00) × 0.0005 × 5 = 0.075 → 0.08; the paid
      // original draws nothing.
      expect(await accrueLateFees(db(), site.estateId, addDays(today(), 20), null)).toMatchObject({
        lines: 1,
        amount: '0.08',
      })
      await books(site.estateId)
    })

    it('keeps the preparer of a bill run from approving it, as the org tree says (four eyes)', async () => {
      const site = await billable('EYES')
      const company = (
        await db()
          .selectFrom('orgNodes')
          .select('parentId')
          .where('id', '=', site.estateId)
          .executeTakeFirstOrThrow()
      ).parentId!
      const first = await preview(site.estateId, '2026-03')
      const own = await approve(tokens.preparer, first)
      expect(own.status).toBe(403)
      expect(own.body).toMatchObject({ error: 'EH_ERR_FORBIDDEN', rule: 'billRun.selfApproval' })
      expect((await approve(tokens.approver, first)).status).toBe(200)
      // The company does without (a one-person office); its estates inherit that…
      const off = await hub.call(tokens.admin, {
        method: 'PATCH',
        url: `/api/v1/org-nodes/${company}`,
        payload: { fourEyesBillRuns: false },
      })
      expect(off.body).toMatchObject({ fourEyesBillRuns: false })
      expect((await approve(tokens.preparer, await preview(site.estateId, '2026-04'))).status).toBe(200)
      // …unless the estate says otherwise.
      await hub.call(tokens.admin, {
        method: 'PATCH',
        url: `/api/v1/org-nodes/${site.estateId}`,
        payload: { fourEyesBillRuns: true },
      })
      expect((await approve(tokens.preparer, await preview(site.estateId, '2026-05'))).status).toBe(403)
    })

    it('checks refunds against what of the payment is left, at request and at approval', async () => {
      const site = await estate('RFND')
      const [c] = await customers(site.estateId, 1)
      const p = await pay(site.estateId, c!, '100.00')
      const refund = (amount: string, paymentId = p.paymentId) =>
        requestApproval(db(), {
          estateId: site.estateId,
          kind: 'refund',
          paymentId,
          amount,
          reason: '退预存',
          requestedBy: ids.preparer,
        })
      // Two requests of 60.00 at once: one is taken, the other sees it and is refused.
      const raced = await Promise.allSettled([refund('60.00'), refund('60.00')])
      expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const lost = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(lost.reason).toMatchObject({ statusCode: 400, rule: { rule: 'approval.refundTooMuch' } })
      const second = await refund('40.00')
      await expect(refund('0.01')).rejects.toMatchObject({ rule: { rule: 'approval.refundTooMuch' } })
      expect((await customerPayments(db(), c!, { limit: 10, offset: 0 })).items[0]).toMatchObject({
        unallocated: '100.00',
        refundable: '0.00',
      })
      const first = (raced.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<string>).value
      await Promise.all([
        decideApproval(db(), first, ids.approver, 'approve'),
        decideApproval(db(), second, ids.approver, 'approve'),
      ])
      expect((await customerBalances(db(), c!)).prepayment).toBe('0.00')

      // A void after a refund returns only what the refund left; it waits for a pending one.
      const q = await pay(site.estateId, c!, '100.00')
      const part = await refund('30.00', q.paymentId)
      const voidOf = () =>
        requestApproval(db(), {
          estateId: site.estateId,
          kind: 'void',
          paymentId: q.paymentId,
          reason: '收错',
          requestedBy: ids.preparer,
        })
      await expect(voidOf()).rejects.toMatchObject({
        statusCode: 409,
        rule: { rule: 'approval.refundPending', params: { amount: '30.00' } },
      })
      await decideApproval(db(), part, ids.approver, 'approve')
      const voided = await voidOf()
      await decideApproval(db(), voided, ids.approver, 'approve')
      const returned = await db()
        .selectFrom('approvals')
        .select(['kind', 'amount'])
        .where('paymentId', '=', q.paymentId)
        .where('status', '=', 'approved')
        .orderBy('kind')
        .execute()
      expect(returned).toEqual([
        { kind: 'refund', amount: '30.00' },
        { kind: 'void', amount: '70.00' },
      ])
      expect((await customerBalances(db(), c!)).prepayment).toBe('0.00')
      await books(site.estateId)
    })

    it('keeps the books through concurrent accruals, payments, refunds and voids (randomized)', async () => {
      const dates = ['2026-02-01', '2026-02-14', '2026-03-01', '2026-03-15'] as const
      const op = fc.oneof(
        fc.record({
          kind: fc.constant('pay' as const),
          c: fc.nat(4),
          fen: fc.integer({ min: 1, max: 30_000 }),
        }),
        fc.record({ kind: fc.constant('accrue' as const), day: fc.nat(dates.length - 1) }),
        fc.record({
          kind: fc.constant('refund' as const),
          p: fc.nat(),
          fen: fc.integer({ min: 1, max: 20_000 }),
        }),
        fc.record({ kind: fc.constant('void' as const), p: fc.nat() }),
        fc.record({ kind: fc.constant('decide' as const), a: fc.nat(), approve: fc.boolean() }),
      )
      type Op = typeof op extends fc.Arbitrary<infer T> ? T : never
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 30 }), async (ops: Op[]) => {
          const site = await estate('RAND')
          const payers = await customers(site.estateId, 5)
          await db()
            .transaction()
            .execute((trx) =>
              issueReceivables(
                trx,
                payers.flatMap((c) => [
                  charge(site, c, '100.00', '2026-01-15'),
                  charge(site, c, '50.00', '2026-02-10'),
                ]),
              ),
            )
          const payments: string[] = []
          const approvals: string[] = []
          const yuan = (fen: number) => (fen / 100).toFixed(2)
          const run = async (o: Op): Promise<void> => {
            switch (o.kind) {
              case 'pay':
                payments.push((await pay(site.estateId, payers[o.c]!, yuan(o.fen))).paymentId)
                return
              case 'accrue':
                await accrueLateFees(db(), site.estateId, dates[o.day]!, null)
                return
              case 'refund':
              case 'void': {
                if (payments.length === 0) return
                const paymentId = payments[o.p % payments.length]!
                approvals.push(
                  await requestApproval(db(), {
                    estateId: site.estateId,
                    kind: o.kind,
                    paymentId,
                    ...(o.kind === 'refund' ? { amount: yuan(o.fen) } : {}),
                    reason: 'random',
                    requestedBy: ids.preparer,
                  }),
                )
                return
              }
              case 'decide':
                if (approvals.length === 0) return
                await decideApproval(
                  db(),
                  approvals[o.a % approvals.length]!,
                  ids.approver,
                  o.approve ? 'approve' : 'reject',
                )
                return
            }
          }
          // Five at a time, concurrently; a refusal (4xx) is an answer, anything else a bug.
          const unexpected: unknown[] = []
          for (let i = 0; i < ops.length; i += 5) {
            const settled = await Promise.allSettled(ops.slice(i, i + 5).map(run))
            for (const s of settled)
              if (s.status === 'rejected' && !(s.reason instanceof ApiError && s.reason.statusCode < 500))
                unexpected.push(s.reason)
          }
          expect(unexpected).toEqual([])
          await books(site.estateId)
          // One late fee per line and as-of date, and never more returned than a payment brought.
          const doubled = await db()
            .selectFrom('receivables')
            .select(['lateFeeFor', 'accruedAsOf'])
            .where('estateId', '=', site.estateId)
            .where('kind', '=', 'late_fee')
            .groupBy(['lateFeeFor', 'accruedAsOf'])
            .having((eb) => eb.fn.countAll(), '>', 1)
            .execute()
          expect(doubled).toEqual([])
          const taken = await db()
            .selectFrom('payments as p')
            .leftJoin('approvals as a', (j) =>
              j
                .onRef('a.paymentId', '=', 'p.id')
                .on('a.status', 'in', ['approved', 'requested'])
                .on('a.kind', 'in', ['refund', 'void']),
            )
            .select([
              'p.id',
              'p.amount',
              (eb) => eb.fn.coalesce(eb.fn.sum<string>('a.amount'), eb.val('0')).as('out'),
            ])
            .where('p.estateId', '=', site.estateId)
            .groupBy(['p.id', 'p.amount'])
            .execute()
          for (const t of taken) expect(Decimal.of(t.out).lte(t.amount), `payment ${t.id}`).toBe(true)
        }),
        { numRuns: 4 },
      )
    })

    // Last: the job accrues every estate of the database whose time has come.
    it('accrues each estate once a day at its own local time, however many hubs run the job', async () => {
      const site = await estate('DAILY')
      const company = (
        await db()
          .selectFrom('orgNodes')
          .select('parentId')
          .where('id', '=', site.estateId)
          .executeTakeFirstOrThrow()
      ).parentId!
      const [c] = await customers(site.estateId, 1)
      await db()
        .transaction()
        .execute((trx) => issueReceivable(trx, charge(site, c!, '100.00', '2026-01-15')))
      // The estate's time: validated as HH:MM, and only an estate has one.
      const patch = (id: string, payload: object) =>
        hub.call(tokens.admin, { method: 'PATCH', url: `/api/v1/org-nodes/${id}`, payload })
      const bad = await patch(site.estateId, { lateFeeAccrualTime: '24:00' })
      expect(bad.status).toBe(400)
      expect(bad.body.details).toEqual([
        expect.objectContaining({ field: 'body.lateFeeAccrualTime', rule: 'string.pattern' }),
      ])
      const notEstate = await patch(company, { lateFeeAccrualTime: '06:30' })
      expect(notEstate.body.details).toEqual([
        expect.objectContaining({ field: 'body.lateFeeAccrualTime', rule: 'org.estateOnly' }),
      ])
      expect((await patch(site.estateId, { lateFeeAccrualTime: '06:30' })).body).toMatchObject({
        lateFeeAccrualTime: '06:30',
      })
      const mine = (reports: Awaited<ReturnType<typeof accrueDueEstates>>) =>
        reports.filter((r) => r.estateId === site.estateId)
      // 06:29 in Shanghai on 2026-02-14: not yet.
      expect(mine(await accrueDueEstates(db(), new Date('2026-02-13T22:29:00Z')))).toEqual([])
      // 06:30: three hubs at once; the estate's day is accrued once (100.00 × 0.0005 × 30).
      const at = new Date('2026-02-13T22:30:00Z')
      const hubs = (await Promise.all([1, 2, 3].map(() => accrueDueEstates(db(), at)))).flatMap(mine)
      // A hub that looked after another had finished skips the estate; one that raced it waits
      // for the lock and finds the day accrued.
      expect(hubs.filter((r) => r.lines > 0).map((r) => [r.asOf, r.lines, r.amount])).toEqual([
        ['2026-02-14', 1, '1.50'],
      ])
      for (const r of hubs.filter((x) => x.lines === 0))
        expect(r.alreadyAccrued).toEqual({ lines: 1, amount: '1.50' })
      expect(mine(await accrueDueEstates(db(), new Date('2026-02-14T10:00:00Z')))).toEqual([])
      const run = await db()
        .selectFrom('lateFeeRuns')
        .select(['asOf', 'lines', 'amount', 'lastRunBy'])
        .where('estateId', '=', site.estateId)
        .execute()
      expect(run).toEqual([{ asOf: '2026-02-14', lines: 1, amount: '1.50', lastRunBy: null }])
    })
  })
}
