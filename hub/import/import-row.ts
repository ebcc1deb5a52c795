import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { type RuleRef, ruleRef } from '../kernel/api-error.ts'
import { describeUnstorable, unstorableCharacter } from '../kernel/unstorable-text.ts'
import { ruleOfIssue } from '../kernel/validation-rules.ts'
import type { ImportColumn, MappedColumn } from './import-columns.ts'
import type { SheetRow } from './read-sheet.ts'

/** One complaint about one row, keyed by column key (or body field when no column fills it). */
export interface RowIssue extends RuleRef {
  readonly key: string
  readonly message: string
}

/** A sheet row turned into create bodies, before codes are resolved to ids. */
export interface ParsedRow {
  readonly rowNumber: number
  readonly main: Record<string, unknown>
  readonly occupancy: Record<string, unknown>
  /** Code cells naming other records: resolved to ids by the importer. */
  readonly codes: { readonly column: ImportColumn; readonly code: string }[]
  readonly issues: RowIssue[]
  /** Some occupancy cell (unit, role, dates) is filled: the row brings an occupancy too. */
  readonly hasOccupancy: boolean
}

type Converted = { value: unknown } | { error: string; rule: RuleRef }

const DATE = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/

function toDate(text: string): Converted {
  const match = DATE.exec(text)
  if (match) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
    const date = new Date(Date.UTC(year, month - 1, day))
    // Date.UTC rolls 2024-02-30 over into March; a real date survives the round trip.
    if (date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day) {
      return { value: date.toISOString().slice(0, 10) }
    }
  }
  return {
    error: `must be a date like 2024-03-01, got "${text}"`,
    rule: ruleRef('date.format', { got: text }),
  }
}

function toDecimal(column: ImportColumn, text: string): Converted {
  if (!/^[+-]?\d+(\.\d+)?$/.test(text))
    return { error: `must be a number, got "${text}"`, rule: ruleRef('number.format', { got: text }) }
  const value = text.replace(/^\+/, '')
  if (column.above !== undefined && !(Number(value) > column.above)) {
    return {
      error: `must be greater than ${column.above}, got ${value}`,
      rule: ruleRef('number.exclusiveMinimum', { limit: column.above, got: value }),
    }
  }
  if (column.atLeast !== undefined && !(Number(value) >= column.atLeast)) {
    return {
      error: `must be at least ${column.atLeast}, got ${value}`,
      rule: ruleRef('number.minimum', { limit: column.atLeast, got: value }),
    }
  }
  // Kept as text: the schema and normaliseDecimals check the decimal places exactly.
  return { value }
}

function toEnum(column: ImportColumn, text: string): Converted {
  const word = column.words?.[text]
  if (word !== undefined) return { value: word }
  const lower = text.toLowerCase()
  if (column.values?.includes(lower)) return { value: lower }
  const words = Object.keys(column.words ?? {})
  return {
    error: `must be one of ${column.values?.join(', ')}${words.length > 0 ? ` (or ${words.join(', ')})` : ''}, got "${text}"`,
    rule: ruleRef('value.oneOf', { values: [...(column.values ?? []), ...words].join(', '), got: text }),
  }
}

/** A cell's value, or the English complaint about it (what the import's tests read). */
export function convertCell(column: ImportColumn, text: string): { value: unknown } | { error: string } {
  const converted = convertWithRule(column, text)
  return 'error' in converted ? { error: converted.error } : converted
}

/** A cell's value, or the complaint with its rule (what the import's answer carries). */
function convertWithRule(column: ImportColumn, text: string): Converted {
  switch (column.type) {
    case 'integer':
      return /^[+-]?\d+$/.test(text)
        ? { value: Number(text) }
        : { error: `must be a whole number, got "${text}"`, rule: ruleRef('integer.format', { got: text }) }
    case 'decimal':
      return toDecimal(column, text)
    case 'boolean': {
      const value = column.words?.[text] ?? text.toLowerCase()
      if (value === 'true' || value === 'false') return { value: value === 'true' }
      return {
        error: `must be ${[...Object.keys(column.words ?? {}), 'true', 'false'].join('/')}, got "${text}"`,
        rule: ruleRef('boolean.format', {
          values: [...Object.keys(column.words ?? {}), 'true', 'false'].join('/'),
          got: text,
        }),
      }
    }
    case 'date':
      return toDate(text)
    case 'enum':
      return toEnum(column, text)
    default:
      return { value: text }
  }
}

/** Fills the create bodies from the cells; empty cells leave the field out. */
export function parseRow(row: SheetRow, columns: readonly MappedColumn[]): ParsedRow {
  const main: Record<string, unknown> = {}
  const occupancy: Record<string, unknown> = {}
  const codes: ParsedRow['codes'] = []
  const issues: RowIssue[] = []
  let hasOccupancy = false
  for (const { header, column } of columns) {
    const text = row.values[header] ?? ''
    if (text === '') continue
    // The store cannot hold NUL (nor a lone surrogate): this row is refused, the others go on.
    const character = unstorableCharacter(text)
    if (character) {
      issues.push({
        key: column.key,
        ...ruleRef('text.unstorable', { character }),
        message: `contains ${describeUnstorable(character)}, which cannot be stored`,
      })
      continue
    }
    if (column.record === 'occupancy') hasOccupancy = true
    if (column.type === 'code') {
      codes.push({ column, code: text })
      continue
    }
    const converted = convertWithRule(column, text)
    if ('error' in converted) {
      issues.push({ key: column.key, ...converted.rule, message: converted.error })
      continue
    }
    const target = column.record === 'occupancy' ? occupancy : main
    target[column.field ?? column.key] = converted.value
  }
  return { rowNumber: row.rowNumber, main, occupancy, codes, issues, hasOccupancy }
}

interface SchemaIssue extends RuleRef {
  readonly field: string
  readonly message: string
}

function messageOf(
  keyword: string,
  params: Record<string, unknown>,
  fallback: string,
  scale: number | undefined,
) {
  if (keyword === 'required') return 'is required'
  if (scale !== undefined) return `must be a number with at most ${scale} decimal places`
  if (keyword === 'enum' && Array.isArray(params.allowedValues))
    return `must be one of ${params.allowedValues.join(', ')}`
  if (keyword === 'format') return `is not a valid ${String(params.format)}`
  if (keyword === 'pattern') return `does not have the expected form (${String(params.pattern)})`
  return fallback
}

/** The create schema's complaints about a body, one per field, in the API's wording. */
export function schemaIssues(
  schema: TSchema,
  body: Record<string, unknown>,
  decimals: Readonly<Record<string, number>> = {},
): SchemaIssue[] {
  const issues: SchemaIssue[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(schema, body)) {
    // anyOf restates its branches' complaints; `boolean` is additionalProperties: false.
    if (error.keyword === 'anyOf' || error.keyword === 'boolean') continue
    const params = error.params as Record<string, unknown>
    const fields =
      error.keyword === 'required' && Array.isArray(params.requiredProperties)
        ? (params.requiredProperties as string[])
        : error.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)
          ? (params.additionalProperties as string[])
          : [error.instancePath.split('/').filter(Boolean).join('.')]
    for (const field of fields) {
      if (seen.has(field)) continue
      seen.add(field)
      const scale = error.keyword === 'required' ? undefined : decimals[field]
      const rule =
        scale !== undefined ? ruleRef('decimal.places', { max: scale }) : ruleOfIssue(error.keyword, params)
      issues.push({ field, ...rule, message: messageOf(error.keyword, params, error.message, scale) })
    }
  }
  return issues
}
