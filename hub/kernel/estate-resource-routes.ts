import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { Type } from 'typebox'
import type { Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import { notFound } from './api-error.ts'
import {
  checkReferences,
  type EstateResource,
  loose,
  normaliseDecimals,
  type Row,
} from './estate-resource.ts'
import { containsPattern } from './like-pattern.ts'
import type { RequestField, RouteAccess } from './route-access.ts'
import { errorReplies, Id, IdParams, Page, PageQuery } from './schema-parts.ts'

/**
 * Registers list / read / create / update for one estate-scoped resource. Access is declared
 * here once for all of them: rows outside the caller's estates are invisible (404), changes
 * need the resource's write permission on the record's estate (403).
 */
export function registerEstateResource(app: FastifyInstance, db: Kysely<Database>, resource: EstateResource) {
  const base = `/api/v1/${resource.path}`
  const present = (row: Row) => (resource.present ? resource.present(row) : row)
  const security = [{ bearerAuth: [] }]
  const record = { table: resource.table, label: resource.label }
  const filterReferences = Object.fromEntries(
    Object.entries(resource.references).map(([field, rule]) => [`query.${field}`, rule]),
  ) as Record<RequestField, (typeof resource.references)[string]>
  const listAccess: RouteAccess = {
    estate: { from: 'query.estateId', optional: true },
    references: filterReferences,
  }
  const readAccess: RouteAccess = { estate: { from: 'params.id', record } }
  const from = resource.estateFrom
  const createAccess: RouteAccess = {
    estate:
      from === 'estateId'
        ? { from: 'body.estateId' }
        : { from: `body.${from}`, record: resource.references[from]! },
    permission: resource.writePermission,
  }
  const updateAccess: RouteAccess = {
    estate: { from: 'params.id', record },
    permission: resource.writePermission,
  }

  const load = async (id: string): Promise<Row> => {
    const row = (await loose(db)
      .selectFrom(resource.table)
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()) as Row | undefined
    if (!row) throw notFound(resource.label)
    return row
  }

  app.get(
    base,
    {
      config: { access: listAccess },
      schema: {
        tags: [resource.tag],
        summary: `List ${resource.label}s you may see`,
        security,
        querystring: Type.Object(
          {
            ...PageQuery,
            ...(resource.search.length === 0
              ? {}
              : {
                  q: Type.Optional(
                    Type.String({
                      minLength: 1,
                      maxLength: 100,
                      description: `search ${resource.search.join(', ')}`,
                    }),
                  ),
                }),
            estateId: Type.Optional(Id),
            ...Object.fromEntries(Object.entries(resource.filters).map(([k, s]) => [k, Type.Optional(s)])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(resource.record), ...errorReplies },
      },
    },
    async (request) => {
      const query = request.query as Record<string, unknown> & { limit?: number; offset?: number; q?: string }
      const limit = query.limit ?? 50
      const offset = query.offset ?? 0
      const estates = request.estateIds
      if (estates.length === 0) return { items: [], total: 0, limit, offset }
      let select = loose(db).selectFrom(resource.table).where('estateId', '=', anyUuid(estates))
      for (const field of Object.keys(resource.filters)) {
        if (query[field] !== undefined) select = select.where(field, '=', query[field])
      }
      if (query.q && resource.search.length > 0) {
        const pattern = containsPattern(query.q)
        select = select.where((eb) => eb.or(resource.search.map((column) => eb(column, 'ilike', pattern))))
      }
      const [items, count] = await Promise.all([
        select.selectAll().orderBy(resource.orderBy).orderBy('id').limit(limit).offset(offset).execute(),
        select.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow(),
      ])
      return { items: items.map((r) => present(r as Row)), total: Number(count.total), limit, offset }
    },
  )

  app.get(
    `${base}/:id`,
    {
      config: { access: readAccess },
      schema: {
        tags: [resource.tag],
        summary: `Read one ${resource.label}`,
        security,
        params: IdParams,
        response: { 200: resource.record, ...errorReplies },
      },
    },
    async (request) => {
      return present(await load((request.params as { id: string }).id))
    },
  )

  if (!resource.without?.includes('create')) {
    app.post(
      base,
      {
        config: { access: createAccess },
        schema: {
          tags: [resource.tag],
          summary: `Create a ${resource.label}`,
          security,
          body: resource.create,
          response: { 201: resource.record, ...errorReplies },
        },
      },
      async (request, reply) => {
        const body = normaliseDecimals(resource, request.body as Record<string, unknown>)
        const estateId = request.estateId
        const values = { ...body, estateId }
        const row = await db.transaction().execute(async (trx) => {
          await checkReferences(trx, request.scope, resource, values, estateId, 'body')
          await resource.check?.({
            db: trx,
            scope: request.scope,
            estateId,
            existing: undefined,
            next: values,
          })
          return loose(trx).insertInto(resource.table).values(values).returningAll().executeTakeFirstOrThrow()
        })
        return reply.status(201).send(present(row as Row))
      },
    )
  }

  if (!resource.without?.includes('update')) {
    app.patch(
      `${base}/:id`,
      {
        config: { access: updateAccess },
        schema: {
          tags: [resource.tag],
          summary: `Change a ${resource.label}`,
          security,
          params: IdParams,
          body: resource.update,
          response: { 200: resource.record, ...errorReplies },
        },
      },
      async (request) => {
        const id = (request.params as { id: string }).id
        const body = normaliseDecimals(resource, request.body as Record<string, unknown>)
        const row = await db.transaction().execute(async (trx) => {
          const existing = (await loose(trx)
            .selectFrom(resource.table)
            .selectAll()
            .where('id', '=', id)
            .forUpdate()
            .executeTakeFirst()) as Row | undefined
          if (!existing) throw notFound(resource.label)
          await checkReferences(trx, request.scope, resource, body, existing.estateId, 'body')
          const next = { ...existing, ...body }
          await resource.check?.({
            db: trx,
            scope: request.scope,
            estateId: existing.estateId,
            existing,
            next,
          })
          return loose(trx)
            .updateTable(resource.table)
            .set({ ...body, updatedAt: new Date() })
            .where('id', '=', id)
            .returningAll()
            .executeTakeFirstOrThrow()
        })
        return present(row as Row)
      },
    )
  }
  return { load }
}
