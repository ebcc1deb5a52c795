import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { rmbCapitals } from '../../hub/billing/rmb-capitals.ts'
import {
  describeBrowser,
  hubApi,
  measureShown,
  PAGE_BUDGET_MS,
  SCREENSHOT_DIR,
  shoot,
  shownText,
} from './support/browser.ts'

// Billing in the console (收费管理) on the demo estate: the fee items and standards the demo
// seeds; a bill run for one building this month previewed by demo-admin (every line with its
// formula, the vacant units held) and approved by the finance clerk, the second person; the
// cashier desk taking a payment for a unit with open lines and opening its receipt (number,
// figures, 人民币大写, payer); and the day's takings with that receipt in the hand-over.

/** Exact yuan sums in the test too: fen as BigInt. */
function fen(amount: string): bigint {
  const [whole, frac = ''] = amount.split('.')
  return BigInt(whole!) * 100n + BigInt(frac.padEnd(2, '0'))
}
const yuanText = (f: bigint) => `${f / 100n}.${String(f % 100n).padStart(2, '0')}`
const grouped = (text: string) => {
  const [whole, frac] = text.split('.')
  return `${whole!.replace(/\B(?=(\d{3})+$)/g, ',')}.${frac}`
}

/** An Element Plus input by its test id: on the input itself or on its wrapper. */
const inputOf = (page: Page, testId: string) =>
  page.locator(`input[data-testid=${testId}], [data-testid=${testId}] input`).first()

interface ArrearsRow {
  customerId: string
  customerName: string
  unitCode: string | null
  open: string
  period: string | null
}

