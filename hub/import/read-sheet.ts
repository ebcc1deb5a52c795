import { parse } from 'csv-parse/sync'
import ExcelJS, { type CellValue } from 'exceljs'
import { ApiError, type RuleRef, ruleRef } from '../kernel/api-error.ts'

export type SheetFormat = 'csv' | 'xlsx'

export interface SheetRow {
  /** The row number the clerk sees in the spreadsheet; the header is row 1. */
  readonly rowNumber: number
  /** Cell text by header (trimmed); empty cells are ''. */
  readonly values: Record<string, string>
}

export interface Sheet {
  readonly headers: string[]
  readonly rows: SheetRow[]
}

export const MAX_IMPORT_ROWS = 20_000

const rejected = (message: string, rule: RuleRef, field = 'file') =>
  new ApiError('EH_ERR_IMPORT_REJECTED', message, [{ field, ...rule, message }])

/** Excel's column letters (A, B, …, AA): clerks open CSV files in Excel too. */
export function columnLetter(index: number): string {
  let name = ''
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name
  return name
}

/**
 * Reads the first sheet of a CSV (UTF-8) or XLSX file into text cells keyed by header.
 * Async because exceljs only loads workbooks asynchronously.
 */
export async function readSheet(data: Buffer, format: SheetFormat): Promise<Sheet> {
  const grid = format === 'csv' ? readCsv(data) : await readXlsx(data)
  return tabulate(grid)
}

interface GridRow {
  readonly rowNumber: number
  readonly cells: readonly string[]
}

function readCsv(data: Buffer): GridRow[] {
  let text: string
  try {
    // fatal: a GBK/ANSI file must be refused, not turned into replacement characters.
    // The decoder also drops a UTF-8 BOM.
    text = new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    throw rejected(
      'the CSV file is not UTF-8 text (GBK/ANSI encodings are not supported): save it as "CSV UTF-8" or upload the .xlsx',
      ruleRef('import.notUtf8'),
    )
  }
  // Excel in some locales saves CSV with semicolons; a header line without commas tells.
  const headerLine = text.slice(0, text.search(/\r?\n|$/))
  const delimiter = headerLine.includes(',') ? ',' : (['\t', ';'].find((d) => headerLine.includes(d)) ?? ',')
  let records: string[][]
  try {
    records = parse(text, {
      bom: true,
      delimiter,
      relax_column_count: true,
      skip_empty_lines: false,
    }) as string[][]
  } catch (error) {
    throw rejected(
      `the CSV file cannot be read: ${(error as Error).message}`,
      ruleRef('import.csvUnreadable', { reason: (error as Error).message }),
    )
  }
  // One record is one spreadsheet row, even when a quoted cell spans several lines.
  return records.map((cells, index) => ({ rowNumber: index + 1, cells }))
}

async function readXlsx(data: Buffer): Promise<GridRow[]> {
  const workbook = new ExcelJS.Workbook()
  try {
    await workbook.xlsx.load(data as unknown as Parameters<typeof workbook.xlsx.load>[0])
  } catch (error) {
    throw rejected(
      `the file is not a readable .xlsx workbook: ${(error as Error).message}`,
      ruleRef('import.xlsxUnreadable', { reason: (error as Error).message }),
    )
  }
  const sheet = workbook.worksheets[0]
  if (!sheet) throw rejected('the workbook has no worksheet', ruleRef('import.noWorksheet'))
  const grid: GridRow[] = []
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: string[] = []
    for (let column = 1; column <= row.cellCount; column++) cells.push(cellText(row.getCell(column).value))
    grid.push({ rowNumber, cells })
  })
  return grid
}

/** Cell values as the clerk sees them: no float noise, dates as YYYY-MM-DD, formulas by result. */
export function cellText(value: CellValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number') return numberText(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString().slice(0, 10)
  if ('richText' in value) return value.richText.map((part) => part.text).join('')
  if ('formula' in value || 'sharedFormula' in value) return cellText(value.result ?? null)
  // A hyperlink's text may itself be rich text.
  if ('hyperlink' in value) return cellText(value.text as CellValue)
  if ('error' in value) return value.error
  return String(value)
}

function numberText(value: number): string {
  // Excel shows 15 significant digits; 0.1+0.2 is 0.3 to the clerk. No exponent notation.
  const clean = Number(value.toPrecision(15))
  return clean.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 })
}

function tabulate(grid: readonly GridRow[]): Sheet {
  const first = grid.find((row) => row.cells.some((cell) => cell.trim() !== ''))
  if (!first) throw rejected('the file is empty', ruleRef('import.empty'))
  if (first.rowNumber !== 1)
    throw rejected('row 1 must hold the column headers', ruleRef('import.headersNotFirst'))
  const headers = first.cells.map((cell) => cell.trim())
  const used: number[] = []
  const seen = new Set<string>()
  headers.forEach((header, index) => {
    if (header === '') return
    if (seen.has(header))
      throw rejected(
        `the header "${header}" appears twice`,
        ruleRef('import.headerTwice', { header }),
        `header: ${header}`,
      )
    seen.add(header)
    used.push(index)
  })
  const rows: SheetRow[] = []
  for (const row of grid) {
    if (row.rowNumber === 1 || row.cells.every((cell) => cell.trim() === '')) continue
    row.cells.forEach((cell, index) => {
      if (cell.trim() !== '' && !headers[index]) {
        throw rejected(
          `row ${row.rowNumber}, column ${columnLetter(index)}: a value under a column without a header`,
          ruleRef('import.valueWithoutHeader', { row: row.rowNumber, column: columnLetter(index) }),
        )
      }
    })
    rows.push({
      rowNumber: row.rowNumber,
      values: Object.fromEntries(used.map((index) => [headers[index]!, (row.cells[index] ?? '').trim()])),
    })
    if (rows.length > MAX_IMPORT_ROWS) {
      throw rejected(
        `the file has more than ${MAX_IMPORT_ROWS} data rows; split it into several files`,
        ruleRef('import.tooManyRows', { max: MAX_IMPORT_ROWS }),
      )
    }
  }
  return { headers: used.map((index) => headers[index]!), rows }
}
