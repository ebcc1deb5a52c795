import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import {
  describeBrowser,
  logApiTimes,
  measureShown,
  PAGE_BUDGET_MS,
  shoot,
  shownText,
} from './support/browser.ts'

// The meter-read page (抄表) on the demo's last month: status tabs with counts, the two planted
// flagged reads (W-1-1203 went backwards: 倒转; E-2-1505 zero while occupied: 在住零用量), and
// a flagged read overridden and approved through the drawer, with a concurrent change refused
// by the version check on the way.

const BACKWARDS = 'W-1-1203'
const STUCK = 'E-2-1505'

/** The count shown on a status tab. */
async function tabCount(page: Page, tab: string): Promise<number> {
  const text = await shownText(page.getByTestId(`tab-${tab}`))
  const match = /(\d+)\s*$/.exec(text.trim())
  if (!match) throw new Error(`no count on tab ${tab}: ${text}`)
  return Number(match[1])
}

describeBrowser('meter reads page', (suite) => {
  it('lists last month with counts per status, and approves a flagged read after overriding it', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    logApiTimes(page, 'meter reads')
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(page, '[data-testid=meter-reads-table] .el-table__row', {
      label: 'meter reads',
      navigate: () => page.getByTestId('menu-meterReads').click(),
    })
    const root = page.getByTestId('page-meterReads')
    expect(await shownText(root)).toContain('抄表')

    // Last month is picked; every tab shows its count and they add up to 全部.
    const now = new Date()
    const last = new Date(now.getFullYear(), now.getMonth() - 1, 1)
    const period = `${last.getFullYear()}-${String(last.getMonth() + 1).padStart(2, '0')}`
    expect(await page.locator('[data-testid=period-picker] input').inputValue()).toBe(period)
    await expect.poll(() => shownText(page.getByTestId('tab-flagged'))).toMatch(/异常\s*\d+/)
    const all = await tabCount(page, 'all')
    const byStatus = await Promise.all(
      ['auto', 'flagged', 'estimated', 'overridden', 'approved'].map((s) => tabCount(page, s)),
    )
    console.log(
      `  [meter reads] ${period}: 全部 ${all}; 待审核/异常/已估算/已修改/已审核 ${byStatus.join('/')}`,
    )
    expect(all).toBeGreaterThan(600) // 300 units × water and electricity, and the masters
    expect(byStatus.reduce((a, b) => a + b, 0)).toBe(all)
    const flaggedBefore = await tabCount(page, 'flagged')
    expect(flaggedBefore).toBeGreaterThanOrEqual(2)
    await shoot(page, 'meter-reads')

    // The flagged tab lists the two planted reads with their reasons in Chinese.
    await page.getByTestId('tab-flagged').click()
    const table = page.getByTestId('meter-reads-table')
    const row = table.locator('.el-table__row', { hasText: BACKWARDS })
    await row.waitFor()
    expect(await table.locator('.el-table__row').count()).toBe(flaggedBefore)
    expect(await shownText(row)).toContain('倒转')
    expect(await shownText(row)).toContain('异常')
    expect(await shownText(table.locator('.el-table__row', { hasText: STUCK }))).toContain('在住零用量')

    // The drawer: why it is flagged, the readings around the cut-off, the history so far.
    await row.click()
    const drawer = page.locator('.el-drawer', { has: page.getByTestId('drawer-figures') })
    await drawer.getByTestId('drawer-figures').waitFor()
    const flags = await shownText(drawer.getByTestId('drawer-flags'))
    expect(flags).toContain('倒转')
    expect(flags).toContain('went backwards')
    // The chart of the readings around the cut-off, drawn (ECharts on a canvas), with points.
    await drawer.locator('[data-testid=drawer-chart] canvas').first().waitFor({ state: 'visible' })
    expect(await drawer.getByText('暂无数据').count()).toBe(0)
    expect(await shownText(drawer.getByTestId('read-history'))).toContain('自动抄表')
    await shoot(page, 'meter-reads-flagged-drawer')

    // The previous reading on the row; the override sets the cut-off reading 12.5 above it.
    const cells = row.locator('td')
    const previous = (await shownText(cells.nth(3))).trim()
    expect(previous).toMatch(/^\d+(\.\d+)?$/)
    const places = Math.max(1, previous.split('.')[1]?.length ?? 0)
    const overridden = (Number(previous) + 12.5).toFixed(places)

    // Someone else overrides the record meanwhile: the drawer's version is stale, and the
    // override through the page is refused with the 409 said plainly, nothing changed.
    const stored = await page.evaluate<string | null>("sessionStorage.getItem('estatehub.session')")
    const token = (JSON.parse(stored ?? '{}') as { token: string }).token
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const hubGet = async <T>(path: string) =>
      (await (await fetch(`${suite.hub.url}${path}`, { headers })).json()) as T
    const nodes = await hubGet<{ items: { id: string; kind: string }[] }>('/api/v1/org-nodes?limit=500')
    const estate = nodes.items.find((n) => n.kind === 'estate')!
    const flagged = await hubGet<{
      items: { id: string; meterCode: string; previousReading: string; version: number }[]
    }>(`/api/v1/meter-reads?estateId=${estate.id}&period=${period}&status=flagged&limit=500`)
    const target = flagged.items.find((r) => r.meterCode === BACKWARDS)!
    const stale = (
      await fetch(`${suite.hub.url}/api/v1/meter-reads/${target.id}/override`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          currentReading: target.previousReading,
          reason: '另一位抄表员同时修改',
          version: target.version,
        }),
      })
    ).status
    expect(stale).toBe(200)
    await drawer.getByTestId('override-current').fill(overridden)
    await drawer.getByTestId('override-reason').fill('换表未登记，按现场读数修正')
    await drawer.getByTestId('override-submit').click()
    const conflict = drawer.getByTestId('read-conflict')
    await conflict.waitFor()
    expect(await shownText(conflict)).toContain('记录已被他人修改')
    expect(await shownText(conflict)).toContain('重新加载')
    await shoot(page, 'meter-reads-conflict')

    // Reload, override again (the form kept its values), then approve with a reason.
    await conflict.getByRole('button', { name: '重新加载' }).click()
    await expect.poll(() => conflict.isVisible()).toBe(false)
    await expect.poll(() => shownText(drawer.getByTestId('drawer-status'))).toBe('已修改')
    await drawer.getByTestId('override-current').fill(overridden)
    await drawer.getByTestId('override-reason').fill('换表未登记，按现场读数修正')
    await drawer.getByTestId('override-submit').click()
    await expect
      .poll(() => shownText(drawer.getByTestId('drawer-current')))
      .toMatch(new RegExp(`^${overridden.replace('.', '\\.')}0*$`))
    expect(await shownText(drawer.getByTestId('drawer-consumption'))).toMatch(/^12\.50*$/)
    await drawer.getByTestId('approve-reason').fill('已核对现场读数')
    await drawer.getByTestId('approve-submit').click()
    await expect.poll(() => shownText(drawer.getByTestId('drawer-status'))).toBe('已审核')

    const history = await shownText(drawer.getByTestId('read-history'))
    expect(history).toContain('修改读数')
    expect(history).toContain('换表未登记，按现场读数修正')
    expect(history).toContain('审核通过')
    expect(history).toContain('已核对现场读数')
    expect(history).toContain('另一位抄表员同时修改')
    expect(history).toMatch(/状态 已修改 → 已审核/)
    await shoot(page, 'meter-reads-approved-drawer')

    // The row shows the decision and the overridden value; the counts follow.
    await page.keyboard.press('Escape')
    await expect.poll(() => shownText(row)).toContain('已审核')
    const rowText = await shownText(row)
    expect(rowText).toContain(overridden)
    expect(rowText).toContain('12.5')
    await expect.poll(() => tabCount(page, 'flagged')).toBe(flaggedBefore - 1)
    expect(await tabCount(page, 'all')).toBe(all)
    // The budget, checked last so the rest of the page is tested whatever the timing.
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
  })

  it('shows the reads as cards on a phone, with the status filter', async () => {
    const page = await suite.newPage('phone')
    await suite.login(page)
    logApiTimes(page, 'meter reads')
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    await page.getByTestId('menu-toggle').click()
    await page.locator('.eh-shell__drawer').waitFor({ state: 'visible' })
    const timing = await measureShown(page, '[data-testid=meter-reads-cards] [data-testid=meter-read-row]', {
      label: 'meter reads (phone)',
      navigate: () => page.locator('.eh-shell__drawer').getByText('抄表', { exact: true }).click(),
    })
    await page.getByTestId('tab-flagged').click()
    const card = page.locator(`[data-testid=meter-read-row][data-meter=${STUCK}]`)
    await card.waitFor()
    expect(await shownText(card)).toContain('在住零用量')
    await shoot(page, 'meter-reads-phone')
    await card.click()
    await page.getByTestId('drawer-figures').waitFor()
    expect(await shownText(page.getByTestId('drawer-flags'))).toContain('在住零用量')
    await shoot(page, 'meter-reads-phone-drawer')
    // The budget, checked last so the rest of the page is tested whatever the timing.
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
  })
})
