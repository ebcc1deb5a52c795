import { expect, it } from 'vitest'
import { describeBrowser, measureShown, PAGE_BUDGET_MS, shoot, shownText } from './support/browser.ts'

// The overview (issue 7 item 1) and the live page (item 2) on the demo estate: the tiles with
// their figures and links, and live values that change on screen without a reload (the demo's
// BACnet plant is polled every 10 s: gaugeIntervalMs, hub/demo/demo-edge.ts).
describeBrowser('overview and live pages', (suite) => {
  it('shows the overview tiles with figures, and a tile opens its list', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    await page.getByTestId('menu-live').click()
    await page.getByTestId('page-live').waitFor()
    const timing = await measureShown(page, '[data-testid=tile-collection] [data-testid=tile-figure]', {
      label: 'overview',
      navigate: () => page.getByTestId('menu-overview').click(),
    })
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)

    // 收缴率: a percentage of last period's bills, with the money as the hub sent it.
    const collection = page.getByTestId('tile-collection')
    expect(await shownText(collection)).toContain('收缴率')
    expect(await shownText(collection.getByTestId('tile-figure'))).toMatch(/^\d+(\.\d+)?%$/)
    expect(await shownText(collection)).toMatch(/应收\s*¥[\d,]+\.\d{2}/)
    expect(await shownText(collection)).toMatch(/已收\s*¥[\d,]+\.\d{2}/)

    const orders = page.getByTestId('tile-work-orders')
    expect(await shownText(orders)).toContain('未完结工单')
    expect(await shownText(orders.getByTestId('tile-figure'))).toMatch(/^\d+$/)
    expect(await shownText(orders)).toMatch(/SLA 超时 \d+/)
    await orders.getByTestId('work-order-states').locator('canvas').waitFor()

    expect(await shownText(page.getByTestId('tile-arrears'))).toMatch(/欠费[\s\S]*¥[\d,]+\.\d{2}/)
    expect(await shownText(page.getByTestId('tile-alarms'))).toContain('活动告警')
    // The demo gateway is up and its devices report: "n / total" online.
    // The demo gateway is online; the setup test may have added a gateway that never reports.
    expect(await shownText(page.getByTestId('tile-presence'))).toMatch(/网关\s*[1-9]\d*\s*\/\s*\d+/)
    expect(await shownText(page.getByTestId('tile-presence'))).toMatch(/设备\s*\d+\s*\/\s*\d+/)
    expect(await shownText(page.getByTestId('tile-energy'))).toMatch(/[\d,.]+ kWh/)
    expect(await shownText(page.getByTestId('tile-energy'))).toMatch(/较上月同期|上月同期无用电/)
    await shoot(page, 'overview')

    // Each tile opens its list: work orders, then alarms (active ones).
    await orders.getByTestId('tile-link').click()
    await page.getByTestId('page-workOrders').waitFor()
    expect(new URL(page.url()).pathname).toBe('/work-orders')
    await page.goBack()
    await page.getByTestId('sla-breached').click()
    await page.getByTestId('page-workOrders').waitFor()
    expect(new URL(page.url()).searchParams.get('sla')).toBe('breached')
    await page.goBack()
    await page.getByTestId('tile-alarms').getByTestId('tile-link').click()
    await page.getByTestId('page-alarms').waitFor()
    expect(new URL(page.url()).pathname).toBe('/alarms')
    expect(new URL(page.url()).searchParams.get('status')).toBe('active')
    await page.goBack()
    await page.getByTestId('tile-presence').getByTestId('tile-link').click()
    await page.getByTestId('page-live').waitFor()

    // The money tiles open their reports: the collection rate of the tile's month, the arrears.
    await page.getByTestId('menu-overview').click()
    await collection.getByTestId('tile-link').click()
    await page.getByTestId('page-reports').waitFor()
    const linked = new URL(page.url()).searchParams
    expect(linked.get('report')).toBe('collectionRate')
    expect(linked.get('period')).toMatch(/^\d{4}-\d{2}$/)
    await expect.poll(() => shownText(page.getByTestId('report-meta'))).toMatch(/^收缴率/)
    expect(await shownText(page.getByTestId('report-picker'))).toContain('收缴率')
    expect(await page.getByTestId('param-period').locator('input').inputValue()).toBe(linked.get('period'))
    await page.goBack()
    await page.getByTestId('tile-arrears').getByTestId('tile-link').click()
    await expect.poll(() => shownText(page.getByTestId('report-meta'))).toMatch(/^欠费明细表/)
    // The report picked is kept in the address: a reload opens it again.
    await page.reload()
    await expect.poll(() => shownText(page.getByTestId('report-meta'))).toMatch(/^欠费明细表/)

    // The group above the estate: the same figures, summed over its estates (one in the demo).
    await page.getByTestId('menu-overview').click()
    const estateRate = await shownText(page.getByTestId('tile-collection').getByTestId('tile-figure'))
    await page.getByTestId('org-picker').locator('.el-select__wrapper').click()
    await page.locator('.el-tree-node__content', { hasText: '华景集团' }).click()
    await expect.poll(() => shownText(page.getByTestId('page-overview'))).toContain('1 个管理处合计')
    expect(await shownText(page.getByTestId('tile-collection').getByTestId('tile-figure'))).toBe(estateRate)
  })

  it('shows gateways and devices online, and a device’s live value changing without a reload', async () => {
    const page = await suite.newPage()
    await suite.login(page)
    // The login lands on the overview: let it finish (one store serves both pages' queries).
    await page.locator('[data-page=overview][data-loaded-ms]').waitFor()
    const timing = await measureShown(page, '[data-testid=device-row]', {
      label: 'live',
      navigate: () => page.getByTestId('menu-live').click(),
    })
    expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)

    const gateway = page.getByTestId('gateway-card').first()
    expect(await shownText(gateway.getByTestId('gateway-status'))).toBe('在线')
    expect(await shownText(gateway)).toMatch(/设备 \d+ \/ \d+ 在线/)
    expect(await shownText(page.getByTestId('device-list'))).toContain('在线')
    expect(await shownText(page.getByTestId('live-detail'))).toContain('选择一台设备查看实时数据')

    // The BACnet plant: its supply air temperature wanders every 10 s.
    await page.getByTestId('device-search').fill('bms')
    const rows = page.getByTestId('device-row')
    await expect.poll(() => rows.count()).toBe(1)
    expect(await shownText(rows.first())).toContain('冷热源机房 BACnet 控制器')
    await rows.first().click()
    const points = page.locator('[data-testid=device-points][data-device=bms-plant]')
    const value = points.getByTestId('point-value-ahu1-supply-temp')
    await value.waitFor()
    await expect.poll(() => shownText(value)).toMatch(/^-?\d+(\.\d+)? °C$/)
    // The names come from the points list, which may answer after the stream's snapshot.
    await expect.poll(() => shownText(points)).toContain('1号空调箱送风温度')
    expect(await shownText(points)).toContain('正常')
    await expect.poll(() => shownText(points.getByTestId('stream-state'))).toContain('实时更新中')

    // The value changes in place: same document (no reload), new text.
    await page.evaluate('window.liveMarker = 42')
    const before = await shownText(value)
    const started = Date.now()
    await expect.poll(() => shownText(value), { timeout: 45_000, interval: 250 }).not.toBe(before)
    const after = await shownText(value)
    console.log(`  [live] ahu1-supply-temp ${before} → ${after} after ${Date.now() - started} ms, no reload`)
    expect(await page.evaluate<number>('window.liveMarker')).toBe(42)

    // A point's chart over a range and bucket.
    await points.locator('[data-testid=point-row][data-point=ahu1-supply-temp]').click()
    const trend = page.getByTestId('point-trend')
    await trend.getByTestId('time-chart').locator('canvas').waitFor()
    expect(await shownText(trend)).toContain('近 6 小时')
    await trend.getByText('近 24 小时').click()
    await trend.getByText('1 小时').click()
    await expect
      .poll(() => trend.locator('.el-radio-button.is-active').allInnerTexts())
      .toEqual(['近 24 小时', '1 小时'])
    // Back to the last 6 hours: the bucket follows the range (raw), the line has the live readings.
    await trend.getByText('近 6 小时').click()
    await expect
      .poll(() => trend.locator('.el-radio-button.is-active').allInnerTexts())
      .toEqual(['近 6 小时', '原始'])
    // The whole list again beside the picked device, for the screenshots.
    await page.getByTestId('device-search').fill('')
    await expect.poll(() => rows.count()).toBeGreaterThan(1)
    await page.waitForTimeout(300)
    await shoot(page, 'live')
  }, 120_000)

  it('works on a phone: device cards, a tap shows the live points', async () => {
    const page = await suite.newPage('phone')
    await suite.login(page)
    await page.getByTestId('menu-toggle').click()
    await page.getByTestId('menu-live').click()
    await page.getByTestId('device-row').first().waitFor()
    await page.getByTestId('device-search').fill('meter-1-main')
    const card = page.locator('[data-testid=device-row][data-device=meter-1-main]')
    await card.click()
    const points = page.locator('[data-testid=device-points][data-device=meter-1-main]')
    await expect.poll(() => shownText(points)).toMatch(/kWh/)
    // Nothing wider than the phone's screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await page.getByTestId('menu-toggle').click()
    await page.getByTestId('menu-overview').click()
    await page.getByTestId('tile-collection').waitFor()
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)

    // The same tiles in English.
    await page.getByTestId('lang-switch').click()
    await expect.poll(() => shownText(page.getByTestId('tile-collection'))).toContain('Collection rate')
    expect(await shownText(page.getByTestId('tile-work-orders'))).toContain('Open work orders')
    expect(await shownText(page.getByTestId('tile-presence'))).toContain('Gateways')
  })
})
