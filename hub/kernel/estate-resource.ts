import type { Kysely, Transaction } from 'kysely'
import type { TObject, TSchema } from 'typebox'
import type { Database } from '../store/database-schema.ts'
import type { AccessScope } from './access-scope.ts'
import { ApiError, detail, invalid, notFound } from './api-error.ts'
import type { Permission } from './roles.ts'

/**
 * Tables whose every row belongs to one estate (an `estate_id` column), derived from the
 * tables' types so a new domain's table joins by having the column.
 */
export type EstateTable = {
  [K in keyof Database]: Database[K] extends { estateId: unknown } ? K : never
}[keyof Database]

export type Row = Record<string, unknown> & { id: string; estateId: string }

// Kysely's types cannot follow a table name chosen at run time; the generic resource code
// works on this loose view, and each resource's TypeBox schemas give the real shape.
export type LooseDb = Kysely<Record<string, Record<string, unknown>>>
export const loose = (db: Kysely<Database> | Transaction<Database>) => db as unknown as LooseDb

export interface WriteContext {
  readonly db: Transaction<Database>
  readonly scope: AccessScope
  readonly estateId: string
  /** The stored record, on update. */
  readonly existing: Row | undefined
  /** The record as it will be after the write (existing merged with the body). */
  readonly next: Record<string, unknown>
}

export interface ReferenceRule {
  readonly table: EstateTable
  readonly label: string
}

export interface EstateResource {
  /** URL segment under /api/v1, e.g. 'units'. */
  readonly path: string
  readonly table: EstateTable
  /** Singular noun for messages: 'unit'. */
  readonly label: string
  readonly tag: string
  readonly writePermission: Permission
  readonly record: TObject
  readonly create: TObject
  readonly update: TObject
  /** Query filters matched for equality against the column of the same name. */
  readonly filters: Record<string, TSchema>
  /** Columns the `q` parameter searches (case-insensitive substring). */
  readonly search: readonly string[]
  readonly orderBy: string
  /** Body and filter fields that hold the id of another record of the same estate. */
  readonly references: Record<string, ReferenceRule>
  /** Where a new record's estate comes from: `estateId` in the body, or a referenced record. */
  readonly estateFrom: string
  /** Decimal fields and their allowed fractional digits. */
  readonly decimals?: Record<string, number>
  /** Decimal fields that may be negative (all others may not). */
  readonly signedDecimals?: readonly string[]
  /** Generic routes this resource does not offer (it has its own). */
  readonly without?: readonly ('create' | 'update')[]
  /** Domain rules the schema cannot say; throw an ApiError naming the field. */
  check?(context: WriteContext): Promise<void>
  /** What the API shows of a stored row (default: the row). */
  present?(row: Row): Record<string, unknown>
}

/** Converts an accepted decimal (number or string) to the exact string stored. */
export function decimalString(value: unknown, scale: number, field: string, signed = false): string {
  // String(1e21) is '1e+21' and String(0.1 + 0.2) has 17 places: both fail the pattern.
  const text = String(value)
  if (!new RegExp(`^${signed ? '-?' : ''}\\d{1,14}(\\.\\d{1,${scale}})?$`).test(text)) {
    const what = signed ? 'a decimal' : 'a non-negative decimal'
    throw invalid(
      field,
      `must be ${what} with at most ${scale} decimal places, got ${JSON.stringify(value)}`,
      'decimal.places',
      { max: scale, got: JSON.stringify(value) ?? String(value) },
    )
  }
  return text
}

export function normaliseDecimals(
  resource: EstateResource,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...body }
  for (const [field, scale] of Object.entries(resource.decimals ?? {})) {
    if (out[field] !== undefined && out[field] !== null)
      out[field] = decimalString(out[field], scale, `body.${field}`, resource.signedDecimals?.includes(field))
  }
  return out
}

/** The estate an id refers to, if the caller may see it; 404 otherwise (existence is not leaked). */
export async function visibleEstateOf(
  db: Kysely<Database> | Transaction<Database>,
  scope: AccessScope,
  rule: ReferenceRule,
  id: string,
  field: string,
): Promise<string> {
  const row = await loose(db)
    .selectFrom(rule.table)
    .select('estateId')
    .where('id', '=', id)
    .executeTakeFirst()
  const estateId = row?.estateId as string | undefined
  if (!estateId || !scope.canSee(estateId)) throw notFound(rule.label, field)
  return estateId
}

/** An estate id given by the caller: must be an estate they can see. */
export async function visibleEstate(
  db: Kysely<Database> | Transaction<Database>,
  scope: AccessScope,
  estateId: string,
  field: string,
): Promise<string> {
  const node = await db
    .selectFrom('orgNodes')
    .select(['id', 'kind'])
    .where('id', '=', estateId)
    .executeTakeFirst()
  if (!node || !scope.canSee(node.id)) throw notFound('estate', field)
  if (node.kind !== 'estate')
    throw invalid(field, `must be an estate, not a ${node.kind}`, 'estate.notEstate', { kind: node.kind })
  return node.id
}

/** Every reference in `values` must point at a visible record of `estateId`. */
export async function checkReferences(
  db: Kysely<Database> | Transaction<Database>,
  scope: AccessScope,
  resource: EstateResource,
  values: Record<string, unknown>,
  estateId: string,
  context: 'body' | 'query',
) {
  for (const [field, rule] of Object.entries(resource.references)) {
    const id = values[field]
    if (typeof id !== 'string') continue
    const refEstate = await visibleEstateOf(db, scope, rule, id, `${context}.${field}`)
    if (refEstate !== estateId) {
      throw new ApiError(
        'EH_ERR_VALIDATION',
        `${context}.${field}: the ${rule.label} belongs to another estate`,
        [
          detail(
            `${context}.${field}`,
            `must be a ${rule.label} of the same estate`,
            'reference.otherEstate',
            {
              what: rule.label,
            },
          ),
        ],
      )
    }
  }
}