describeBrowser('billing pages', (suite) => {
  /** The hub's API as the demo admin, to choose test data (a payer with open lines). */
  const apiGet = async <T>(path: string) => (await hubApi(suite.hub))<T>('GET', path)

  const thisMonth = () => {
    const now = new Date()
    return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`
  }

  it('shows the fee items with their standards and whom they apply to', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    // Timed from a settled overview, as the other pages' tests are.
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(page, '[data-testid=fee-standard]', {
      label: 'fee items',
      navigate: () => page.getByTestId('menu-feeItems').click(),
    })
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
    const text = await shownText(page.getByTestId('page-feeItems'))
    expect(text).toContain('收费项目与标准')
    expect(text).toContain('物业服务费')
    expect(text).toContain('2.80 元/m²·月')
    expect(text).toContain('用途：住宅')
    expect(text).toContain('电费')
    expect(text).toContain('阶梯计价')
    expect(text).toContain('0–260 kWh：0.5883 元/kWh')
    expect(text).toContain('水费(含污水处理费)')
    expect(text).toContain('4.20 元/m³')
    expect(text).toContain('滞纳金：每日 0.0003，宽限 15 天，上限为本金的 1 倍')
    expect(await shownText(page.getByTestId('fee-price').filter({ hasText: 'm²' }))).toBe('2.80 元/m²·月')
    await shoot(page, 'billing-fee-items')
  })

  let runUrl = ''

  it('runs a bill for one building this month: preview with explanations and the held list, approved by a second person', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(page, '[data-testid=bill-runs-table] .el-table__row', {
      label: 'bill runs',
      navigate: () => page.getByTestId('menu-billRuns').click(),
    })
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
    // The demo's own run of last month: prepared by the admin, approved by the finance clerk.
    const list = await shownText(page.getByTestId('bill-runs-table'))
    expect(list).toContain('全项目')
    expect(list).toContain('已审批出账')
    expect(list).toContain('演示财务')

    // This month, building B2: the period defaults to the current month, scope to a building.
    expect(await inputOf(page, 'bill-run-period').inputValue()).toBe(thisMonth())
    await page.getByTestId('bill-run-target').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'B2' }).first().click()
    await page.getByTestId('bill-run-preview').click()
    const detail = page.getByTestId('bill-run-detail')
    await expect.poll(() => shownText(detail)).toContain(`${thisMonth()} 账单 · 楼栋 B2`)
    const head = await shownText(detail)
    expect(head).toContain('待审批')
    expect(head).toContain('您是制单人，须由另一人审批')
    expect(await page.getByTestId('bill-run-approve').isDisabled()).toBe(true)
    // Every line explains itself: the unit's area × the price.
    const firstLine = page
      .locator('[data-testid=bill-run-lines] .el-table__row', { hasText: '物业服务费' })
      .first()
    const lineText = await shownText(firstLine)
    expect(lineText).toMatch(/^2-/)
    expect(lineText).toContain('物业服务费')
    expect(lineText).toMatch(/m² × .*2\.8/)
    // The held list: units without an owner or tenant, with the reason.
    const heldTab = page.locator('.el-tabs__item', { hasText: '暂缓清单' })
    const heldCount = Number(/（(\d+)）/.exec(await shownText(heldTab))?.[1])
    expect(heldCount).toBeGreaterThan(0)
    await heldTab.click()
    const held = await shownText(page.getByTestId('bill-run-held'))
    expect(held).toMatch(/2-\d{4} · /)
    expect(held).toMatch(/本期没有业主或租户|读数待审核|读数异常/)
    await shoot(page, 'billing-bill-run-preview')
    runUrl = page.url()
    expect(runUrl).toContain('run=')

    // The finance clerk finds it waiting, and approves it.
    const finance = await suite.newPage()
    await suite.login(finance, suite.hub.finance)
    await finance.getByTestId('menu-billRuns').click()
    await finance.getByTestId('bill-run-filter').getByText('待审批').click()
    const waiting = finance.locator('[data-testid=bill-runs-table] .el-table__row', { hasText: '楼栋 B2' })
    await waiting.first().click()
    const financeDetail = finance.getByTestId('bill-run-detail')
    await expect.poll(() => shownText(financeDetail)).toContain('楼栋 B2')
    const toIssue = /本次出账\s*(¥[\d,]+\.\d{2})/.exec(await shownText(financeDetail))?.[1]
    expect(toIssue).toBeDefined()
    await finance.getByTestId('bill-run-approve').click()
    const confirm = finance.locator('.el-message-box')
    expect(await shownText(confirm)).toContain(toIssue!)
    await confirm.getByRole('button', { name: '审批出账' }).click()
    await expect
      .poll(() => shownText(finance.locator('.el-message--success').last()))
      .toContain('已审批：新出账')
    await expect.poll(() => shownText(financeDetail)).toContain('已审批出账')
    expect(await shownText(financeDetail)).toContain('审批：演示财务')
    expect(await finance.getByTestId('bill-run-approve').count()).toBe(0)
    await finance.getByTestId('bill-run-filter').getByText('全部').click()
    await shoot(finance, 'billing-bill-runs')
  })

  let receiptNo = ''
  let paidAmount = ''
  let payerName = ''

  it('takes a payment at the desk for a unit with open lines and opens its receipt', async () => {
    // A payer with open lines of last month (arrears first), chosen from the arrears report.
    const estateId = suite.hub.estateId
    const arrears = await apiGet<{ rows: ArrearsRow[] }>(`/api/v1/reports/arrears?nodeId=${estateId}`)
    const target = arrears.rows.find((r) => r.unitCode?.startsWith('1-') && r.period !== thisMonth())
    expect(target).toBeDefined()
    payerName = target!.customerName
    const openFen = arrears.rows
      .filter((r) => r.customerId === target!.customerId)
      .reduce((sum, r) => sum + fen(r.open), 0n)

    const page = await suite.newPage()
    await suite.login(page)
    await measureShown(page, 'input[data-testid=desk-search], [data-testid=desk-search] input', {
      label: 'desk (search box)',
      navigate: () => page.getByTestId('menu-desk').click(),
    })
    // The search box has the focus: type the unit and press Enter.
    await expect
      .poll(() => page.evaluate('document.activeElement?.closest("[data-testid=desk-search]") !== null'))
      .toBe(true)
    await page.keyboard.type(target!.unitCode!)
    let timing = await measureShown(
      page,
      '[data-testid=desk-lines] .el-table__row, [data-testid=desk-result]',
      {
        label: 'desk search → results',
        navigate: () => page.keyboard.press('Enter'),
      },
    )
    if (await page.getByTestId('desk-result').count()) {
      // Owner and tenant: pick the payer from the list.
      timing = await measureShown(page, '[data-testid=desk-lines] .el-table__row', {
        label: 'desk pick → open lines',
        navigate: () => page.getByTestId('desk-result').filter({ hasText: payerName }).click(),
      })
    }
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
    expect(await shownText(page.getByTestId('desk-customer'))).toBe(payerName)
    const rows = page.locator('[data-testid=desk-lines] .el-table__row')
    expect(await rows.count()).toBeGreaterThan(0)
    // Arrears first: the oldest due line is at the top and marked overdue when past due.
    expect(await shownText(rows.first())).toContain(target!.period ?? '')
    // Every line is ticked; the amount is the ticked total.
    const total = grouped(yuanText(openFen))
    expect(await shownText(page.getByTestId('desk-ticked-total'))).toBe(`¥${total}`)
    expect(await inputOf(page, 'desk-amount').inputValue()).toBe(yuanText(openFen))
    paidAmount = yuanText(openFen)
    await shoot(page, 'billing-desk')

    // The amount box has the focus: Enter takes the payment in cash, and the receipt opens.
    await expect
      .poll(() => page.evaluate('document.activeElement?.closest("[data-testid=desk-amount]") !== null'))
      .toBe(true)
    await page.keyboard.press('Enter')
    const dialog = page.getByTestId('receipt-dialog')
    await dialog.waitFor()
    const message = await shownText(page.locator('.el-message--success').last())
    receiptNo = /收据号\s*(\S+-\d{4}-\d{6})/.exec(message)?.[1] ?? ''
    expect(receiptNo).toMatch(/^[A-Z0-9-]+-\d{4}-\d{6}$/)
    const frame = page.frameLocator('[data-testid=receipt-frame]')
    await frame.locator('body').waitFor()
    const receipt = await shownText(frame.locator('body'))
    expect(receipt).toContain('收款单')
    expect(receipt).toContain(receiptNo)
    expect(receipt).toContain(payerName)
    expect(receipt).toContain(`¥${grouped(paidAmount)}`)
    expect(receipt).toContain('人民币（大写）')
    expect(receipt).toContain(rmbCapitals(paidAmount))
    expect(await shownText(dialog)).toContain(`收据 ${receiptNo}`)
    await shoot(page, 'billing-receipt')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })

    // Paid: nothing open any more, and the last payment stays at hand for a reprint.
    await expect.poll(() => shownText(page.getByTestId('desk-account'))).toContain('该客户没有未缴费用')
    expect(await shownText(page.getByTestId('desk-last'))).toContain(receiptNo)
  })

  it('works on a phone: cards with ticks, the amount follows the ticks', async () => {
    const arrears = await apiGet<{ rows: ArrearsRow[] }>(
      `/api/v1/reports/arrears?nodeId=${suite.hub.estateId}`,
    )
    // A payer with at least two open lines, so unticking one changes the amount.
    const counts = new Map<string, number>()
    for (const r of arrears.rows) counts.set(r.customerId, (counts.get(r.customerId) ?? 0) + 1)
    const target = arrears.rows.find((r) => (counts.get(r.customerId) ?? 0) >= 2 && r.unitCode)
    expect(target).toBeDefined()
    const lines = arrears.rows.filter((r) => r.customerId === target!.customerId)

    const page = await suite.newPage('phone')
    await suite.login(page)
    await page.goto('/billing/desk')
    await inputOf(page, 'desk-search').fill(target!.unitCode!)
    await inputOf(page, 'desk-search').press('Enter')
    const result = page.getByTestId('desk-result').filter({ hasText: target!.customerName })
    const cards = page.getByTestId('desk-line')
    await page.locator('[data-testid=desk-result], [data-testid=desk-line]').first().waitFor()
    if (await result.count()) await result.first().click()
    await cards.first().waitFor()
    expect(await cards.count()).toBe(lines.length)
    const all = lines.reduce((s, r) => s + fen(r.open), 0n)
    expect(await inputOf(page, 'desk-amount').inputValue()).toBe(yuanText(all))
    // The newest line (last) unticked: the amount drops by its open balance.
    const lastOpen = fen(/¥([\d,]+\.\d{2})/.exec(await shownText(cards.last()))![1]!.replaceAll(',', ''))
    await cards.last().click()
    await expect.poll(() => inputOf(page, 'desk-amount').inputValue()).toBe(yuanText(all - lastOpen))
    // A method other than cash asks for the transaction number, next to the field.
    await page.getByTestId('desk-method').getByText('微信支付').click()
    await page.getByTestId('desk-submit').click()
    await expect.poll(() => shownText(page.getByTestId('desk-pay'))).toContain('非现金收款须填写交易单号')
    const box = await page.getByTestId('desk-submit').boundingBox()
    expect(box!.x + box!.width).toBeLessThanOrEqual(390)
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'billing-desk-phone-form-390x844.png') })
  })

  it('shows the day’s takings and the hand-over with the payment just taken', async () => {
    expect(receiptNo).not.toBe('')
    const page = await suite.newPage()
    await suite.login(page)
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(page, '[data-testid=takings-cashier]', {
      label: 'takings',
      navigate: () => page.getByTestId('menu-takings').click(),
    })
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
    const handOver = await shownText(page.getByTestId('takings-handover'))
    expect(handOver).toContain('交班')
    expect(handOver).toContain('演示管理员')
    expect(handOver).toContain('现金')
    const receipts = page.getByTestId('takings-table')
    const row = receipts.locator('.el-table__row', { hasText: receiptNo })
    await row.waitFor()
    const rowText = await shownText(row)
    expect(rowText).toContain(payerName)
    expect(rowText).toContain(`¥${grouped(paidAmount)}`)
    expect(rowText).toContain('现金')
    expect(await shownText(page.getByTestId('takings-summary'))).toMatch(/收款合计\s*¥[\d,]+\.\d{2}/)
    // The receipt opens from the list as well.
    await row.getByRole('button', { name: receiptNo }).click()
    await page.getByTestId('receipt-dialog').waitFor()
    await expect
      .poll(() => shownText(page.frameLocator('[data-testid=receipt-frame]').locator('body')))
      .toContain(receiptNo)
    await page.keyboard.press('Escape')
    await page.getByTestId('receipt-dialog').waitFor({ state: 'hidden' })
    await page.getByTestId('takings-summary').scrollIntoViewIfNeeded()
    await shoot(page, 'billing-takings')
  })
})
