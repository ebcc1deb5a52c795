import { Readable } from 'node:stream'
import { type CsvError, parse } from 'csv-parse'
import ExcelJS, { type CellValue } from 'exceljs'
import { ApiError, cutText, type RuleRef, ruleRef } from '../kernel/api-error.ts'
import { checkUnpackedSize, unreadable } from './unpacked-size.ts'

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
/** The longest cell: no code, name, date or number of these imports comes near it. */
export const MAX_CELL_CHARS = 2_000
/** The upload itself (the compressed file, for XLSX): the import route's body limit. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024
/** csv-parse's own bound on one record, so a row without line ends cannot grow without end. */
const MAX_CSV_RECORD_CHARS = 256 * 1024
/** The CSV text is handed to the parser in slices, so the reading stops where the rows do. */
const CSV_SLICE_CHARS = 64 * 1024

const rejected = (message: string, rule: RuleRef, field = 'file') =>
  new ApiError('EH_ERR_IMPORT_REJECTED', message, [{ field, ...rule, message }])

/** Excel's column letters (A, B, …, AA): clerks open CSV files in Excel too. */
export function columnLetter(index: number): string {
  let name = ''
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name
  return name
}

const cellTooLong = (sheet: string, row: number, column: string, text: string) =>
  rejected(
    `sheet ${sheet}, row ${row}, column ${column}: the cell holds more than ${MAX_CELL_CHARS} characters ("${cutText(text, 40)}")`,
    ruleRef('import.cellTooLong', { max: MAX_CELL_CHARS, row, column, sheet, got: cutText(text, 40) }),
    `row ${row}: ${column}`,
  )

/**
 * Reads the first sheet of a CSV (UTF-8) or XLSX file into text cells keyed by header. Rows are
 * read one by one and the reading stops at the first row past MAX_IMPORT_ROWS or a cell past
 * MAX_CELL_CHARS; an XLSX file's unpacked size is bounded before it is read (unpacked-size.ts).
 */
export async function readSheet(data: Buffer, format: SheetFormat): Promise<Sheet> {
  return format === 'csv' ? tabulate('CSV', csvRows(data)) : readXlsx(data)
}

interface GridRow {
  readonly rowNumber: number
  readonly cells: readonly string[]
}

function* slices(text: string) {
  for (let at = 0; at < text.length; at += CSV_SLICE_CHARS) yield text.slice(at, at + CSV_SLICE_CHARS)
}

async function* csvRows(data: Buffer): AsyncGenerator<GridRow> {
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
  const source = Readable.from(slices(text))
  const parser = source.pipe(
    parse({
      bom: true,
      delimiter,
      relax_column_count: true,
      skip_empty_lines: false,
      max_record_size: MAX_CSV_RECORD_CHARS,
    }),
  )
  // One record is one spreadsheet row, even when a quoted cell spans several lines.
  let rowNumber = 0
  try {
    for await (const cells of parser) yield { rowNumber: ++rowNumber, cells: cells as string[] }
  } catch (error) {
    if (error instanceof ApiError) throw error
    const csvError = error as CsvError & { records?: number; column?: number }
    if (csvError.code === 'CSV_MAX_RECORD_SIZE')
      throw cellTooLong('CSV', (csvError.records ?? rowNumber) + 1, columnLetter(csvError.column ?? 0), '')
    throw rejected(
      `the CSV file cannot be read: ${csvError.message}`,
      ruleRef('import.csvUnreadable', { reason: csvError.message }),
    )
  } finally {
    // Stopped early (too many rows): the rest of the text is never parsed.
    source.destroy()
    parser.destroy()
  }
}

