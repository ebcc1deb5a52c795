import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { invalid } from '../kernel/api-error.ts'
import { containsPattern } from '../kernel/like-pattern.ts'
import {
  Code,
  errorReplies,
  Id,
  IdParams,
  Name,
  Nullable,
  OneOf,
  Page,
  PageQuery,
  Timestamp,
} from '../kernel/schema-parts.ts'
import type { Database, OrgNodeKind } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'
import { orgNodeKinds as kinds } from './org-vocabulary.ts'

const parentKind: Record<OrgNodeKind, OrgNodeKind | null> = {
  group: null,
  company: 'group',
  estate: 'company',
}

const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA zone of an estate, e.g. Asia/Shanghai',
})
const OrgNode = Type.Object(
  {
    id: Id,
    kind: OneOf(kinds),
    parentId: Nullable(Id),
    code: Code,
    name: Name,
    timezone: Nullable(Type.String()),
    address: Nullable(Type.String()),
    lateFeeAccrualTime: Type.String({
      description: 'an estate’s local time (HH:MM) of the daily late-fee accrual; default 02:00',
    }),
    fourEyesBillRuns: Nullable(
      Type.Boolean({
        description:
          'whether the person who prepared a bill run is refused its approval; null: as the parent node (on at the top)',
      }),
    ),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'OrgNode' },
)
const editable = {
  name: Name,
  timezone: Type.Optional(Nullable(TimeZone)),
  address: Type.Optional(Nullable(Type.String({ maxLength: 300 }))),
  lateFeeAccrualTime: Type.Optional(
    Type.String({
      pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
      description: 'estates only: HH:MM, local time',
    }),
  ),
  fourEyesBillRuns: Type.Optional(
    Nullable(Type.Boolean({ description: 'true or false for this node and below; null: as the parent' })),
  ),
}

