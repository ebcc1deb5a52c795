import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approveBillRun, previewBillRun } from '../hub/billing/bill-run.ts'
import { customerBalances, openReceivables } from '../hub/billing/ledger.ts'
import { checkLedger } from '../hub/billing/ledger-check.ts'
import { takePayment } from '../hub/billing/payment-desk.ts'
import { jsonb } from '../hub/store/jsonb.ts'
import type { Store } from '../hub/store/open-store.ts'
import { type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * A month's bill run for three units, every amount worked by hand: property fee by area with a
 * price change on the 11th, tiered electricity, water rounded down to the jiao, a fixed fee and
 * a shared (公摊) charge split by area; a flagged read held; approval issuing receivables once;
 * a corrected price issuing correcting lines; prepayment drawn down.
 */
const PERIOD = '2026-10'

for (const backend of storeBackends()) {
  describe(`bill run (${backend.name})`, () => {
    let store: Store
    let site: Site
    let clerk: string
    // Four eyes: the clerk prepares the runs, someone else approves them.
    let approver: string
    const units: Record<string, string> = {}
    const customers: Record<string, string> = {}
    const items: Record<string, string> = {}
    const meters: Record<string, string> = {}
    let garbageStandard: string

    const lineOf = async (runId: string, unit: string, item: string) =>
      store.db
        .selectFrom('billRunLines')
        .selectAll()
        .where('billRunId', '=', runId)
        .where('unitId', '=', units[unit]!)
        .where('feeItemId', '=', items[item]!)
        .executeTakeFirst()
    const preview = () =>
      previewBillRun(store.db, {
        estateId: site.estateId,
        period: PERIOD,
        scope: 'estate',
        scopeId: site.estateId,
        userId: clerk,
      })

    beforeAll(async () => {
      store = await backend.open()
      const db = store.db
      site = await seedSite(db, { code: 'BILL', points: [] })
      const estateId = site.estateId
      clerk = (
        await db
          .insertInto('users')
          .values({ username: 'bill-clerk', displayName: '财务', passwordHash: 'x' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      approver = (
        await db
          .insertInto('users')
          .values({ username: 'bill-approver', displayName: '财务主管', passwordHash: 'x' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      for (const [code, area, status] of [
        ['U1', '89.50', 'occupied'],
        ['U2', '120.36', 'rented'],
        ['U3', '60.00', 'vacant'],
      ] as const) {
        units[code] = (
          await db
            .insertInto('units')
            .values({
              estateId,
              buildingId: site.buildingId,
              code,
              floor: 1,
              areaM2: area,
              use: 'residence',
              status,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      for (const code of ['C1', 'C2', 'C3', 'C4']) {
        customers[code] = (
          await db
            .insertInto('customers')
            .values({ estateId, code, kind: 'person', name: code })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      const occupy = (unit: string, customer: string, role: 'owner' | 'tenant') =>
        db
          .insertInto('occupancies')
          .values({
            estateId,
            unitId: units[unit]!,
            customerId: customers[customer]!,
            role,
            startDate: '2025-01-01',
          })
          .execute()
      await occupy('U1', 'C1', 'owner')
      await occupy('U2', 'C3', 'owner')
      await occupy('U2', 'C2', 'tenant') // the tenant pays
      await occupy('U3', 'C4', 'owner')

      const item = async (code: string, values: Record<string, unknown>) => {
        items[code] = (
          await db
            .insertInto('feeItems')
            .values({ estateId, code, name: code, kind: 'area', ...values } as never)
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      await item('PROP', { kind: 'area' })
      await item('ELEC', { kind: 'tiered', meterKind: 'electricity' })
      await item('WATER', {
        kind: 'consumption',
        meterKind: 'water',
        roundingUnit: 'jiao',
        roundingMode: 'down',
      })
      await item('GARB', { kind: 'fixed' })
      await item('PUBLIC', { kind: 'shared' })

      for (const [code, kind, unit] of [
        ['E-U1', 'electricity', 'U1'],
        ['E-U2', 'electricity', 'U2'],
        ['W-U1', 'water', 'U1'],
        ['E-COMMON', 'electricity', null],
      ] as const) {
        meters[code] = (
          await db
            .insertInto('meters')
            .values({
              estateId,
              code,
              kind,
              unitId: unit ? units[unit]! : null,
              buildingId: site.buildingId,
              billing: unit !== null,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      }
      const read = (
        meter: string,
        consumption: string,
        status: 'approved' | 'flagged',
        flags: { code: string; message: string }[] = [],
      ) =>
        db
          .insertInto('meterReads')
          .values({
            estateId,
            meterId: meters[meter]!,
            period: PERIOD,
            periodStart: new Date('2026-09-30T16:00:00Z'),
            cutoffAt: new Date('2026-10-31T16:00:00Z'),
            previousReading: '0',
            currentReading: consumption,
            method: 'exact',
            multiplier: '1',
            consumption,
            rollover: false,
            replacements: 0,
            truesUp: false,
            flags: jsonb(flags),
            status,
            previousAt: null,
            previousSource: 'read',
            currentAt: null,
            approvedBy: null,
            approvedAt: null,
          })
          .execute()
      await read('E-U1', '300', 'approved')
      await read('E-U2', '150', 'flagged', [
        { code: 'spike', message: 'consumption 150 is above 3 × the trailing average 40' },
      ])
      await read('W-U1', '12.345', 'approved')
      await read('E-COMMON', '1000', 'approved')

      const standard = async (item: string, values: Record<string, unknown>) => {
        const s = await db
          .insertInto('feeStandards')
          .values({
            estateId,
            feeItemId: items[item]!,
            name: `${item} ${values.validFrom}`,
            ...values,
          } as never)
          .returning('id')
          .executeTakeFirstOrThrow()
        await db
          .insertInto('feeAssignments')
          .values({ estateId, feeStandardId: s.id, target: 'estate', validFrom: '2020-01-01' })
          .execute()
        return s.id
      }
      // Property fee: 2.50 until October 10th, 2.80 from the 11th.
      await standard('PROP', { price: '2.50', validFrom: '2020-01-01', validTo: '2026-10-11' })
      await standard('PROP', { price: '2.80', validFrom: '2026-10-11' })
      await standard('ELEC', {
        bands: jsonb([
          { upTo: '180', price: '0.5283' },
          { upTo: '280', price: '0.5783' },
          { upTo: null, price: '0.8283' },
        ]),
        tierBasis: 'period',
        validFrom: '2020-01-01',
      })
      await standard('WATER', { price: '3.45', validFrom: '2020-01-01' })
      garbageStandard = await standard('GARB', { amount: '15.00', validFrom: '2020-01-01' })
      await standard('PUBLIC', {
        price: '0.60',
        shareBasis: 'area',
        shareSource: 'meter',
        shareMeterId: meters['E-COMMON']!,
        validFrom: '2020-01-01',
      })
    })
    afterAll(() => store?.close())

    it('previews every line with its amount, worked by hand, and holds the flagged read', async () => {
      const run = await preview()
      const amount = async (unit: string, item: string) => (await lineOf(run.id, unit, item))?.amount ?? null
      // 89.50 × (2.50 × 10 + 2.80 × 21) / 31 = 89.50 × 83.8 / 31 = 241.9387… → 241.94
      expect(await amount('U1', 'PROP')).toBe('241.94')
      // 120.36 × 83.8 / 31 = 325.3602… → 325.36; 60.00 × 83.8 / 31 = 162.1935… → 162.19
      expect(await amount('U2', 'PROP')).toBe('325.36')
      expect(await amount('U3', 'PROP')).toBe('162.19')
      // 180 × 0.5283 + 100 × 0.5783 + 20 × 0.8283 = 95.094 + 57.83 + 16.566 = 169.49
      expect(await amount('U1', 'ELEC')).toBe('169.49')
      // 12.345 m³ × 3.45 = 42.59025, to the jiao rounding down: 42.50
      expect(await amount('U1', 'WATER')).toBe('42.50')
      expect(await amount('U3', 'GARB')).toBe('15.00')
      // 1000 kWh × 0.60 = 600.00 over 269.86 m²: 198.992 / 267.605 / 133.402 → floors 198.99,
      // 267.60, 133.40 (599.99); the last fen to the largest remainder (U2): 267.61.
      expect(await amount('U1', 'PUBLIC')).toBe('198.99')
      expect(await amount('U2', 'PUBLIC')).toBe('267.61')
      expect(await amount('U3', 'PUBLIC')).toBe('133.40')
      // The tenant pays U2's bills.
      expect((await lineOf(run.id, 'U2', 'PROP'))!.customerId).toBe(customers.C2)
      const held = await lineOf(run.id, 'U2', 'ELEC')
      expect(held).toMatchObject({
        amount: null,
        heldReason: expect.stringMatching(/E-U2 read for 2026-10 is flagged \(spike\)/),
      })
      expect(await lineOf(run.id, 'U3', 'ELEC')).toBeUndefined() // no meter, no line
      // 729.49 property + 169.49 electricity + 42.50 water + 45.00 fixed + 600.00 shared
      expect(run).toMatchObject({ lines: 12, held: 1, total: '1586.48', toIssue: '1586.48' })
      const explained = (await lineOf(run.id, 'U1', 'PROP'))!.explanation as { formula: string }
      expect(explained.formula).toMatch(/89\.5/)
    })

    it('gives the same bill run for the same inputs', async () => {
      const lines = async () => {
        const run = await preview()
        const rows = await store.db
          .selectFrom('billRunLines')
          .select(['unitId', 'customerId', 'feeItemId', 'amount', 'explanation', 'heldReason'])
          .where('billRunId', '=', run.id)
          .orderBy('unitId')
          .orderBy('feeItemId')
          .execute()
        return { total: run.total, rows }
      }
      const first = await lines()
      expect(await lines()).toEqual(first)
    })

    it('issues receivables on approval, draws prepayment down, and issues nothing twice', async () => {
      // C1 paid ahead: 1,000.00 of prepayment.
      await takePayment(store.db, {
        estateId: site.estateId,
        customerId: customers.C1!,
        purpose: 'bills',
        method: 'cash',
        reference: null,
        amount: '1000.00',
        idempotencyKey: randomUUID(),
        cashierId: clerk,
      })
      const run = await preview()
      expect(await approveBillRun(store.db, run.id, approver)).toEqual({
        issued: 11,
        corrections: 0,
        amount: '1586.48',
      })
      // U1's five lines: 241.94 + 169.49 + 42.50 + 15.00 + 198.99 = 667.92, all paid from prepayment.
      expect(await openReceivables(store.db, customers.C1!)).toEqual([])
      expect((await customerBalances(store.db, customers.C1!)).prepayment).toBe('332.08')
      expect((await openReceivables(store.db, customers.C2!)).map((r) => r.open).sort()).toEqual([
        '15.00',
        '267.61',
        '325.36',
      ])

      const again = await preview()
      expect(again).toMatchObject({ toIssue: '0.00', held: 1 })
      expect(await approveBillRun(store.db, again.id, approver)).toEqual({
        issued: 0,
        corrections: 0,
        amount: '0.00',
      })
      await expect(approveBillRun(store.db, again.id, approver)).rejects.toMatchObject({ statusCode: 409 })
    })

    it('bills a held line once its read is approved', async () => {
      await store.db
        .updateTable('meterReads')
        .set({ status: 'approved' })
        .where('meterId', '=', meters['E-U2']!)
        .execute()
      const run = await preview()
      // 150 × 0.5283 = 79.245 → 79.25
      expect(run).toMatchObject({ held: 0, toIssue: '79.25' })
      expect(await approveBillRun(store.db, run.id, approver)).toEqual({
        issued: 1,
        corrections: 0,
        amount: '79.25',
      })
    })

    it('issues correcting lines, never edits, when an input changes after issue', async () => {
      await store.db
        .updateTable('feeStandards')
        .set({ amount: '18.00' })
        .where('id', '=', garbageStandard)
        .execute()
      const run = await preview()
      expect(run.toIssue).toBe('9.00')
      const line = await lineOf(run.id, 'U3', 'GARB')
      expect(line).toMatchObject({ amount: '18.00', issued: '15.00', difference: '3.00' })
      expect(await approveBillRun(store.db, run.id, approver)).toEqual({
        issued: 0,
        corrections: 3,
        amount: '9.00',
      })
      const u3 = await openReceivables(store.db, customers.C4!)
      expect(u3.find((r) => r.feeItemId === items.GARB)?.open).toBe('18.00')
      const corrections = await store.db
        .selectFrom('receivables')
        .select(['kind', 'amount', 'correctsId'])
        .where('kind', '=', 'correction')
        .execute()
      expect(corrections).toHaveLength(3)
      expect(corrections.every((c) => c.correctsId !== null && Number(c.amount) === 3)).toBe(true)
      const [check] = await checkLedger(store.db, [site.estateId])
      expect(check!.problems).toEqual([])
    })

    it('runs for one unit or one customer without touching the others', async () => {
      const run = await previewBillRun(store.db, {
        estateId: site.estateId,
        period: PERIOD,
        scope: 'unit',
        scopeId: units.U3!,
        userId: clerk,
      })
      const lines = await store.db
        .selectFrom('billRunLines')
        .select('unitId')
        .where('billRunId', '=', run.id)
        .execute()
      expect(new Set(lines.map((l) => l.unitId))).toEqual(new Set([units.U3]))
      // Its shared line is still its share of the whole set.
      expect((await lineOf(run.id, 'U3', 'PUBLIC'))?.amount).toBe('133.40')
      const byCustomer = await previewBillRun(store.db, {
        estateId: site.estateId,
        period: PERIOD,
        scope: 'customer',
        scopeId: customers.C2!,
        userId: clerk,
      })
      expect(byCustomer).toMatchObject({ toIssue: '0.00' })
    })

    it('measures a loss (公摊损耗) as the master minus its own sub-meters, not every meter of its kind', async () => {
      // E-COMMON becomes the master of E-U1 only; E-U2 (flagged) hangs off no master.
      await store.db
        .updateTable('meters')
        .set({ parentMeterId: meters['E-COMMON']! })
        .where('id', '=', meters['E-U1']!)
        .execute()
      const loss = (
        await store.db
          .insertInto('feeItems')
          .values({ estateId: site.estateId, code: 'LOSS', name: '公摊损耗', kind: 'shared' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      items.LOSS = loss
      const standard = await store.db
        .insertInto('feeStandards')
        .values({
          estateId: site.estateId,
          feeItemId: loss,
          name: 'LOSS',
          price: '0.50',
          shareBasis: 'area',
          shareSource: 'loss',
          shareMeterId: meters['E-COMMON']!,
          validFrom: '2020-01-01',
        } as never)
        .returning('id')
        .executeTakeFirstOrThrow()
      await store.db
        .insertInto('feeAssignments')
        .values({
          estateId: site.estateId,
          feeStandardId: standard.id,
          target: 'estate',
          validFrom: '2020-01-01',
        })
        .execute()
      const run = await preview()
      const lines = await Promise.all(['U1', 'U2', 'U3'].map((u) => lineOf(run.id, u, 'LOSS')))
      // Loss 1000 − 300 = 700 kWh × 0.50 = 350.00 by area 89.50 : 120.36 : 60.00 (269.86 m²):
      // 116.0787…, 156.1031…, 77.8181… → floors 349.98; the two fen left go to the largest
      // remainders (U1 .87, U3 .81). Counting E-U2 too would have held every line (its read is flagged).
      expect(lines.map((l) => [l?.heldReason ?? null, l?.amount])).toEqual([
        [null, '116.08'],
        [null, '156.10'],
        [null, '77.82'],
      ])
    })
  })
}
