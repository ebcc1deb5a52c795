import { readFileSync } from 'node:fs'
import ExcelJS from 'exceljs'
import type { Locator, Page } from 'playwright-core'
import { expect, it } from 'vitest'
import {
  describeBrowser,
  logApiTimes,
  measureShown,
  PAGE_BUDGET_MS,
  shoot,
  shownText,
} from './support/browser.ts'

// The reports page (报表) on the demo estate: the arrears of last month's bills (欠费明细表)
// on screen, exported as CSV (UTF-8 with BOM, CRLF) and XLSX, and the files' rows checked
// against the rows the page shows; the collection rate (收缴率); a bad asOf refused with
// the hub's words beside the field.

const ARREARS_HEADER = [
  '管理处',
  '客户编号',
  '客户名称',
  '房号',
  '收费项目',
  '类型',
  '账期',
  '应缴日期',
  '应收金额',
  '已收金额',
  '欠费金额',
  '逾期天数',
  '账龄',
]

/** RFC 4180 CSV: quoted fields with doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i++
    } else field += c
  }
  if (field !== '' || row.length > 0) rows.push([...row, field])
  return rows
}

/** The cells of the rows the page shows, as the file writes them: no ¥, empty for —. */
async function shownRows(table: Locator): Promise<string[][]> {
  const rows = table.locator('.el-table__body-wrapper tr.el-table__row')
  const out: string[][] = []
  for (let i = 0; i < (await rows.count()); i++) {
    const cells = await rows.nth(i).locator('td').allInnerTexts()
    out.push(cells.map((c) => c.trim().replace(/^¥/, '').replace(/^—$/, '')))
  }
  return out
}

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()])
  const path = await file.path()
  return { name: file.suggestedFilename(), bytes: readFileSync(path) }
}

describeBrowser('reports page', (suite) => {
  it('opens on last month’s collection rate, and exports the arrears as CSV and XLSX with the rows shown', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    logApiTimes(page, 'reports')
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(page, '[data-testid=report-table] .el-table__row', {
      label: 'reports (collection rate)',
      navigate: () => page.getByTestId('menu-reports').click(),
    })
    const root = page.getByTestId('page-reports')
    const table = page.getByTestId('report-table')

    // The landing report: last month's collection rate of the picked estate, with a percentage.
    const now = new Date()
    const last = new Date(now.getFullYear(), now.getMonth() - 1, 1)
    const period = `${last.getFullYear()}-${String(last.getMonth() + 1).padStart(2, '0')}`
    expect(await root.locator('[data-testid=param-period] input').inputValue()).toBe(period)
    expect(await shownText(page.getByTestId('report-meta'))).toContain('收缴率')
    expect(await shownText(page.getByTestId('report-scope'))).toContain('华景花园（管理处）')
    const rateRow = await shownText(table.locator('.el-table__row').first())
    expect(rateRow).toContain('华景花园')
    expect(rateRow).toMatch(/\d+\.\d{2}%/)
    expect(await shownText(page.getByTestId('report-totals'))).toMatch(/应收金额\s*¥\d+\.\d{2}/)
    await shoot(page, 'reports')

    // The arrears (欠费明细表) of last month's bills.
    await page.getByTestId('report-picker').click()
    await measureShown(page, '[data-testid=report-meta]', {
      label: 'reports: switch to arrears',
      hasText: '欠费明细表',
      navigate: () => page.getByTestId('report-option-arrears').click(),
    })
    const meta = await shownText(page.getByTestId('report-meta'))
    expect(meta).toContain('华景花园')
    const totals = await shownText(page.getByTestId('report-totals'))
    expect(totals).toContain('欠费合计')
    const rowCount = Number(/共 (\d+) 行/.exec(meta)?.[1])
    expect(rowCount).toBeGreaterThan(0)
    const totalOpen = /欠费合计\s*¥(-?\d+\.\d{2})/.exec(totals)?.[1]
    expect(totalOpen).toBeDefined()

    const header = (await table.locator('.el-table__header-wrapper th').allInnerTexts()).map((h) => h.trim())
    expect(header).toEqual(ARREARS_HEADER)
    const shown = await shownRows(table)
    expect(shown.length).toBe(Math.min(rowCount, 20))
    expect(shown[0]?.[0]).toBe('华景花园')
    expect(shown[0]?.[5]).toBe('应收')
    expect(shown[0]?.[10]).toMatch(/^\d+\.\d{2}$/)
    await shoot(page, 'reports-arrears')

    // The CSV: BOM, CRLF, the Chinese header, the same rows as the screen, then the totals.
    const csv = await download(page, 'export-csv')
    expect(csv.name).toMatch(/\.csv$/)
    expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const text = csv.bytes.subarray(3).toString('utf8')
    expect(text.endsWith('\r\n')).toBe(true)
    expect(text.replaceAll('\r\n', '')).not.toContain('\n')
    const lines = parseCsv(text)
    expect(lines[0]).toEqual(ARREARS_HEADER)
    const dataRows = lines.slice(1).filter((r) => r[0] !== '合计' && r[0] !== '总计')
    expect(dataRows.length).toBe(rowCount)
    expect(dataRows.slice(0, shown.length)).toEqual(shown)
    const grand = lines.find((r) => r[0] === '总计')
    expect(grand?.[10]).toBe(totalOpen)
    console.log(`  [reports] arrears: ${rowCount} rows, 总计 ¥${totalOpen}; CSV ${csv.name} matches the page`)

    // The XLSX: one sheet, the same header, the first row's customer and open amount.
    const xlsx = await download(page, 'export-xlsx')
    expect(xlsx.name).toMatch(/\.xlsx$/)
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(xlsx.bytes as unknown as ArrayBuffer)
    const sheet = book.worksheets[0]!
    const headerCells = (sheet.getRow(1).values as unknown[]).slice(1)
    expect(headerCells).toEqual(ARREARS_HEADER)
    expect(sheet.getCell('B2').value).toBe(shown[0]?.[1])
    expect(sheet.getCell('D2').value).toBe(shown[0]?.[3])
    expect(Number(sheet.getCell('K2').value)).toBe(Number(shown[0]?.[10]))

    // An asOf in the future: the hub's refusal beside the field, in Chinese, nothing else shown as data.
    const asOf = page.getByTestId('param-asof').locator('input')
    await asOf.fill('2099-01-01 00:00:00')
    await asOf.press('Enter')
    await page.getByTestId('report-run').click()
    const fieldError = root.locator('.el-form-item__error')
    await fieldError.first().waitFor()
    expect(await shownText(fieldError.first())).toBe('不能晚于现在')
    expect(await page.getByTestId('report-table').count()).toBe(0)
    // The budget, checked last so the rest of the page is tested whatever the timing.
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
  })

  it('shows a report on a phone', async () => {
    const page = await suite.newPage('phone')
    await suite.login(page)
    logApiTimes(page, 'reports')
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    await page.getByTestId('menu-toggle').click()
    await page.locator('.eh-shell__drawer').waitFor({ state: 'visible' })
    const timing = await measureShown(page, '[data-testid=report-table] .el-table__row', {
      label: 'reports (phone)',
      navigate: () => page.locator('.eh-shell__drawer').getByText('报表', { exact: true }).click(),
    })
    expect(await shownText(page.getByTestId('report-totals'))).toMatch(/收缴率\s*\d+\.\d{2}%/)
    await shoot(page, 'reports-phone')
    // The budget, checked last so the rest of the page is tested whatever the timing.
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
  })
})
