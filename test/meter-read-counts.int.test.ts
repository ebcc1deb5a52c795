import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrgChain } from '../hub/org/org-chain.ts'
import type { MeterReadStatus } from '../hub/store/database-schema.ts'
import { jsonb } from '../hub/store/jsonb.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * The meter-read page's tab counts in one request (GET /api/v1/meter-reads/counts): for a
 * period, in all and per status, the same numbers the list gives as its total under each
 * status filter, with and without a building. Records are planted directly so every status
 * is present: two buildings and a common-area meter in October, the same meters approved in
 * September, and another estate's October reads that must not count.
 */
const statuses: readonly MeterReadStatus[] = ['auto', 'flagged', 'estimated', 'overridden', 'approved']
const PERIOD = '2025-10'

for (const backend of storeBackends()) {
  describe(`meter-read counts (${backend.name})`, () => {
    let hub: TestHub
    let admin: string
    let viewer: string
    let outsider: string
    let estateId: string
    let otherEstateId: string
    const buildings: Record<'b1' | 'b2', string> = {} as never

    /** A meter (in `buildingId`, or common-area when null) and its read for each period given. */
    const plant = async (
      estate: string,
      code: string,
      buildingId: string | null,
      reads: Record<string, MeterReadStatus>,
    ) => {
      const db = hub.store.db
      const meter = await db
        .insertInto('meters')
        .values({ estateId: estate, code, kind: 'water', buildingId })
        .returning('id')
        .executeTakeFirstOrThrow()
      for (const [period, status] of Object.entries(reads)) {
        const [y, m] = period.split('-').map(Number) as [number, number]
        await db
          .insertInto('meterReads')
          .values({
            estateId: estate,
            meterId: meter.id,
            period,
            periodStart: new Date(Date.UTC(y, m - 1, 1)),
            cutoffAt: new Date(Date.UTC(y, m, 1)),
            previousReading: null,
            previousAt: null,
            previousSource: null,
            currentReading: null,
            currentAt: null,
            method: 'missing',
            multiplier: '1',
            consumption: null,
            rollover: false,
            replacements: 0,
            truesUp: false,
            flags: jsonb([]),
            status,
            approvedBy: null,
            approvedAt: null,
          })
          .execute()
      }
    }

    const get = (token: string, url: string) => hub.call(token, { method: 'GET', url })
    const countsOf = async (buildingId?: string) => {
      const answer = await get(
        admin,
        `/api/v1/meter-reads/counts?estateId=${estateId}&period=${PERIOD}${buildingId ? `&buildingId=${buildingId}` : ''}`,
      )
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      return answer.body as Record<'all' | MeterReadStatus, number>
    }
    const listTotal = async (status?: MeterReadStatus, buildingId?: string) => {
      const query = new URLSearchParams({ estateId, period: PERIOD, limit: '1' })
      if (status) query.set('status', status)
      if (buildingId) query.set('buildingId', buildingId)
      const answer = await get(admin, `/api/v1/meter-reads?${query}`)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      return answer.body.total as number
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const db = hub.store.db
      estateId = (
        await createOrgChain(db, { group: { code: 'G' }, company: { code: 'K' }, estate: { code: 'X' } })
      ).estateId
      otherEstateId = (
        await createOrgChain(db, { group: { code: 'G2' }, company: { code: 'K2' }, estate: { code: 'Y' } })
      ).estateId
      for (const key of ['b1', 'b2'] as const)
        buildings[key] = (
          await db
            .insertInto('buildings')
            .values({ estateId, code: key.toUpperCase(), name: key, floorsAbove: 6, floorsBelow: 0 })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      const october: [string, 'b1' | 'b2' | null, MeterReadStatus][] = [
        ['W-1', 'b1', 'auto'],
        ['W-2', 'b1', 'auto'],
        ['W-3', 'b1', 'auto'],
        ['W-4', 'b1', 'flagged'],
        ['W-5', 'b1', 'flagged'],
        ['W-6', 'b1', 'approved'],
        ['W-7', 'b2', 'estimated'],
        ['W-8', 'b2', 'overridden'],
        ['W-9', 'b2', 'overridden'],
        ['W-10', 'b2', 'auto'],
        ['W-COMMON', null, 'flagged'],
      ]
      for (const [code, building, status] of october)
        await plant(estateId, code, building ? buildings[building] : null, {
          '2025-09': 'approved',
          [PERIOD]: status,
        })
      await plant(otherEstateId, 'W-1', null, { [PERIOD]: 'auto' })
      await plant(otherEstateId, 'W-2', null, { [PERIOD]: 'flagged' })
      admin = await hub.userWithGrants('admin', [{ role: 'admin', nodeId: null }])
      viewer = await hub.userWithGrants('viewer-x', [{ role: 'viewer', nodeId: estateId }])
      outsider = await hub.userWithGrants('clerk-y', [{ role: 'finance', nodeId: otherEstateId }])
    })
    afterAll(() => hub?.close())

    it("counts the period's records in all and per status, in this estate only", async () => {
      expect(await countsOf()).toEqual({
        all: 11,
        auto: 4,
        flagged: 3,
        estimated: 1,
        overridden: 2,
        approved: 1,
      })
      expect(await countsOf(buildings.b1)).toEqual({
        all: 6,
        auto: 3,
        flagged: 2,
        estimated: 0,
        overridden: 0,
        approved: 1,
      })
    })

    it("equals the list's total under each status filter, with and without a building", async () => {
      for (const buildingId of [undefined, buildings.b1, buildings.b2]) {
        const counts = await countsOf(buildingId)
        expect(counts.all, `all ${buildingId ?? 'estate'}`).toBe(await listTotal(undefined, buildingId))
        for (const status of statuses)
          expect(counts[status], `${status} ${buildingId ?? 'estate'}`).toBe(
            await listTotal(status, buildingId),
          )
      }
    })

    it('answers zeros for a period without records', async () => {
      const answer = await get(admin, `/api/v1/meter-reads/counts?estateId=${estateId}&period=2024-01`)
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ all: 0, auto: 0, flagged: 0, estimated: 0, overridden: 0, approved: 0 })
    })

    it('follows the list: any role of the estate reads it; another estate is not found', async () => {
      const query = `estateId=${estateId}&period=${PERIOD}`
      const seen = await get(viewer, `/api/v1/meter-reads/counts?${query}`)
      expect(seen.status).toBe(200)
      expect(seen.body.all).toBe(11)
      for (const url of [`/api/v1/meter-reads/counts?${query}`, `/api/v1/meter-reads?${query}`]) {
        const hidden = await get(outsider, url)
        expect(hidden.status, url).toBe(404)
        expect(hidden.body.details).toEqual([
          {
            field: 'query.estateId',
            rule: 'record.notFound',
            params: expect.any(Object),
            message: expect.any(String),
          },
        ])
      }
    })

    it('names the query field that is wrong', async () => {
      const cases: [string, string][] = [
        [`estateId=${estateId}`, 'query.period'],
        [`estateId=${estateId}&period=2025-13`, 'query.period'],
        [`period=${PERIOD}`, 'query.estateId'],
        [`estateId=${estateId}&period=${PERIOD}&buildingId=B1`, 'query.buildingId'],
        [`estateId=${estateId}&period=${PERIOD}&status=auto`, 'query.status'],
      ]
      for (const [query, field] of cases) {
        const answer = await get(admin, `/api/v1/meter-reads/counts?${query}`)
        expect(answer.status, query).toBe(400)
        expect(answer.body.error).toBe('EH_ERR_VALIDATION')
        expect(answer.body.details.map((d: { field: string }) => d.field)).toContain(field)
      }
    })
  })
}
