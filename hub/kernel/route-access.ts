import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../store/database-schema.ts'
import { forbidden, forbiddenField, invalid, notFound } from './api-error.ts'
import { type ReferenceRule, visibleEstate, visibleEstateOf } from './estate-resource.ts'
import type { Permission } from './roles.ts'

/** Where in the request a value is: `params.id`, `body.estateId`, `query.nodeId`. */
export type RequestField = `params.${string}` | `body.${string}` | `query.${string}`

/** A record whose estate is not a column of its own row (a delivery belongs to its channel). */
export interface RecordLookup {
  readonly label: string
  estateOf(db: Kysely<Database>, id: string): Promise<string | undefined>
}

/** Where a route's estate comes from. */
export interface EstateSource {
  readonly from: RequestField
  /** The field holds the id of this kind of record, whose estate counts; without it, an estate id. */
  readonly record?: ReferenceRule | RecordLookup
  /** The field may be absent: the route then covers every estate the caller holds the permission in. */
  readonly optional?: true
}

/** Another id in the request: a record the caller can see (404), of the route's estate when `same` (400). */
export type Reference = ReferenceRule & { readonly same?: true }

/** What the route needs on the estate: fixed, or worked out from the request (an approval's kind). */
export type PermissionRule =
  | Permission
  | ((request: FastifyRequest, estateId: string) => Permission | Promise<Permission>)

/**
 * A route's access, declared in its options (`config: { access }`) and enforced by one hook
 * before the handler. Public routes say `config: { public: true }` instead.
 */
export type RouteAccess =
  /** Any signed-in caller: about their own account, or the handler's own policy over users. */
  | { readonly self: true }
  /** The permission granted on the whole organisation tree. */
  | { readonly global: Permission }
  /** The permission on at least one node; the handler narrows to the nodes (user administration). */
  | { readonly anywhere: Permission }
  /** The permission on an estate (default `read`: any role there); 404 for one not visible. */
  | {
      readonly estate: EstateSource
      readonly permission?: PermissionRule
      readonly references?: Readonly<
        Partial<Record<RequestField, Reference | ((request: FastifyRequest) => Reference | undefined)>>
      >
    }
  /**
   * An organisation node (group, company or estate) the caller can see, and the permission on it;
   * `optional`: absent or null, the permission is needed on the whole tree instead.
   */
  | {
      readonly node: { readonly from: RequestField; readonly optional?: true }
      readonly permission?: Permission
    }

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    /** The estate the route's declaration resolved ('' when it names none). */
    estateId: string
    /** The estates the request covers: the resolved one, or every one the caller holds the permission in. */
    estateIds: readonly string[]
    /** The organisation node a `node` declaration resolved ('' when none). */
    nodeId: string
  }
}

function valueAt(request: FastifyRequest, field: RequestField): unknown {
  const [part, name] = field.split('.', 2) as ['params' | 'body' | 'query', string]
  const holder = request[part] as Record<string, unknown> | null | undefined
  return holder?.[name]
}

const needs = (permission: Permission, what: string, field?: RequestField) => {
  const message = `your roles do not allow ${what} (needs ${permission})`
  return field
    ? forbiddenField(field, message, 'access.denied', { permission })
    : forbidden(message, 'access.denied', { permission })
}

async function estateOf(db: Kysely<Database>, request: FastifyRequest, source: EstateSource, id: string) {
  const record = source.record
  if (record === undefined) return visibleEstate(db, request.scope, id, source.from)
  if ('table' in record) return visibleEstateOf(db, request.scope, record, id, source.from)
  const estateId = await record.estateOf(db, id)
  if (!estateId || !request.scope.canSee(estateId)) throw notFound(record.label, source.from)
  return estateId
}

async function enforce(db: Kysely<Database>, request: FastifyRequest, access: RouteAccess, what: string) {
  const scope = request.scope
  if ('self' in access) return
  if ('global' in access) {
    if (!scope.globally(access.global)) throw needs(access.global, `${what} on the whole organisation`)
    return
  }
  if ('anywhere' in access) {
    const held =
      scope.globally(access.anywhere) || scope.visibleNodes().some((id) => scope.can(access.anywhere, id))
    if (!held) throw needs(access.anywhere, what)
    return
  }
  if ('node' in access) {
    const permission = access.permission
    const id = valueAt(request, access.node.from)
    if (typeof id !== 'string') {
      if (!access.node.optional) throw invalid(access.node.from, 'is required', 'field.required')
      if (permission && !scope.globally(permission))
        throw needs(permission, `${what} on the whole organisation`, access.node.from)
      return
    }
    const node = await db
      .selectFrom('orgNodes')
      .select(['id', 'kind'])
      .where('id', '=', id)
      .executeTakeFirst()
    if (!node || !scope.canSee(node.id)) throw notFound('organisation node', access.node.from)
    if (permission && !scope.can(permission, node.id))
      throw needs(permission, `${what} on this ${node.kind}`, access.node.from)
    request.nodeId = node.id
    request.estateIds = scope.estates('read')
    return
  }
  const id = valueAt(request, access.estate.from)
  if (typeof id !== 'string') {
    if (!access.estate.optional) throw invalid(access.estate.from, 'is required', 'field.required')
    // A list across estates: the handler filters its query to these.
    const rule = access.permission ?? 'read'
    request.estateIds = scope.estates(typeof rule === 'string' ? rule : 'read')
  } else {
    const estateId = await estateOf(db, request, access.estate, id)
    const rule = access.permission ?? 'read'
    const permission = typeof rule === 'string' ? rule : await rule(request, estateId)
    if (!scope.can(permission, estateId)) throw needs(permission, `${what} in this estate`)
    request.estateId = estateId
    request.estateIds = [estateId]
  }
  for (const [field, declared] of Object.entries(access.references ?? {})) {
    const reference = typeof declared === 'function' ? declared(request) : declared
    const value = valueAt(request, field as RequestField)
    if (!reference || typeof value !== 'string') continue
    const owner = await visibleEstateOf(db, scope, reference, value, field)
    if (reference.same && request.estateId && owner !== request.estateId)
      throw invalid(field, `must be a ${reference.label} of the same estate`, 'reference.otherEstate', {
        what: reference.label,
      })
  }
}

/**
 * Access declared per route (docs/api.md): every route either is public or declares what it
 * needs, and this one hook decides before any handler runs. A route declaring nothing is a
 * programming error, so it fails the app's build rather than going out unguarded.
 */
export function registerRouteAccess(app: FastifyInstance, db: Kysely<Database>) {
  app.decorateRequest('estateId', '')
  // Fastify refuses a shared array as a decoration's default; the hook sets it on every request.
  app.decorateRequest('estateIds', null as unknown as readonly string[])
  app.decorateRequest('nodeId', '')
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config as { public?: boolean; access?: RouteAccess } | undefined
    if (config?.public || config?.access) return
    throw new Error(
      `${route.method} ${route.url} declares no access: add config.access (hub/kernel/route-access.ts) or config.public`,
    )
  })
  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config?.access
    if (request.routeOptions.config?.public || !access) return
    await enforce(db, request, access, `${request.method} ${request.routeOptions.url}`)
  })
}
