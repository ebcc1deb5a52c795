// readSheet and the column table, without a store: what cells become and which headers fit.
import ExcelJS from 'exceljs'
import { describe, expect, it } from 'vitest'
import { importColumns, mapColumns } from './import-columns.ts'
import { convertCell } from './import-row.ts'
import { MAX_IMPORT_ROWS, readSheet } from './read-sheet.ts'

const csv = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8')

async function workbook(rows: Record<number, unknown[]>): Promise<Buffer> {
  const book = new ExcelJS.Workbook()
  const sheet = book.addWorksheet('导入')
  for (const [number, values] of Object.entries(rows))
    sheet.getRow(Number(number)).values = values as ExcelJS.CellValue[]
  return Buffer.from(await book.xlsx.writeBuffer())
}

describe('readSheet', () => {
  it('reads XLSX cells as the clerk sees them', async () => {
    const data = await workbook({
      1: ['code', 'n', 'date', 'flag', 'rich', 'formula', 'link'],
      2: [
        'X1',
        1.1 * 3,
        new Date(Date.UTC(2024, 4, 1)),
        true,
        { richText: [{ text: 'A-' }, { text: '101', font: { bold: true } }] },
        { formula: 'B2*2', result: 0.1 + 0.2 },
        { text: 'site', hyperlink: 'https://example.com' },
      ],
      4: ['X2', 13800000000, null, false, '', { formula: '1/0', result: { error: '#DIV/0!' } }, ''],
      5: ['X3', 1, null, true, '', { formula: 'DATE(2024,1,2)', result: new Date(Date.UTC(2024, 0, 2)) }, ''],
    })
    const sheet = await readSheet(data, 'xlsx')
    expect(sheet.headers).toEqual(['code', 'n', 'date', 'flag', 'rich', 'formula', 'link'])
    expect(sheet.rows).toEqual([
      {
        rowNumber: 2,
        values: {
          code: 'X1',
          n: '3.3',
          date: '2024-05-01',
          flag: 'true',
          rich: 'A-101',
          formula: '0.3',
          link: 'site',
        },
      },
      {
        rowNumber: 4,
        values: {
          code: 'X2',
          n: '13800000000',
          date: '',
          flag: 'false',
          rich: '',
          // The streaming reader drops a formula's error result (docs/decisions/0014).
          formula: '',
          link: '',
        },
      },
      {
        rowNumber: 5,
        values: { code: 'X3', n: '1', date: '', flag: 'true', rich: '', formula: '2024-01-02', link: '' },
      },
    ])
  })

  it('reads CSV with a BOM, quoted multi-line cells and empty rows, numbering rows as Excel does', async () => {
    const sheet = await readSheet(csv('\uFEFF房号, 备注 ', 'A-1,"two', 'lines"', ',', '', 'A-2, x '), 'csv')
    expect(sheet.headers).toEqual(['房号', '备注'])
    expect(sheet.rows).toEqual([
      { rowNumber: 2, values: { 房号: 'A-1', 备注: 'two\r\nlines' } },
      { rowNumber: 5, values: { 房号: 'A-2', 备注: 'x' } },
    ])
  })

  it('reads CSV separated by semicolons or tabs', async () => {
    expect((await readSheet(csv('房号;楼栋', 'A-1;B1'), 'csv')).rows[0]?.values).toEqual({
      房号: 'A-1',
      楼栋: 'B1',
    })
    expect((await readSheet(csv('房号\t楼栋', 'A-1\tB1'), 'csv')).rows[0]?.values).toEqual({
      房号: 'A-1',
      楼栋: 'B1',
    })
  })

  it('refuses non-UTF-8 CSV and too many rows', async () => {
    const gbk = Buffer.from([0xb7, 0xbf, 0xba, 0xc5, 0x0d, 0x0a, 0x41, 0x0d, 0x0a]) // 房号 in GBK
    await expect(readSheet(gbk, 'csv')).rejects.toThrow(/not UTF-8.*GBK/)
    const many = csv('code', ...Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => `C${i}`))
    await expect(readSheet(many, 'csv')).rejects.toThrow(/more than 20000 data rows/)
  })
})

describe('column table', () => {
  it('matches English keys and Chinese aliases case-insensitively after trimming', () => {
    const mapped = mapColumns('units', [' CODE ', '楼栋', 'Floor', '建筑面积', '用途', ' 状态'])
    expect(mapped.map((m) => [m.header, m.column.key])).toEqual([
      [' CODE ', 'code'],
      ['楼栋', 'building'],
      ['Floor', 'floor'],
      ['建筑面积', 'areaM2'],
      ['用途', 'use'],
      [' 状态', 'status'],
    ])
  })

  it('refuses two headers for the same column', () => {
    expect(() => mapColumns('units', ['房号', '单元编号', '楼栋', '楼层', '面积', '用途', '状态'])).toThrow(
      /unknown or repeated columns: 单元编号/,
    )
  })

  it('converts cells to what the create schema wants', () => {
    const column = (kind: keyof typeof importColumns, key: string) =>
      importColumns[kind].find((c) => c.key === key)!
    expect(convertCell(column('units', 'use'), '车位')).toEqual({ value: 'parking' })
    expect(convertCell(column('units', 'status'), 'Rented')).toEqual({ value: 'rented' })
    expect(convertCell(column('units', 'status'), '卖了')).toEqual({ error: expect.stringContaining('空置') })
    expect(convertCell(column('units', 'floor'), '-2')).toEqual({ value: -2 })
    expect(convertCell(column('units', 'floor'), '2F')).toEqual({
      error: expect.stringContaining('whole number'),
    })
    expect(convertCell(column('units', 'areaM2'), '0')).toEqual({
      error: expect.stringContaining('greater than 0'),
    })
    expect(convertCell(column('meters', 'installReading'), '0')).toEqual({ value: '0' })
    expect(convertCell(column('meters', 'billing'), '否')).toEqual({ value: false })
    expect(convertCell(column('meters', 'billing'), 'TRUE')).toEqual({ value: true })
    expect(convertCell(column('meters', 'installedOn'), '2024年3月1日')).toEqual({ value: '2024-03-01' })
    expect(convertCell(column('meters', 'installedOn'), '2024-02-30')).toEqual({
      error: expect.stringContaining('date'),
    })
  })
})
