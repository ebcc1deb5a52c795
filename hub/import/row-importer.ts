import { sql, type Transaction } from 'kysely'
import type { AccessScope } from '../kernel/access-scope.ts'
import { ApiError, type RuleRef, ruleRef } from '../kernel/api-error.ts'
import { fromDatabaseError } from '../kernel/database-error.ts'
import { type EstateResource, loose, normaliseDecimals } from '../kernel/estate-resource.ts'
import { occupancyResource } from '../property/occupancy-resource.ts'
import type { Database } from '../store/database-schema.ts'
import type { ImportColumn } from './import-columns.ts'
import { type ParsedRow, type RowIssue, schemaIssues } from './import-row.ts'

export interface RowFailure extends RuleRef {
  readonly row: number
  /** Column key, or the body field when no column fills it. */
  readonly key: string
  readonly message: string
}

export interface ImporterContext {
  readonly trx: Transaction<Database>
  readonly scope: AccessScope
  readonly estateId: string
  readonly resource: EstateResource
  /** All columns of the kind (not only those in the file): maps body fields back to columns. */
  readonly columns: readonly ImportColumn[]
  readonly today: string
}

type Target = 'main' | 'occupancy'

interface Prepared {
  readonly row: ParsedRow
  readonly main: Record<string, unknown>
  readonly occupancy?: Record<string, unknown>
}

const BATCH_SIZE = 500

// The occupancy is validated before its customer exists; the real id replaces this one.
const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000'
const labels: Readonly<Record<string, string>> = { buildings: 'building', units: 'unit', meters: 'meter' }
const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * Creates the rows of one file inside the caller's transaction, collecting every row's errors.
 * Writes run under savepoints, so a row the database refuses does not abort the transaction
 * and the rows after it are still checked.
 */
export class RowImporter {
  readonly #c: ImporterContext
  readonly #failures: RowFailure[] = []
  /** Existing codes → ids of this estate, by table. */
  readonly #ids = new Map<string, Map<string, string>>()
  readonly #firstRowOfCode = new Map<string, ParsedRow>()
  readonly #created = new Map<ParsedRow, string>()
  /** Meter rows whose parent chain within the file loops: the row numbers of the loop. */
  readonly #loops = new Map<ParsedRow, number[]>()
  readonly #batch: Prepared[] = []

  constructor(context: ImporterContext) {
    this.#c = context
  }

  async importAll(rows: readonly ParsedRow[]): Promise<RowFailure[]> {
    const tables = new Set([
      this.#c.resource.table,
      ...this.#c.columns.flatMap((c) => (c.codeOf ? [c.codeOf] : [])),
    ])
    for (const table of tables) {
      const existing = await loose(this.#c.trx)
        .selectFrom(table)
        .select(['id', 'code'])
        .where('estateId', '=', this.#c.estateId)
        .execute()
      this.#ids.set(table, new Map(existing.map((r) => [r.code as string, r.id as string])))
    }
    for (const row of rows) {
      const code = row.main.code
      if (typeof code === 'string' && !this.#firstRowOfCode.has(code)) this.#firstRowOfCode.set(code, row)
    }
    for (const row of this.#parentsFirst(rows)) {
      const prepared = this.#prepare(row)
      if (!prepared) continue
      if (!this.#c.resource.check && !prepared.occupancy) {
        this.#batch.push(prepared)
        if (this.#batch.length >= BATCH_SIZE) await this.#flush()
      } else {
        await this.#flush()
        await this.#insertOne(prepared)
      }
    }
    await this.#flush()
    return this.#failures
  }

  /** Meters whose parent is later in the file must be created after it; other kinds keep file order. */
  #parentsFirst(rows: readonly ParsedRow[]): ParsedRow[] {
    const existingMeters = this.#ids.get('meters') ?? new Map()
    const parentRow = (row: ParsedRow) => {
      const code = row.codes.find((c) => c.column.codeOf === 'meters')?.code
      return code === undefined || existingMeters.has(code) ? undefined : this.#firstRowOfCode.get(code)
    }
    const order: ParsedRow[] = []
    const state = new Map<ParsedRow, 'active' | 'done'>()
    for (const start of rows) {
      // Walk up to a row already placed (or the top), then place the path top-down.
      const path: ParsedRow[] = []
      let node: ParsedRow | undefined = start
      while (node && !state.has(node)) {
        state.set(node, 'active')
        path.push(node)
        node = parentRow(node)
      }
      if (node && state.get(node) === 'active') {
        const loop = path.slice(path.indexOf(node))
        const rowNumbers = loop.map((r) => r.rowNumber).sort((a, b) => a - b)
        for (const member of loop) this.#loops.set(member, rowNumbers)
      }
      for (const member of path.reverse()) {
        state.set(member, 'done')
        order.push(member)
      }
    }
    return order
  }

  #keyOf(record: Target, field: string): string {
    const column = this.#c.columns.find(
      (c) => (c.record === 'occupancy') === (record === 'occupancy') && (c.field ?? c.key) === field,
    )
    return column?.key ?? field
  }

  #fail(row: ParsedRow, issues: readonly RowIssue[]) {
    const seen = new Set<string>()
    for (const issue of issues) {
      const key = `${issue.key}|${issue.message}`
      if (!seen.has(key)) this.#failures.push({ ...issue, row: row.rowNumber })
      seen.add(key)
    }
  }

