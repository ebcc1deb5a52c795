import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { describeBrowser, hubApi, measureShown, PAGE_BUDGET_MS, shoot, shownText } from './support/browser.ts'

// Voids (红冲) asked for at the desk and approved by a second person (审批) on the demo estate:
// the demo admin takes a small payment at the desk for a unit with open lines and asks for its
// void with a reason; the request waits (待审批), and on the approvals page the admin sees it
// without an approve button (their own); the finance clerk, in a browser of their own, sees it
// with its amount and reason and approves it; back at the desk the payment shows as voided,
// its receipt says 作废, and the lines are open again. A refund asks no more than went to
// prepayment, and a rejection needs a note that the rejected list then shows.

/** An Element Plus input by its test id: on the input itself or on its wrapper. */
const inputOf = (page: Page, testId: string, tag: 'input' | 'textarea' = 'input') =>
  page.locator(`${tag}[data-testid=${testId}], [data-testid=${testId}] ${tag}`).first()

interface ArrearsRow {
  customerId: string
  customerName: string
  unitCode: string | null
  open: string
}

describeBrowser('approvals: a void asked for at the desk, approved by someone else', (suite) => {
  /** The hub's API as the demo admin, to choose test data (a payer with open lines). */
  const apiGet = async <T>(path: string) => (await hubApi(suite.hub))<T>('GET', path)

  /** At the desk, the customer's account by unit code (picking the payer when the unit has two). */
  async function openAccount(page: Page, unitCode: string, payerName: string) {
    await inputOf(page, 'desk-search').fill(unitCode)
    await inputOf(page, 'desk-search').press('Enter')
    await page.locator('[data-testid=desk-result], [data-testid=desk-lines] .el-table__row').first().waitFor()
    const result = page.getByTestId('desk-result').filter({ hasText: payerName })
    if (await result.count()) await result.first().click()
    await expect.poll(() => shownText(page.getByTestId('desk-customer'))).toBe(payerName)
  }

  /**
   * Payers with open lines, last first, each customer once, leaving out the one the billing test
   * pays off (its first unit of building 1).
   */
  async function payers(): Promise<ArrearsRow[]> {
    const arrears = await apiGet<{ rows: ArrearsRow[] }>(
      `/api/v1/reports/arrears?nodeId=${suite.hub.estateId}`,
    )
    const seen = new Set<string>()
    return arrears.rows
      .filter((r) => r.unitCode && !r.unitCode.startsWith('1-'))
      .reverse()
      .filter((r) => !seen.has(r.customerId) && seen.add(r.customerId))
  }

  it('voids a desk payment once finance approves it; the requester cannot approve their own', async () => {
    const target = (await payers())[0]
    expect(target).toBeDefined()
    const unitCode = target!.unitCode!
    const payerName = target!.customerName

    // The desk: ¥1.00 taken against the oldest line.
    const desk = await suite.newPage()
    await suite.login(desk)
    await desk.getByTestId('menu-desk').click()
    await openAccount(desk, unitCode, payerName)
    const totalBefore = await shownText(desk.getByTestId('desk-ticked-total'))
    expect(totalBefore).toMatch(/^¥[\d,]+\.\d{2}$/)
    await inputOf(desk, 'desk-amount').fill('1.00')
    await inputOf(desk, 'desk-amount').press('Enter')
    await desk.getByTestId('receipt-dialog').waitFor()
    const paid = await shownText(desk.locator('.el-message--success').last())
    const receiptNo = /收据号\s*(\S+-\d{4}-\d{6})/.exec(paid)?.[1] ?? ''
    expect(receiptNo).not.toBe('')
    await desk.keyboard.press('Escape')
    await desk.getByTestId('receipt-dialog').waitFor({ state: 'hidden' })
    await expect.poll(() => shownText(desk.getByTestId('desk-ticked-total'))).not.toBe(totalBefore)

    // The payment is listed under the account; all of it went to bills, so no refund is offered.
    const payment = desk.locator(`[data-testid=desk-payment][data-receipt="${receiptNo}"]`)
    await payment.waitFor()
    expect(await shownText(payment)).toContain('¥1.00')
    expect(await payment.getByTestId('desk-payment-refund').count()).toBe(0)

    // Ask for the void: the reason is required, then the line says it waits.
    await payment.getByTestId('desk-payment-void').click()
    const dialog = desk.getByTestId('approval-request-dialog')
    await dialog.waitFor()
    expect(await shownText(dialog)).toContain(receiptNo)
    await dialog.getByTestId('approval-request-submit').click()
    await expect.poll(() => shownText(dialog)).toContain('请填写原因')
    await inputOf(desk, 'approval-request-reason', 'textarea').fill('收错客户，原路退回')
    await dialog.getByTestId('approval-request-submit').click()
    await dialog.waitFor({ state: 'hidden' })
    await expect.poll(() => shownText(payment.getByTestId('desk-payment-status'))).toContain('待审批')
    expect(await payment.getByTestId('desk-payment-void').count()).toBe(0)
    await payment.scrollIntoViewIfNeeded()
    await shoot(desk, 'approvals-desk')

    // The requester on the approvals page: their request, without the buttons.
    await desk.getByTestId('menu-approvals').click()
    const ownRow = desk.locator('[data-testid=approvals-table] .el-table__row', { hasText: receiptNo })
    await ownRow.waitFor()
    expect(await shownText(ownRow)).toContain('您的申请，须由他人审批')
    expect(await ownRow.getByTestId('approval-approve').count()).toBe(0)

    // The finance clerk, in a browser of their own, finds it waiting and approves it.
    const finance = await suite.newPage()
    await suite.login(finance, suite.hub.finance)
    await finance.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(finance, '[data-testid=approvals-table] .el-table__row', {
      label: 'approvals',
      navigate: () => finance.getByTestId('menu-approvals').click(),
    })
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
    const row = finance.locator('[data-testid=approvals-table] .el-table__row', { hasText: receiptNo })
    await row.waitFor()
    const rowText = await shownText(row)
    expect(rowText).toContain('红冲')
    expect(rowText).toContain(payerName)
    expect(rowText).toContain(unitCode)
    expect(rowText).toContain('¥1.00')
    expect(rowText).toContain('收错客户，原路退回')
    expect(rowText).toContain('演示管理员')
    expect(rowText).toContain('待审批')
    await shoot(finance, 'approvals')

    await row.getByTestId('approval-approve').click()
    const decision = finance.getByTestId('approval-decision-dialog')
    await decision.waitFor()
    expect(await shownText(decision)).toContain('所付费用恢复为未缴')
    await inputOf(finance, 'approval-decision-note', 'textarea').fill('核对无误')
    await decision.getByTestId('approval-decision-submit').click()
    await expect.poll(() => shownText(finance.locator('.el-message--success').last())).toContain('已批准')
    await decision.waitFor({ state: 'hidden' })
    // No longer waiting; among the approved, with who approved it and the note.
    await expect.poll(() => row.count()).toBe(0)
    await finance.getByTestId('approvals-filter').getByText('已批准').click()
    const approved = finance.locator('[data-testid=approvals-table] .el-table__row', { hasText: receiptNo })
    await approved.waitFor()
    const approvedText = await shownText(approved)
    expect(approvedText).toContain('已批准')
    expect(approvedText).toContain('演示财务')
    expect(approvedText).toContain('核对无误')

    // Back at the desk: the payment is voided and the lines are open again, as before it.
    await desk.getByTestId('menu-desk').click()
    await openAccount(desk, unitCode, payerName)
    await expect.poll(() => shownText(desk.getByTestId('desk-ticked-total'))).toBe(totalBefore)
    const voided = desk.locator(`[data-testid=desk-payment][data-receipt="${receiptNo}"]`)
    await expect.poll(() => shownText(voided.getByTestId('desk-payment-status'))).toContain('已红冲')
    expect(await voided.getByTestId('desk-payment-void').count()).toBe(0)
    await voided.getByTestId('desk-payment-receipt').click()
    await desk.getByTestId('receipt-dialog').waitFor()
    await expect
      .poll(() => shownText(desk.frameLocator('[data-testid=receipt-frame]').locator('body')))
      .toContain('作废')
    await desk.keyboard.press('Escape')
  })

  it('asks for a refund of no more than went to prepayment; finance rejects it with a note', async () => {
    const target = (await payers())[1]
    expect(target).toBeDefined()
    const desk = await suite.newPage()
    await suite.login(desk)
    await desk.getByTestId('menu-desk').click()
    await openAccount(desk, target!.unitCode!, target!.customerName)
    // Only the first line ticked, and ¥5.00 more than it: that goes to prepayment.
    const lines = desk.locator('[data-testid=desk-lines] .el-table__row')
    await desk.locator('[data-testid=desk-lines] .el-table__header .el-checkbox').click()
    await lines.first().getByTestId('desk-tick').click()
    const first = await shownText(desk.getByTestId('desk-ticked-total'))
    const fen = BigInt(first.replace(/[¥,.]/g, '')) + 500n
    await inputOf(desk, 'desk-amount').fill(`${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`)
    await expect.poll(() => shownText(desk.getByTestId('desk-prepayment-note'))).toContain('¥5.00')
    await inputOf(desk, 'desk-amount').press('Enter')
    await desk.getByTestId('receipt-dialog').waitFor()
    const paid = await shownText(desk.locator('.el-message--success').last())
    const receiptNo = /收据号\s*(\S+-\d{4}-\d{6})/.exec(paid)?.[1] ?? ''
    expect(receiptNo).not.toBe('')
    await desk.keyboard.press('Escape')
    await desk.getByTestId('receipt-dialog').waitFor({ state: 'hidden' })

    // The refund offers what went to prepayment, and no more.
    const payment = desk.locator(`[data-testid=desk-payment][data-receipt="${receiptNo}"]`)
    await payment.getByTestId('desk-payment-refund').click()
    const dialog = desk.getByTestId('approval-request-dialog')
    await dialog.waitFor()
    expect(await shownText(dialog)).toContain('最多 ¥5.00')
    expect(await inputOf(desk, 'approval-request-amount').inputValue()).toBe('5.00')
    await inputOf(desk, 'approval-request-amount').fill('6.00')
    await inputOf(desk, 'approval-request-reason', 'textarea').fill('客户要求退回多交部分')
    await dialog.getByTestId('approval-request-submit').click()
    await expect.poll(() => shownText(dialog)).toContain('不超过 ¥5.00')
    await inputOf(desk, 'approval-request-amount').fill('2.00')
    await dialog.getByTestId('approval-request-submit').click()
    await dialog.waitFor({ state: 'hidden' })
    await expect.poll(() => shownText(payment.getByTestId('desk-payment-status'))).toContain('退款待审批')

    // Finance rejects it: a note is required, and the request moves to the rejected ones.
    const finance = await suite.newPage()
    await suite.login(finance, suite.hub.finance)
    await finance.getByTestId('menu-approvals').click()
    const row = finance.locator('[data-testid=approvals-table] .el-table__row', { hasText: receiptNo })
    await row.waitFor()
    expect(await shownText(row)).toContain('退款')
    expect(await shownText(row)).toContain('¥2.00')
    await row.getByTestId('approval-reject').click()
    const decision = finance.getByTestId('approval-decision-dialog')
    await decision.getByTestId('approval-decision-submit').click()
    await expect.poll(() => shownText(decision)).toContain('驳回须写明理由')
    await inputOf(finance, 'approval-decision-note', 'textarea').fill('预存款留抵下月物业费')
    await decision.getByTestId('approval-decision-submit').click()
    await expect.poll(() => shownText(finance.locator('.el-message--success').last())).toContain('已驳回')
    await finance.getByTestId('approvals-filter').getByText('已驳回').click()
    const rejected = finance.locator('[data-testid=approvals-table] .el-table__row', { hasText: receiptNo })
    await expect.poll(() => shownText(rejected)).toContain('预存款留抵下月物业费')

    // At the desk the payment no longer waits, and a refund may be asked again.
    await desk.getByTestId('desk-refresh').click()
    await expect.poll(() => payment.getByTestId('desk-payment-refund').count()).toBe(1)
    // (The tag fades out: wait for it to go.)
    await expect.poll(() => shownText(payment.getByTestId('desk-payment-status'))).not.toContain('待审批')
  })
})
