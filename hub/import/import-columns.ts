import { ApiError, type ErrorDetail, ruleRef } from '../kernel/api-error.ts'
import { meterKinds } from '../metering/meter-resource.ts'
import { customerKinds } from '../property/customer-resource.ts'
import { occupancyRoles } from '../property/occupancy-resource.ts'
import { unitStatuses, unitUses } from '../property/unit-resource.ts'

export const importKinds = ['buildings', 'units', 'customers', 'meters'] as const
export type ImportKind = (typeof importKinds)[number]

/** How a cell's text becomes the value the create schema wants. */
export type CellType = 'text' | 'integer' | 'decimal' | 'boolean' | 'date' | 'enum' | 'code'

/** A table another column's code refers to; resolved to an id of the same estate. */
export type CodeTable = 'buildings' | 'units' | 'meters'

export interface ImportColumn {
  /** English header, also the name used in error fields (`row 7: areaM2`). */
  readonly key: string
  /** Other headers a clerk may have written (matched case-insensitively, trimmed). */
  readonly aliases: readonly string[]
  readonly type: CellType
  /** The file must have this column (the create schema needs the field). */
  readonly required?: boolean
  /** The create-body field it fills, when not `key` (codes become ids). */
  readonly field?: string
  /** Which record it fills: the kind's own, or the occupancy a customer row may bring. */
  readonly record?: 'occupancy'
  /** enum: the allowed values, and the words clerks write for them. */
  readonly values?: readonly string[]
  readonly words?: Readonly<Record<string, string>>
  /** code: the table whose codes it names. */
  readonly codeOf?: CodeTable
  /** Lower bound the database enforces and the schema does not say (`> 0` or `>= 0`). */
  readonly above?: number
  readonly atLeast?: number
}

const yesNo = { 是: 'true', 否: 'false' }

// The column tables: what a clerk's spreadsheet may hold for each kind. Adding an alias or a
// column is a change here only.
export const importColumns: Readonly<Record<ImportKind, readonly ImportColumn[]>> = {
  buildings: [
    { key: 'code', aliases: ['楼栋编号'], type: 'text', required: true },
    { key: 'name', aliases: ['楼栋名称'], type: 'text', required: true },
    { key: 'floorsAbove', aliases: ['地上层数'], type: 'integer' },
    { key: 'floorsBelow', aliases: ['地下层数'], type: 'integer' },
  ],
  units: [
    { key: 'code', aliases: ['房号', '单元编号'], type: 'text', required: true },
    {
      key: 'building',
      aliases: ['楼栋'],
      type: 'code',
      codeOf: 'buildings',
      field: 'buildingId',
      required: true,
    },
    { key: 'floor', aliases: ['楼层'], type: 'integer', required: true },
    { key: 'areaM2', aliases: ['面积', '建筑面积'], type: 'decimal', required: true, above: 0 },
    {
      key: 'use',
      aliases: ['用途'],
      type: 'enum',
      required: true,
      values: unitUses,
      words: {
        住宅: 'residence',
        商铺: 'shop',
        办公: 'office',
        车位: 'parking',
        储藏室: 'storage',
        其他: 'other',
      },
    },
    {
      key: 'status',
      aliases: ['状态'],
      type: 'enum',
      required: true,
      values: unitStatuses,
      words: { 空置: 'vacant', 已入住: 'occupied', 自住: 'occupied', 出租: 'rented', 装修: 'decorating' },
    },
  ],
  customers: [
    { key: 'code', aliases: ['客户编号'], type: 'text', required: true },
    {
      key: 'kind',
      aliases: ['类型'],
      type: 'enum',
      required: true,
      values: customerKinds,
      words: { 个人: 'person', 单位: 'company', 企业: 'company', 公司: 'company' },
    },
    { key: 'name', aliases: ['姓名', '名称'], type: 'text', required: true },
    { key: 'phone', aliases: ['电话'], type: 'text' },
    { key: 'email', aliases: ['邮箱'], type: 'text' },
    { key: 'idDocument', aliases: ['证件号'], type: 'text' },
    { key: 'notes', aliases: ['备注'], type: 'text' },
    { key: 'unit', aliases: ['房号'], type: 'code', codeOf: 'units', field: 'unitId', record: 'occupancy' },
    {
      key: 'role',
      aliases: ['身份'],
      type: 'enum',
      record: 'occupancy',
      values: occupancyRoles,
      words: { 业主: 'owner', 租户: 'tenant' },
    },
    { key: 'startDate', aliases: ['起始日期'], type: 'date', record: 'occupancy' },
    { key: 'endDate', aliases: ['结束日期'], type: 'date', record: 'occupancy' },
  ],
  meters: [
    { key: 'code', aliases: ['表号', '编号'], type: 'text', required: true },
    {
      key: 'kind',
      aliases: ['表类型'],
      type: 'enum',
      required: true,
      values: meterKinds,
      words: { 水表: 'water', 电表: 'electricity', 燃气表: 'gas', 热量表: 'heat' },
    },
    { key: 'unit', aliases: ['房号'], type: 'code', codeOf: 'units', field: 'unitId' },
    { key: 'building', aliases: ['楼栋'], type: 'code', codeOf: 'buildings', field: 'buildingId' },
    { key: 'location', aliases: ['位置'], type: 'text' },
    { key: 'serialNumber', aliases: ['出厂编号'], type: 'text' },
    { key: 'multiplier', aliases: ['倍率'], type: 'decimal', above: 0 },
    { key: 'registerCapacity', aliases: ['量程'], type: 'decimal', above: 0 },
    { key: 'installReading', aliases: ['初始读数'], type: 'decimal', atLeast: 0 },
    { key: 'installedOn', aliases: ['安装日期'], type: 'date' },
    { key: 'parent', aliases: ['总表'], type: 'code', codeOf: 'meters', field: 'parentMeterId' },
    { key: 'billing', aliases: ['计费'], type: 'boolean', words: yesNo },
  ],
}

