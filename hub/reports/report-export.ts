import ExcelJS from 'exceljs'

/**
 * The writer every report exports through: one table, CSV (UTF-8 with a BOM, so Excel in a
 * Chinese locale opens it as UTF-8, and CRLF line ends) or XLSX, with the same Chinese headers.
 * Money is kept as the exact decimal string in CSV, and written as a number with a 2-decimal
 * format in XLSX (display only; the string is the record).
 */
export type ColumnType = 'text' | 'money' | 'integer' | 'rate'

export interface Column {
  readonly header: string
  readonly type: ColumnType
  /** Width in characters, XLSX only. */
  readonly width?: number
}

export type Cell = string | number | null

export interface ReportTable {
  /** Sheet name and the Chinese file name (报表名). */
  readonly title: string
  /** ASCII stem of the file name. */
  readonly fileStem: string
  readonly columns: readonly Column[]
  readonly rows: readonly (readonly Cell[])[]
  /** Totals, after the rows; their first cell says what they total (合计 …). */
  readonly footer: readonly (readonly Cell[])[]
}

export type ExportFormat = 'csv' | 'xlsx'

export const contentTypes: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
}

const BOM = '\uFEFF'

/**
 * A text cell that a spreadsheet would take for a formula (=, +, -, @, tab, CR at the start)
 * gets a leading apostrophe: customer names and references come from people (CSV injection).
 */
function safeText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value
}

function csvCell(cell: Cell, column: Column | undefined): string {
  if (cell === null) return ''
  const text = String(cell)
  return csvField(column?.type === 'text' || column === undefined ? safeText(text) : text)
}

export function toCsv(table: ReportTable): Buffer {
  const lines = [table.columns.map((c) => csvField(c.header))]
  for (const row of [...table.rows, ...table.footer])
    lines.push(table.columns.map((column, i) => csvCell(row[i] ?? null, column)))
  const text = lines.map((cells) => `${cells.join(',')}\r\n`).join('')
  return Buffer.from(`${BOM}${text}`, 'utf8')
}

const numberFormats: Partial<Record<ColumnType, string>> = {
  money: '#,##0.00',
  rate: '0.00%',
  integer: '0',
}

function xlsxValue(cell: Cell, type: ColumnType): ExcelJS.CellValue {
  if (cell === null) return null
  if (type === 'text') return String(cell)
  // Money and rates arrive as exact decimal strings; the number is for display and sums in Excel.
  return typeof cell === 'number' ? cell : Number(cell)
}

export async function toXlsx(table: ReportTable): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook()
  workbook.creator = 'EstateHub'
  const sheet = workbook.addWorksheet(sheetName(table.title), {
    views: [{ state: 'frozen', ySplit: 1 }],
  })
  sheet.columns = table.columns.map((c) => ({
    header: c.header,
    width: c.width ?? (c.type === 'text' ? 16 : 14),
    ...(numberFormats[c.type] ? { style: { numFmt: numberFormats[c.type] } } : {}),
  }))
  sheet.getRow(1).font = { bold: true }
  for (const row of table.rows) sheet.addRow(table.columns.map((c, i) => xlsxValue(row[i] ?? null, c.type)))
  for (const row of table.footer) {
    const added = sheet.addRow(table.columns.map((c, i) => xlsxValue(row[i] ?? null, c.type)))
    added.font = { bold: true }
  }
  return Buffer.from(await workbook.xlsx.writeBuffer())
}

/** Excel sheet names: at most 31 characters, none of : \ / ? * [ ]. */
function sheetName(title: string): string {
  return title.replace(/[:\\/?*[\]]/g, ' ').slice(0, 31) || 'Sheet1'
}

/** `attachment; filename=<ascii>; filename*=UTF-8''<Chinese title>` (RFC 6266 / 5987). */
export function contentDisposition(table: ReportTable, format: ExportFormat): string {
  const ascii = `${table.fileStem.replace(/[^A-Za-z0-9._-]+/g, '_')}.${format}`
  // encodeURIComponent leaves ' ( ) * ! as they are; RFC 5987 wants them encoded.
  const utf8 = encodeURIComponent(`${table.title}-${table.fileStem}.${format}`).replace(
    /['()*!]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`
}

/** Exported file name stem: the report, the node's code and what the report is of. */
export function fileStem(report: string, nodeCode: string, ...parts: string[]): string {
  return [report, nodeCode, ...parts].join('_')
}

/** `2026-10-31T15:00:00.000Z` → `20261031T150000Z`, for file names. */
export function compactInstant(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

export const methodLabels: Record<string, string> = {
  cash: '现金',
  card: '刷卡',
  transfer: '转账',
  wechat: '微信',
  alipay: '支付宝',
  prepayment: '预存款抵扣',
}

export const methodLabel = (method: string | null): string | null =>
  method === null ? null : (methodLabels[method] ?? method)