  #resolve(row: ParsedRow, column: ImportColumn, code: string): string | RowIssue {
    const table = column.codeOf!
    const issue = (message: string, rule: RuleRef): RowIssue => ({ key: column.key, ...rule, message })
    const existing = this.#ids.get(table)?.get(code)
    if (existing) return existing
    if (table !== 'meters')
      return issue(
        `no ${labels[table]} with code "${code}" in this estate`,
        ruleRef('import.unknownCode', { what: labels[table] ?? table, code }),
      )
    const loop = this.#loops.get(row)
    if (loop)
      return issue(
        `the parent chain loops back to this meter (rows ${loop.join(', ')})`,
        ruleRef('import.parentLoop', { rows: loop.join(', ') }),
      )
    const parent = this.#firstRowOfCode.get(code)
    if (!parent)
      return issue(
        `no meter with code "${code}" in this estate or this file`,
        ruleRef('import.unknownCode', { what: 'meter', code }),
      )
    return (
      this.#created.get(parent) ??
      issue(
        `the parent meter "${code}" (row ${parent.rowNumber}) has errors`,
        ruleRef('import.parentHasErrors', { code, row: parent.rowNumber }),
      )
    )
  }

  /** Schema complaints, skipping fields whose cell was already refused. */
  #schemaIssues(record: Target, body: Record<string, unknown>, issues: RowIssue[]) {
    const schema = record === 'occupancy' ? occupancyResource.create : this.#c.resource.create
    const decimals = record === 'occupancy' ? {} : (this.#c.resource.decimals ?? {})
    const failed = new Set(issues.map((i) => i.key))
    for (const issue of schemaIssues(schema, body, decimals)) {
      const key = this.#keyOf(record, issue.field)
      if (!failed.has(key))
        issues.push({ key, rule: issue.rule, params: issue.params, message: issue.message })
    }
  }

  #issuesOf(error: ApiError, record: Target): RowIssue[] {
    const whole = { field: 'record', ...(error.rule ?? ruleRef('request.invalid')), message: error.message }
    const details = error.details.length > 0 ? error.details : [whole]
    return details.map((d) => {
      // A check constraint the service did not foresee: units_area_m2_check → areaM2.
      const constraint = /^constraint\.[a-z]+_(.+)_check$/.exec(d.field)
      // A bare `body` (a value out of the column's range) names no field: the row as a whole.
      const field = constraint
        ? camel(constraint[1]!)
        : d.field === 'body'
          ? 'record'
          : d.field.replace(/^body\./, '')
      return { key: this.#keyOf(record, field), rule: d.rule, params: d.params, message: d.message }
    })
  }

  /** Checks one row without the database (codes were loaded up front); the bodies, or undefined. */
  #prepare(row: ParsedRow): Prepared | undefined {
    const { estateId, resource } = this.#c
    const issues: RowIssue[] = [...row.issues]
    const main: Record<string, unknown> = { ...row.main }
    const occupancy: Record<string, unknown> = { ...row.occupancy }
    if (resource.estateFrom === 'estateId') main.estateId = estateId

    const code = main.code
    if (typeof code === 'string') {
      const first = this.#firstRowOfCode.get(code)
      if (this.#ids.get(resource.table)?.has(code)) {
        issues.push({
          key: 'code',
          ...ruleRef('import.codeExists', { what: resource.label, code }),
          message: `a ${resource.label} with code "${code}" already exists in this estate`,
        })
      } else if (first && first !== row) {
        issues.push({
          key: 'code',
          ...ruleRef('import.codeInRow', { code, row: first.rowNumber }),
          message: `code "${code}" is already used in row ${first.rowNumber}`,
        })
      }
    }
    for (const { column, code: ref } of row.codes) {
      const resolved = this.#resolve(row, column, ref)
      if (typeof resolved !== 'string') issues.push(resolved)
      else (column.record === 'occupancy' ? occupancy : main)[column.field ?? column.key] = resolved
    }
    if (row.hasOccupancy) {
      if (!row.codes.some((c) => c.column.record === 'occupancy')) {
        issues.push({
          key: 'unit',
          ...ruleRef('import.unitRequired'),
          message: 'is required when role, startDate or endDate is given',
        })
      }
      occupancy.startDate ??= this.#c.today
      occupancy.customerId = PLACEHOLDER_ID
      this.#schemaIssues('occupancy', occupancy, issues)
    }
    this.#schemaIssues('main', main, issues)
    if (issues.length > 0) {
      this.#fail(row, issues)
      return undefined
    }
    return { row, main, ...(row.hasOccupancy ? { occupancy } : {}) }
  }

  /**
   * Rows with no domain check and no occupancy are inserted many to a statement: one row per
   * statement costs a round trip each, and PGlite serves nothing else meanwhile.
   */
  async #flush() {
    const { trx, estateId, resource } = this.#c
    const batch = this.#batch.splice(0)
    if (batch.length > 1) {
      const values = batch.map((p) => {
        try {
          return { ...normaliseDecimals(resource, p.main), estateId }
        } catch {
          return undefined
        }
      })
      if (values.every((v) => v !== undefined)) {
        await sql`savepoint import_batch`.execute(trx)
        try {
          // Ids are not kept: only meters (never batched) are referred to by later rows.
          await loose(trx).insertInto(resource.table).values(values).execute()
          await sql`release savepoint import_batch`.execute(trx)
          return
        } catch (error) {
          await sql`rollback to savepoint import_batch`.execute(trx)
          await sql`release savepoint import_batch`.execute(trx)
          if (!fromDatabaseError(error)) throw error
          // Some row is refused: go one by one to say which.
        }
      }
    }
    for (const prepared of batch) await this.#insertOne(prepared)
  }

  async #insertOne({ row, main, occupancy }: Prepared) {
    const { trx, scope, estateId, resource } = this.#c
    let record: Target = 'main'
    await sql`savepoint import_row`.execute(trx)
    try {
      const values = { ...normaliseDecimals(resource, main), estateId }
      await resource.check?.({ db: trx, scope, estateId, existing: undefined, next: values })
      const inserted = await loose(trx)
        .insertInto(resource.table)
        .values(values)
        .returning('id')
        .executeTakeFirstOrThrow()
      if (occupancy) {
        record = 'occupancy'
        const next = { ...occupancy, customerId: inserted.id, estateId }
        await occupancyResource.check?.({ db: trx, scope, estateId, existing: undefined, next })
        await loose(trx).insertInto('occupancies').values(next).execute()
      }
      await sql`release savepoint import_row`.execute(trx)
      this.#created.set(row, inserted.id as string)
    } catch (error) {
      await sql`rollback to savepoint import_row`.execute(trx)
      await sql`release savepoint import_row`.execute(trx)
      const apiError = error instanceof ApiError ? error : fromDatabaseError(error)
      if (!apiError) throw error
      this.#fail(row, this.#issuesOf(apiError, record))
    }
  }
}