/** A column of the file matched to the table: `header` is as the clerk wrote it. */
export interface MappedColumn {
  readonly header: string
  readonly column: ImportColumn
}

const normalise = (header: string) => header.trim().toLowerCase()

const describeColumn = (c: ImportColumn) => [c.key, ...c.aliases].join('/')

const headerError = (message: string, details: ErrorDetail[]) =>
  new ApiError('EH_ERR_IMPORT_REJECTED', `${message}; nothing was imported`, details)

/**
 * Matches the file's headers to the kind's columns. Unknown or repeated headers and missing
 * required columns reject the whole file: guessing would put values in the wrong fields.
 */
export function mapColumns(kind: ImportKind, headers: readonly string[]): MappedColumn[] {
  const columns = importColumns[kind]
  const byName = new Map<string, ImportColumn>()
  for (const column of columns) {
    for (const name of [column.key, ...column.aliases]) byName.set(normalise(name), column)
  }
  const known = columns.map(describeColumn).join(', ')
  const mapped: MappedColumn[] = []
  const unknown: ErrorDetail[] = []
  const seen = new Map<ImportColumn, string>()
  for (const header of headers) {
    const column = byName.get(normalise(header))
    if (!column) {
      unknown.push({
        field: `header: ${header}`,
        ...ruleRef('import.unknownColumn', { known }),
        message: `unknown column; ${kind} columns are ${known}`,
        column: header,
      })
      continue
    }
    const earlier = seen.get(column)
    if (earlier !== undefined) {
      unknown.push({
        field: `header: ${header}`,
        ...ruleRef('import.repeatedColumn', { earlier, key: column.key }),
        message: `repeats column "${earlier}" (both are ${column.key})`,
        column: header,
      })
      continue
    }
    seen.set(column, header)
    mapped.push({ header, column })
  }
  const missing: ErrorDetail[] = columns
    .filter((c) => c.required && !seen.has(c))
    .map((c) => ({
      field: `header: ${c.key}`,
      ...ruleRef('import.missingColumn', { names: describeColumn(c) }),
      message: `required column is missing (write one of ${describeColumn(c)})`,
    }))
  const problems = [...unknown, ...missing]
  if (problems.length > 0) {
    const parts = [
      unknown.length > 0 ? `unknown or repeated columns: ${unknown.map((d) => d.column).join(', ')}` : '',
      missing.length > 0
        ? `missing columns: ${missing.map((d) => d.field.slice('header: '.length)).join(', ')}`
        : '',
    ]
    throw headerError(`the ${kind} file's headers do not fit (${parts.filter(Boolean).join('; ')})`, problems)
  }
  return mapped
}