/** An estate's settings given for a group or company: refused, as the time zone is. */
function refuseEstateSettings(kind: OrgNodeKind, body: { lateFeeAccrualTime?: string }) {
  if (kind !== 'estate' && body.lateFeeAccrualTime !== undefined)
    throw invalid('body.lateFeeAccrualTime', 'only an estate accrues late fees', 'org.estateOnly', {
      setting: 'lateFeeAccrualTime',
    })
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * The organisation tree: group (集团) → company (公司) → estate (管理处/项目). Creating a node
 * needs `org.write` on its parent (a group: a grant on the whole tree).
 */
export function registerOrgRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const security = [{ bearerAuth: [] }]
  const tags = ['organisation']

  // The route's access declaration has found the node visible (404 otherwise).
  const load = (id: string) =>
    db.selectFrom('orgNodes').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

  app.get(
    '/api/v1/org-nodes',
    {
      config: { access: { node: { from: 'query.parentId', optional: true } } },
      schema: {
        tags,
        summary: 'List the organisation nodes you may see',
        security,
        querystring: Type.Object(
          {
            ...PageQuery,
            kind: Type.Optional(OneOf(kinds)),
            parentId: Type.Optional(Id),
            q: Type.Optional(Type.String({ minLength: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(OrgNode), ...errorReplies },
      },
    },
    async (request) => {
      const {
        limit = 50,
        offset = 0,
        kind,
        parentId,
        q,
      } = request.query as {
        limit?: number
        offset?: number
        kind?: OrgNodeKind
        parentId?: string
        q?: string
      }
      // A list: filtered to the nodes the caller may see.
      const ids = request.scope.visibleNodes()
      if (ids.length === 0) return { items: [], total: 0, limit, offset }
      let select = db.selectFrom('orgNodes').where('id', '=', anyUuid(ids))
      if (kind) select = select.where('kind', '=', kind)
      if (parentId) select = select.where('parentId', '=', parentId)
      if (q)
        select = select.where((eb) =>
          eb.or([eb('code', 'ilike', containsPattern(q)), eb('name', 'ilike', containsPattern(q))]),
        )
      const [items, count] = await Promise.all([
        select.selectAll().orderBy('kind').orderBy('code').limit(limit).offset(offset).execute(),
        select.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      ])
      return { items, total: Number(count.total), limit, offset }
    },
  )

  app.get(
    '/api/v1/org-nodes/:id',
    {
      config: { access: { node: { from: 'params.id' } } },
      schema: {
        tags,
        summary: 'Read one organisation node',
        security,
        params: IdParams,
        response: { 200: OrgNode, ...errorReplies },
      },
    },
    async (request) => load(request.nodeId),
  )

  app.post(
    '/api/v1/org-nodes',
    {
      config: { access: { node: { from: 'body.parentId', optional: true }, permission: 'org.write' } },
      schema: {
        tags,
        summary: 'Create a group, company or estate',
        security,
        body: Type.Object(
          { kind: OneOf(kinds), parentId: Type.Optional(Nullable(Id)), code: Code, ...editable },
          { additionalProperties: false },
        ),
        response: { 201: OrgNode, ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        kind: OrgNodeKind
        parentId?: string | null
        code: string
        name: string
        timezone?: string | null
        address?: string | null
        lateFeeAccrualTime?: string
        fourEyesBillRuns?: boolean | null
      }
      const wantedParent = parentKind[body.kind]
      // Access first (declared: org.write on the parent, or on the whole tree without one),
      // shape second: a caller learns nothing about nodes they cannot see.
      const parent = body.parentId ? await load(body.parentId) : undefined
      if (wantedParent === null) {
        if (parent) throw invalid('body.parentId', 'a group has no parent', 'org.groupHasNoParent')
      } else {
        if (!parent)
          throw invalid(
            'body.parentId',
            `a ${body.kind} needs a parent ${wantedParent}`,
            'org.parentRequired',
            {
              kind: body.kind,
              parentKind: wantedParent,
            },
          )
        if (parent.kind !== wantedParent)
          throw invalid(
            'body.parentId',
            `the parent of a ${body.kind} must be a ${wantedParent}, not a ${parent.kind}`,
            'org.parentKind',
            { kind: body.kind, parentKind: wantedParent, got: parent.kind },
          )
      }
      if (body.timezone && !validTimeZone(body.timezone))
        throw invalid('body.timezone', `unknown time zone ${body.timezone}`, 'timezone.unknown', {
          timezone: body.timezone,
        })
      if (body.kind !== 'estate' && body.timezone)
        throw invalid('body.timezone', 'only an estate has a time zone', 'org.timezoneOnlyEstate')
      refuseEstateSettings(body.kind, body)
      const node = await db
        .insertInto('orgNodes')
        .values({
          kind: body.kind,
          parentId: body.parentId ?? null,
          code: body.code,
          name: body.name,
          timezone: body.kind === 'estate' ? (body.timezone ?? 'Asia/Shanghai') : null,
          address: body.address ?? null,
          ...(body.lateFeeAccrualTime ? { lateFeeAccrualTime: body.lateFeeAccrualTime } : {}),
          fourEyesBillRuns: body.fourEyesBillRuns ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return reply.status(201).send(node)
    },
  )

  app.patch(
    '/api/v1/org-nodes/:id',
    {
      config: { access: { node: { from: 'params.id' }, permission: 'org.write' } },
      schema: {
        tags,
        summary:
          'Rename an organisation node or change its time zone, address, late-fee accrual time (estates) or four-eyes rule for bill runs',
        security,
        params: IdParams,
        body: Type.Partial(Type.Object(editable), { additionalProperties: false, minProperties: 1 }),
        response: { 200: OrgNode, ...errorReplies },
      },
    },
    async (request) => {
      const node = await load(request.nodeId)
      const body = request.body as {
        name?: string
        timezone?: string | null
        address?: string | null
        lateFeeAccrualTime?: string
        fourEyesBillRuns?: boolean | null
      }
      refuseEstateSettings(node.kind, body)
      if (body.timezone !== undefined) {
        if (node.kind !== 'estate')
          throw invalid('body.timezone', 'only an estate has a time zone', 'org.timezoneOnlyEstate')
        if (body.timezone === null)
          throw invalid(
            'body.timezone',
            'an estate needs a time zone (its cut-off is local time)',
            'org.timezoneRequired',
          )
        if (!validTimeZone(body.timezone))
          throw invalid('body.timezone', `unknown time zone ${body.timezone}`, 'timezone.unknown', {
            timezone: body.timezone,
          })
      }
      return db
        .updateTable('orgNodes')
        .set({ ...body, updatedAt: new Date() })
        .where('id', '=', node.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    },
  )
}