async function readXlsx(data: Buffer): Promise<Sheet> {
  await checkUnpackedSize(data)
  const input = Readable.from([data])
  // The streaming reader: rows one at a time; styles kept, which tell dates from numbers.
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  })
  try {
    // The first worksheet in the file is the one read; the others are never opened.
    for await (const worksheet of workbook) {
      const model = (workbook as unknown as { model?: { sheets?: { name?: string }[] } }).model
      const name = model?.sheets?.[0]?.name ?? (worksheet as unknown as { name: string }).name
      return await tabulate(name, xlsxRows(worksheet))
    }
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw unreadable((error as Error).message)
  } finally {
    input.destroy()
  }
  throw rejected('the workbook has no worksheet', ruleRef('import.noWorksheet'))
}

async function* xlsxRows(worksheet: ExcelJS.stream.xlsx.WorksheetReader): AsyncGenerator<GridRow> {
  for await (const row of worksheet) {
    const cells: string[] = []
    for (let column = 1; column <= row.cellCount; column++) cells.push(streamedCellText(row.getCell(column)))
    yield { rowNumber: row.number, cells }
  }
}

const DATE_FORMAT = /[dmy]/i
/** Days from Excel's epoch (1899-12-30) to a UTC date. */
const excelDate = (serial: number) => new Date(Math.round((serial - 25569) * 86400) * 1000)

/**
 * The streaming reader gives a formula's cached result as a bare number: a result shown as a
 * date (its cell's number format has d, m or y) is turned back into one, as the whole-file
 * loader did. Booleans from formulas stay 1/0 and an error result is empty (docs/decisions/0014).
 */
function streamedCellText(cell: ExcelJS.Cell): string {
  const value = cell.value
  if (
    value !== null &&
    typeof value === 'object' &&
    'formula' in value &&
    typeof value.result === 'number' &&
    DATE_FORMAT.test((cell.numFmt ?? '').replace(/"[^"]*"|\[[^\]]*\]/g, ''))
  )
    return cellText(excelDate(value.result))
  return cellText(value)
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

/** Headers from row 1, then the data rows; stops reading at the first row or cell over a limit. */
async function tabulate(sheet: string, grid: AsyncIterable<GridRow>): Promise<Sheet> {
  let headers: string[] | undefined
  const used: number[] = []
  const rows: SheetRow[] = []
  for await (const row of grid) {
    row.cells.forEach((cell, index) => {
      if (cell.length > MAX_CELL_CHARS) throw cellTooLong(sheet, row.rowNumber, columnLetter(index), cell)
    })
    if (row.cells.every((cell) => cell.trim() === '')) continue
    if (!headers) {
      if (row.rowNumber !== 1)
        throw rejected('row 1 must hold the column headers', ruleRef('import.headersNotFirst'))
      headers = row.cells.map((cell) => cell.trim())
      const seen = new Set<string>()
      for (const [index, header] of headers.entries()) {
        if (header === '') continue
        if (seen.has(header))
          throw rejected(
            `the header "${header}" appears twice`,
            ruleRef('import.headerTwice', { header }),
            `header: ${header}`,
          )
        seen.add(header)
        used.push(index)
      }
      continue
    }
    const named = headers
    row.cells.forEach((cell, index) => {
      if (cell.trim() !== '' && !named[index]) {
        throw rejected(
          `row ${row.rowNumber}, column ${columnLetter(index)}: a value under a column without a header`,
          ruleRef('import.valueWithoutHeader', { row: row.rowNumber, column: columnLetter(index) }),
        )
      }
    })
    rows.push({
      rowNumber: row.rowNumber,
      values: Object.fromEntries(used.map((index) => [named[index]!, (row.cells[index] ?? '').trim()])),
    })
    // Leaving the loop ends the reader: the rows after this one are never read.
    if (rows.length > MAX_IMPORT_ROWS) {
      throw rejected(
        `the file has more than ${MAX_IMPORT_ROWS} data rows; split it into several files`,
        ruleRef('import.tooManyRows', { max: MAX_IMPORT_ROWS }),
      )
    }
  }
  if (!headers) throw rejected('the file is empty', ruleRef('import.empty'))
  return { headers: used.map((index) => headers[index]!), rows }
}
