import type { FastifyInstance } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import { Decimal } from '../kernel/decimal.ts'
import { DecimalOut, errorReplies, Id, Nullable, OneOf } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { meterKinds as kinds } from './metering-vocabulary.ts'

const Period = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' })
const strict = { additionalProperties: false } as const

/** Consumption per unit, building or meter and month, and the loss behind master meters. */
export function registerMeterUsageRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.get(
    '/api/v1/meter-reads/consumption',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags: ['meter reads'],
        summary: 'Consumption per unit, building or meter and month, from the meter-read records',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object(
          {
            estateId: Id,
            from: Period,
            to: Period,
            groupBy: OneOf(['unit', 'building', 'meter'] as const),
            kind: Type.Optional(OneOf(kinds)),
            approvedOnly: Type.Optional(Type.Boolean({ default: false })),
          },
          strict,
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                period: Type.String(),
                groupId: Nullable(Id),
                groupCode: Nullable(Type.String()),
                kind: Type.String(),
                consumption: DecimalOut,
                reads: Type.Integer(),
                /** Records counted that are not approved yet, or have no consumption. */
                pending: Type.Integer(),
              }),
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        estateId: string
        from: string
        to: string
        groupBy: 'unit' | 'building' | 'meter'
        kind?: string
        approvedOnly?: boolean
      }
      const estateId = request.estateId
      if (q.from > q.to)
        throw invalid('query.from', `must not be after query.to (${q.to})`, 'range.fromAfterTo', {
          to: String(q.to),
        })
      const group = {
        unit: { id: sql.ref('m.unit_id'), code: sql.ref('u.code') },
        building: { id: sql.ref('m.building_id'), code: sql.ref('b.code') },
        meter: { id: sql.ref('m.id'), code: sql.ref('m.code') },
      }[q.groupBy]
      const rows = await sql<{
        period: string
        groupId: string | null
        groupCode: string | null
        kind: string
        consumption: string
        reads: number
        pending: number
      }>`
        select r.period, ${group.id} as group_id, ${group.code} as group_code, m.kind,
          coalesce(sum(r.consumption), 0)::text as consumption, count(*)::int as reads,
          count(*) filter (where r.status <> 'approved' or r.consumption is null)::int as pending
        from meter_reads r
        join meters m on m.id = r.meter_id
        left join units u on u.id = m.unit_id
        left join buildings b on b.id = m.building_id
        where r.estate_id = ${estateId} and r.period between ${q.from} and ${q.to}
          and (${q.kind ?? null}::text is null or m.kind = ${q.kind ?? null})
          and (not ${q.approvedOnly ?? false} or r.status = 'approved')
          and m.billing
        group by r.period, ${group.id}, ${group.code}, m.kind
        order by r.period, ${group.code}, m.kind`.execute(db)
      return {
        items: rows.rows.map((r) => ({ ...r, consumption: Decimal.of(r.consumption).toString() })),
      }
    },
  )

  app.get(
    '/api/v1/meter-reads/loss',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags: ['meter reads'],
        summary: 'Loss between each master meter and its sub-meters for a period (线损/水损)',
        security: [{ bearerAuth: [] }],
        querystring: Type.Object({ estateId: Id, period: Period }, strict),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                masterMeterId: Id,
                masterCode: Type.String(),
                kind: Type.String(),
                master: Nullable(DecimalOut),
                subs: DecimalOut,
                subMeters: Type.Integer(),
                subMetersWithoutConsumption: Type.Integer(),
                loss: Nullable(DecimalOut),
                lossPercent: Nullable(DecimalOut),
              }),
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async (request) => {
      const q = request.query as { estateId: string; period: string }
      const estateId = request.estateId
      const rows = await sql<{
        masterMeterId: string
        masterCode: string
        kind: string
        master: string | null
        subs: string
        subMeters: number
        missing: number
      }>`
        select pm.id as master_meter_id, pm.code as master_code, pm.kind, pr.consumption::text as master,
          coalesce(sum(sr.consumption), 0)::text as subs, count(sm.id)::int as sub_meters,
          count(sm.id) filter (where sr.consumption is null)::int as missing
        from meters pm
        join meters sm on sm.parent_meter_id = pm.id and sm.status = 'active'
        left join meter_reads pr on pr.meter_id = pm.id and pr.period = ${q.period}
        left join meter_reads sr on sr.meter_id = sm.id and sr.period = ${q.period}
        where pm.estate_id = ${estateId}
        group by pm.id, pm.code, pm.kind, pr.consumption
        order by pm.code`.execute(db)
      return {
        items: rows.rows.map((r) => {
          const master = r.master === null ? null : Decimal.of(r.master)
          const subs = Decimal.of(r.subs)
          // A loss is only meaningful when every meter of the set has its consumption.
          const complete = master !== null && r.missing === 0
          const loss = complete ? master.minus(subs) : null
          return {
            masterMeterId: r.masterMeterId,
            masterCode: r.masterCode,
            kind: r.kind,
            master: master?.toString() ?? null,
            subs: subs.toString(),
            subMeters: r.subMeters,
            subMetersWithoutConsumption: r.missing,
            loss: loss?.toString() ?? null,
            lossPercent:
              loss !== null && master !== null && !master.isZero()
                ? loss.times(100).div(master, 2, 'half-up').toString()
                : null,
          }
        }),
      }
    },
  )
}
