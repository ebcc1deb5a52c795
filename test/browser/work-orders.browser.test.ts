import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { describeBrowser, measureShown, PAGE_BUDGET_MS, shoot, shownText } from './support/browser.ts'

// Work orders and alarms (issue 7 item 5): an order registered at the desk and taken through
// every step to closed, the list and the board with their SLA clocks, the alarm list with
// acknowledging (and the hub's 409 when someone else already did), the order an alarm raised.

/** A 1×1 PNG: the "photo" of the repair. */
const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)

/** Picks an option of an Element Plus select (its dropdown is teleported to the body). */
async function pick(page: Page, testId: string, text: string) {
  await page.getByTestId(testId).click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: text }).first().click()
}

/** The text box of an Element Plus input (the test id lands on the input itself or its wrapper). */
function box(page: Page, testId: string) {
  return page
    .locator(
      [
        `input[data-testid=${testId}]`,
        `textarea[data-testid=${testId}]`,
        `[data-testid=${testId}] input`,
        `[data-testid=${testId}] textarea`,
      ].join(', '),
    )
    .first()
}

async function statusShown(page: Page): Promise<string> {
  return (await shownText(page.getByTestId('wo-detail-status'))).trim()
}

/** Opens a step's dialog, lets `fill` fill its form, confirms, and waits for the new state. */
async function step(page: Page, action: string, expected: string, fill?: () => Promise<void>) {
  await page.getByTestId(`wo-action-${action}`).click()
  await page.getByTestId('wo-action-dialog').waitFor()
  await fill?.()
  await page.getByTestId('act-submit').click()
  await expect.poll(() => statusShown(page)).toBe(expected)
}

async function registerOrder(page: Page, title: string) {
  await page.getByTestId('wo-new').click()
  await box(page, 'wo-title').fill(title)
  await page.getByTestId('wo-submit').click()
  await page.getByTestId('work-order-detail').waitFor()
  await expect.poll(() => shownText(page.getByTestId('wo-detail-title'))).toBe(title)
}

