import type { Kysely } from 'kysely'
import type { AccessScope } from '../kernel/access-scope.ts'
import { ApiError, detail, type ErrorDetail, ruleRef } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import type { Permission } from '../kernel/roles.ts'
import { meterResource } from '../metering/meter-resource.ts'
import { buildingResource } from '../property/building-resource.ts'
import { customerResource } from '../property/customer-resource.ts'
import { unitResource } from '../property/unit-resource.ts'
import type { Database } from '../store/database-schema.ts'
import { type ImportKind, importColumns, type MappedColumn, mapColumns } from './import-columns.ts'
import { parseRow } from './import-row.ts'
import { readSheet, type SheetFormat } from './read-sheet.ts'
import { type RowFailure, RowImporter } from './row-importer.ts'

export interface ImportRequest {
  readonly scope: AccessScope
  /** Already authorised by the route's access declaration. */
  readonly estateId: string
  readonly kind: ImportKind
  readonly data: Buffer
  readonly format: SheetFormat
  /** Validate and try every insert, then roll back even when the file is clean. */
  readonly dryRun: boolean
}

export interface ImportResult {
  readonly kind: ImportKind
  /** Data rows in the file (empty rows not counted). */
  readonly rows: number
  /** Records created: one per row, or 0 on a dry run. */
  readonly created: number
  readonly dryRun: boolean
}

export const importResources: Readonly<Record<ImportKind, EstateResource>> = {
  buildings: buildingResource,
  units: unitResource,
  customers: customerResource,
  meters: meterResource,
}

/** Thrown inside the transaction to end a clean dry run in a rollback. */
class DryRunRollback extends Error {}

/** Today in the estate's time zone: the default start of an imported occupancy. */
async function estateToday(db: Kysely<Database>, estateId: string): Promise<string> {
  const node = await db
    .selectFrom('orgNodes')
    .select('timezone')
    .where('id', '=', estateId)
    .executeTakeFirst()
  const format = (timeZone?: string) =>
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
      new Date(),
    )
  try {
    return format(node?.timezone ?? undefined)
  } catch {
    return format()
  }
}

function rejection(
  failures: readonly RowFailure[],
  rows: number,
  columns: readonly MappedColumn[],
): ApiError {
  const headerOf = new Map(columns.map((c) => [c.column.key, c.header]))
  const order = new Map(columns.map((c, index) => [c.column.key, index]))
  const sorted = [...failures].sort(
    (a, b) => a.row - b.row || (order.get(a.key) ?? columns.length) - (order.get(b.key) ?? columns.length),
  )
  const details: ErrorDetail[] = sorted.map((f) => {
    const column = headerOf.get(f.key)
    const { rule, params, message, row } = f
    return { field: `row ${row}: ${f.key}`, rule, params, message, row, ...(column ? { column } : {}) }
  })
  const bad = new Set(failures.map((f) => f.row)).size
  return new ApiError(
    'EH_ERR_IMPORT_REJECTED',
    `${bad} of ${rows} rows have errors; nothing was imported`,
    details,
    ruleRef('import.rowsRejected', { bad, rows }),
  )
}

/** What importing this kind needs in the estate: creating its records. */
export const importPermission = (kind: ImportKind): Permission => importResources[kind].writePermission

/**
 * Imports one kind of record from a clerk's spreadsheet, all or nothing: every row goes
 * through the same schema, decimal and domain checks as the API's create route, inside one
 * transaction that is rolled back when any row fails (or on a dry run).
 */
export async function importSpreadsheet(db: Kysely<Database>, request: ImportRequest): Promise<ImportResult> {
  const resource = importResources[request.kind]
  const estateId = request.estateId

  const sheet = await readSheet(request.data, request.format)
  const columns = mapColumns(request.kind, sheet.headers)
  if (sheet.rows.length === 0) {
    throw new ApiError('EH_ERR_IMPORT_REJECTED', 'the file has headers but no data rows', [
      detail('file', 'no data rows', 'import.noRows'),
    ])
  }
  const parsed = sheet.rows.map((row) => parseRow(row, columns))
  const today = await estateToday(db, estateId)

  try {
    await db.transaction().execute(async (trx) => {
      const importer = new RowImporter({
        trx,
        scope: request.scope,
        estateId,
        resource,
        columns: importColumns[request.kind],
        today,
      })
      const failures = await importer.importAll(parsed)
      if (failures.length > 0) throw rejection(failures, sheet.rows.length, columns)
      if (request.dryRun) throw new DryRunRollback()
    })
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error
  }
  return {
    kind: request.kind,
    rows: sheet.rows.length,
    created: request.dryRun ? 0 : sheet.rows.length,
    dryRun: request.dryRun,
  }
}