describeBrowser('work orders and alarms pages', (suite) => {
  const stamp = Date.now().toString(36)
  const flowTitle = `测试报修 ${stamp}：2号楼大堂水龙头漏水`
  const openTitle = `看板测试 ${stamp}：车库照明不亮`

  it('moves a work order from registered to closed, every step on its timeline', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    await page.getByTestId('menu-workOrders').click()
    await page.locator('[data-page=workOrders][data-loaded-ms]').waitFor()

    await registerOrder(page, flowTitle)
    expect(await statusShown(page)).toBe('已登记')
    expect(await shownText(page.getByTestId('sla-clock').first())).toMatch(/^响应剩余 \d/)
    expect(await shownText(page.getByTestId('wo-actions'))).toContain('派单')
    // Only the steps of the current state are offered.
    expect(await page.getByTestId('wo-action-complete').count()).toBe(0)

    // Dispatching without a department: the hub's refusal beside the field, in Chinese.
    await page.getByTestId('wo-action-dispatch').click()
    await page.getByTestId('act-submit').click()
    await expect
      .poll(() => shownText(page.getByTestId('wo-action-dialog').locator('.el-form-item__error')))
      .toContain('必填')
    await pick(page, 'act-department', '工程部')
    await page.getByTestId('act-submit').click()
    await expect.poll(() => statusShown(page)).toBe('已派单')
    expect(await shownText(page.getByTestId('wo-fields'))).toContain('工程部')

    // The picker offers the estate's people who may work orders (GET /api/v1/work-orders/assignees),
    // each with the role that lets them: the admin, not the finance clerk.
    await step(page, 'assign', '已指派', async () => {
      await page.getByTestId('act-assignee').click()
      const options = page.locator('[data-testid=act-assignee-option]:visible')
      await options.first().waitFor()
      const offered = await options.allInnerTexts()
      expect(offered.join('\n')).toContain(`${suite.hub.username} · 管理员`)
      expect(offered.join('\n')).not.toContain(suite.hub.finance.username)
      await options.filter({ hasText: suite.hub.username }).first().click()
    })
    await step(page, 'start', '处理中')
    expect(await shownText(page.getByTestId('sla-clock').first())).toMatch(/^完成剩余 \d/)
    await step(page, 'complete', '已完工', async () => {
      await box(page, 'act-note').fill('更换水龙头阀芯，试水无渗漏')
      await page.getByTestId('act-add-part').click()
      await page.getByTestId('act-part').locator('input').first().fill('阀芯')
      await box(page, 'act-labour').fill('30')
      await page
        .getByTestId('act-photo-input')
        .setInputFiles({ name: 'repair.png', mimeType: 'image/png', buffer: PHOTO })
      await expect.poll(() => shownText(page.getByTestId('act-photo-file'))).toBe('repair.png')
    })
    await expect.poll(() => shownText(page.getByTestId('wo-attachments'))).toContain('repair.png')
    expect(await shownText(page.getByTestId('wo-fields'))).toContain('更换水龙头阀芯')
    expect(await shownText(page.getByTestId('wo-fields'))).toContain('阀芯 × 1')

    await step(page, 'visit', '已回访', async () => {
      await page.getByTestId('act-satisfaction').locator('.el-rate__item').nth(3).click()
      await box(page, 'act-comment').fill('师傅很及时')
    })
    expect(await page.getByTestId('wo-satisfaction').locator('.el-rate__item').count()).toBe(5)
    await step(page, 'close', '已关闭')
    expect(await shownText(page.getByTestId('wo-actions'))).toContain('此状态下无可执行的操作')
    await expect.poll(() => shownText(page.getByTestId('wo-attachments'))).not.toContain('上传照片')

    const entries = page.getByTestId('wo-timeline-entry')
    const actions = await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))
    expect(actions).toEqual([
      'created',
      'dispatch',
      'assign',
      'start',
      'complete',
      'attachment',
      'visit',
      'close',
    ])
    const timeline = await shownText(page.getByTestId('wo-timeline'))
    for (const seen of [
      '登记',
      '派单',
      '部门：工程部',
      '指派',
      `处理人：`,
      '开始处理',
      '完工',
      '用料：阀芯 × 1',
      '工时：30 分钟',
      '上传附件',
      'repair.png',
      '回访',
      '满意度：★★★★',
      '师傅很及时',
      '关闭',
      '→ 已关闭',
    ])
      expect(timeline).toContain(seen)
    await page.getByTestId('page-workOrders').locator('h1').scrollIntoViewIfNeeded()
    await shoot(page, 'work-order-detail')
  }, 120_000)

  it('shows the list and the board with live SLA clocks, in under a second', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    // From the overview the login lands on, once it has shown its data: an in-app navigation.
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const list = await measureShown(page, '[data-testid=work-orders-table] .el-table__row', {
      label: 'work order list',
      navigate: () => page.getByTestId('menu-workOrders').click(),
    })
    expect(list.ms).toBeLessThan(PAGE_BUDGET_MS)
    const closedRow = page.locator('[data-testid=work-orders-table] .el-table__row', { hasText: flowTitle })
    expect(await shownText(closedRow)).toContain('已关闭')

    await registerOrder(page, openTitle)
    const board = await measureShown(page, '[data-testid=work-order-card]', {
      label: 'work order board',
      navigate: () => page.getByTestId('menu-workOrderBoard').click(),
    })
    expect(board.ms).toBeLessThan(PAGE_BUDGET_MS)
    const registered = page.locator('[data-testid=board-column][data-status=registered]')
    const card = registered.getByTestId('work-order-card').filter({ hasText: openTitle })
    expect(await shownText(card)).toMatch(/响应剩余 \d/)
    expect(await shownText(card)).toContain('普通')
    // The clock counts down while the page is open.
    const before = await shownText(card.getByTestId('sla-clock'))
    await expect.poll(() => shownText(card.getByTestId('sla-clock')), { timeout: 3000 }).not.toBe(before)
    expect(
      await shownText(
        page.locator('[data-testid=board-column][data-status=closed]').getByTestId('work-order-card').first(),
      ),
    ).toBeTruthy()
    await shoot(page, 'work-order-board')

    await page.getByTestId('menu-workOrders').click()
    const row = page.locator('[data-testid=work-orders-table] .el-table__row', { hasText: openTitle })
    await row.waitFor()
    expect(await shownText(row)).toMatch(/已登记[\s\S]*普通[\s\S]*客服登记[\s\S]*响应剩余 \d/)
    // Filtering by state: only registered orders are left.
    await pick(page, 'filter-status', '已登记')
    await expect
      .poll(() =>
        page.locator('[data-testid=work-orders-table] .el-table__row', { hasText: flowTitle }).count(),
      )
      .toBe(0)
    const states = await page
      .locator('[data-testid=work-orders-table] [data-testid=wo-status]')
      .allInnerTexts()
    expect(states.length).toBeGreaterThan(0)
    expect(new Set(states.map((s) => s.trim()))).toEqual(new Set(['已登记']))
    await page.goto('/work-orders')
    await page.locator('[data-testid=work-orders-table] .el-table__row').first().waitFor()
    await shoot(page, 'work-orders')
  }, 120_000)

  it('lets an engineer on a phone pick a state on the board and open an order', async () => {
    const page = await suite.newPage('phone')
    await suite.login(page)
    await page.getByTestId('menu-toggle').click()
    await page.getByTestId('menu-workOrderBoard').click()
    const picker = page.getByTestId('board-state-picker')
    await picker.waitFor()
    await picker.locator('[data-status=registered]').click()
    const card = page.getByTestId('work-order-card').filter({ hasText: openTitle })
    await card.click()
    await page.getByTestId('work-order-detail').waitFor()
    expect(await statusShown(page)).toBe('已登记')
    expect(await page.getByTestId('wo-action-dispatch').isVisible()).toBe(true)
    // The same order in English.
    await page.getByTestId('lang-switch').click()
    await expect.poll(() => statusShown(page)).toBe('Registered')
    expect(await shownText(page.getByTestId('wo-action-dispatch'))).toBe('Dispatch')
    expect(await shownText(page.getByTestId('sla-clock').first())).toMatch(/^Response: \d.* left$/)
    await page.getByTestId('lang-switch').click()
    await expect.poll(() => statusShown(page)).toBe('已登记')
    // Nothing wider than the phone.
    // A string: evaluated in the page (the test's own types have no DOM).
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')
    expect(overflow).toBeLessThanOrEqual(0)
  }, 60_000)

  it('lists the demo’s alarms and acknowledges one; a stale second click gets the hub’s 409', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(
      page,
      '[data-testid=alarms-table] .el-table__row, [data-testid=alarms-empty]',
      {
        label: 'alarms',
        navigate: () => page.getByTestId('menu-alarms').click(),
      },
    )
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
    const rows = page.locator('[data-testid=alarms-table] .el-table__row')
    // The night-flow watch judges the planted leak (2-803) a minute after the demo starts.
    const deadline = Date.now() + 100_000
    while ((await rows.count()) === 0 && Date.now() < deadline) {
      await page.waitForTimeout(5000)
      await page.getByTestId('alarms-refresh').click()
      await page.waitForTimeout(500)
    }
    if ((await rows.count()) === 0) {
      console.log('  no alarm was raised in the demo: the empty state is asserted')
      expect(await shownText(page.getByTestId('alarms-empty'))).toBe('暂无告警')
      await shoot(page, 'alarms')
      return
    }
    const table = await shownText(page.getByTestId('alarms-table'))
    expect(table).toMatch(/级别[\s\S]*规则[\s\S]*来源[\s\S]*状态[\s\S]*发生时间/)
    console.log(`  alarms shown:\n${table}`)

    const activeRow = rows.filter({ has: page.getByTestId('alarm-ack') }).first()
    if ((await activeRow.count()) === 0) {
      console.log('  every alarm was already acknowledged: nothing to acknowledge')
      await shoot(page, 'alarms')
      return
    }
    const id = await activeRow.getByTestId('alarm-row').getAttribute('data-id')
    const row = rows.filter({ has: page.locator(`[data-testid=alarm-row][data-id="${id}"]`) })
    expect(await shownText(row.getByTestId('alarm-status'))).toBe('未确认')

    // A second person with the same list open, who will be too late.
    const other = await suite.newPage()
    await suite.login(other)
    await other.getByTestId('menu-alarms').click()
    const otherRow = other
      .locator('[data-testid=alarms-table] .el-table__row')
      .filter({ has: other.locator(`[data-testid=alarm-row][data-id="${id}"]`) })
    await otherRow.getByTestId('alarm-ack').waitFor()

    await row.getByTestId('alarm-ack').click()
    await expect.poll(() => shownText(row.getByTestId('alarm-status'))).toBe('已确认')
    expect(await row.getByTestId('alarm-ack').count()).toBe(0)

    await otherRow.getByTestId('alarm-ack').click()
    const message = other.locator('.el-message--error')
    await message.waitFor()
    // The hub's refusal, said in Chinese from its rule key (it stayed English before issue 12).
    expect(await shownText(message)).toMatch(/操作冲突.*不是活动告警/)
    await expect.poll(() => shownText(otherRow.getByTestId('alarm-status'))).toBe('已确认')

    // The order the alarm raised shows the alarm's state.
    const orderLink = row.getByTestId('alarm-order')
    if ((await orderLink.count()) > 0) {
      await orderLink.click()
      await page.getByTestId('wo-alarm').waitFor()
      expect(await shownText(page.getByTestId('wo-alarm-status'))).toBe('已确认')
      expect(await shownText(page.getByTestId('work-order-detail'))).toContain('告警')
      await page.getByTestId('menu-alarms').click()
      await rows.first().waitFor()
    }
    await shoot(page, 'alarms')
  }, 180_000)
})
