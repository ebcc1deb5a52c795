import type { Locator, Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { describeBrowser, hubApi, measureShown, PAGE_BUDGET_MS, shoot, shownText } from './support/browser.ts'

// Estate setup (buildings, units, customers, meters, gateways, import) and users and roles,
// on the demo estate 华景花园. Each run makes its own records (codes with a fresh suffix), so
// it changes nothing another browser test counts on.
const suffix = Date.now().toString(36).slice(-5).toUpperCase()

/** Picks an Element Plus select's option by its text. */
async function pick(page: Page, select: Locator, option: string) {
  await select.locator('.el-select__wrapper').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: option }).first().click()
}

/** The create/edit drawer that is open. */
const drawer = (page: Page) => page.locator('.el-drawer:visible')

/**
 * Logs in as the demo admin and waits for the landing page's data, so that the page timed
 * next is not sharing the hub with the overview's own queries.
 */
async function loggedIn(suite: { newPage(): Promise<Page>; login(page: Page): Promise<void> }) {
  const page = await suite.newPage()
  await suite.login(page)
  await page.locator('[data-page][data-loaded-ms]').first().waitFor()
  return page
}

/** Opens a page from the side menu, timed until its first data row is shown. */
async function openTimed(page: Page, name: string, rows: string, label: string) {
  const timing = await measureShown(page, rows, {
    label,
    navigate: () => page.getByTestId(`menu-${name}`).click(),
  })
  expect(timing.ms).toBeLessThan(PAGE_BUDGET_MS)
  return timing
}

describeBrowser('estate setup and users', (suite) => {
  it('creates a building and a unit through the forms, and shows the hub’s field errors beside the fields', async () => {
    const page = await loggedIn(suite)

    // Buildings: the demo's two, then a new one through the drawer.
    await openTimed(page, 'buildings', '[data-testid=buildings-table] .el-table__row', 'setup: buildings')
    const buildings = page.getByTestId('buildings-table')
    expect(await shownText(buildings)).toContain('1栋')
    expect(await shownText(buildings)).toContain('B2')
    await shoot(page, 'setup-buildings')

    const buildingCode = `T${suffix}`
    const buildingName = `测试楼${suffix}`
    await page.getByTestId('buildings-create').click()
    await expect.poll(() => shownText(drawer(page))).toContain('新建楼栋')
    await drawer(page).getByTestId('field-code').locator('input').fill(buildingCode)
    await drawer(page).getByTestId('field-name').locator('input').fill(buildingName)
    await drawer(page).getByTestId('field-floorsAbove').locator('input').fill('18')
    await drawer(page).getByTestId('resource-submit').click()
    await drawer(page).waitFor({ state: 'hidden' })
    await page.getByTestId('buildings-search').fill(buildingCode)
    const newBuilding = buildings.locator('.el-table__row', { hasText: buildingName })
    await newBuilding.waitFor()
    expect(await shownText(newBuilding)).toContain('18')
    // The search (debounced) leaves only the new one.
    await expect.poll(() => buildings.locator('.el-table__row').count()).toBe(1)

    // Units: the demo's 300, paged by the hub, then a unit in the new building.
    await openTimed(page, 'units', '[data-testid=units-table] .el-table__row', 'setup: units')
    const units = page.getByTestId('units-table')
    expect(await shownText(units)).toContain('住宅')
    expect(await shownText(page.getByTestId('units-pager'))).toMatch(/共 3\d\d 条/)
    await shoot(page, 'setup-units')

    const unitCode = `${buildingCode}-101`
    const fillUnit = async (code: string, area: string) => {
      await page.getByTestId('units-create').click()
      await pick(page, drawer(page).getByTestId('field-buildingId'), buildingName)
      await drawer(page).getByTestId('field-code').locator('input').fill(code)
      await drawer(page).getByTestId('field-floor').locator('input').fill('1')
      await drawer(page).getByTestId('field-areaM2').locator('input').fill(area)
      await pick(page, drawer(page).getByTestId('field-status'), '出租')
    }
    await fillUnit(unitCode, '89.50')
    await drawer(page).getByTestId('resource-submit').click()
    await drawer(page).waitFor({ state: 'hidden' })
    await page.getByTestId('units-search').fill(buildingCode)
    const newUnit = units.locator('.el-table__row', { hasText: unitCode })
    await newUnit.waitFor()
    const unitText = await shownText(newUnit)
    expect(unitText).toContain(buildingName)
    expect(unitText).toContain('89.50')
    expect(unitText).toContain('出租')

    // The same code again: the hub's 409 shown beside the code field, in Chinese, the drawer stays open.
    await fillUnit(unitCode, '60')
    await drawer(page).getByTestId('resource-submit').click()
    const codeError = drawer(page).getByTestId('field-code').locator('.el-form-item__error')
    await codeError.waitFor()
    expect(await shownText(codeError)).toBe('已存在')
    // An area of 0: the hub's 400 beside the area field.
    await drawer(page).getByTestId('field-code').locator('input').fill(`${buildingCode}-102`)
    await drawer(page).getByTestId('field-areaM2').locator('input').fill('0')
    await drawer(page).getByTestId('resource-submit').click()
    const areaError = drawer(page).getByTestId('field-areaM2').locator('.el-form-item__error')
    await areaError.waitFor()
    expect(await shownText(areaError)).toBe('须大于 0')
    await expect.poll(() => codeError.count()).toBe(0)
    await shoot(page, 'setup-unit-errors')
    await drawer(page).getByRole('button', { name: '取消' }).click()
    await drawer(page).waitFor({ state: 'hidden' })
    await expect.poll(() => units.locator('.el-table__row').count()).toBe(1)
  })

  it('lists customers, meters and gateways, and shows a new gateway’s secret once', async () => {
    const page = await loggedIn(suite)

    await openTimed(page, 'customers', '[data-testid=customers-table] .el-table__row', 'setup: customers')
    await page.getByTestId('customers-search').fill('业主1-12')
    const customers = page.getByTestId('customers-table')
    await expect.poll(() => shownText(customers)).toContain('业主1-12')
    expect(await shownText(customers)).not.toContain('业主2-')
    expect(await shownText(customers)).toContain('个人')
    await shoot(page, 'setup-customers')

    await openTimed(page, 'meters', '[data-testid=meters-table] .el-table__row', 'setup: meters')
    const meters = page.getByTestId('meters-table')
    expect(await shownText(meters)).toContain('电表')
    await page.getByTestId('meters-search').fill('MAIN')
    await expect.poll(() => shownText(meters)).toContain('E-1-MAIN')
    expect(await shownText(meters)).toContain('公共区域')
    await page.getByTestId('meters-search').fill('')
    await pick(page, page.getByTestId('meters-filter-kind'), '水表')
    await expect.poll(() => shownText(meters)).toContain('W-')
    expect(await shownText(meters)).not.toContain('电表')
    await shoot(page, 'setup-meters')

    await openTimed(page, 'gateways', '[data-testid=gateways-table] .el-table__row', 'setup: gateways')
    const gateways = page.getByTestId('gateways-table')
    expect(await shownText(gateways)).toContain('1号配电房网关')
    await shoot(page, 'setup-gateways')

    // The demo gateway's devices, in a drawer.
    await page.getByTestId('devices-demo-gw-1').click()
    await expect.poll(() => shownText(page.getByTestId('gateway-devices-count'))).toMatch(/共 \d+ 台设备/)
    expect(await shownText(page.getByTestId('gateway-devices'))).toContain('智能表')
    await shoot(page, 'setup-gateway-devices')
    await page.keyboard.press('Escape')
    await page.getByTestId('gateway-devices').waitFor({ state: 'hidden' })

    const code = `gw-${suffix.toLowerCase()}`
    await page.getByTestId('gateways-create').click()
    await drawer(page).getByTestId('field-code').locator('input').fill(code)
    await drawer(page).getByTestId('field-name').locator('input').fill(`测试网关${suffix}`)
    await drawer(page).getByTestId('resource-submit').click()
    const dialog = page.locator('.el-dialog:visible')
    await dialog.waitFor()
    expect(await shownText(dialog)).toContain('密钥只显示这一次')
    const secret = await page.getByTestId('gateway-secret').inputValue()
    expect(secret.length).toBeGreaterThanOrEqual(16)
    await shoot(page, 'setup-gateway-secret')
    await page.getByTestId('gateway-secret-copy').click()
    await expect.poll(() => shownText(page.getByTestId('gateway-secret-copy'))).toContain('已复制')
    await page.getByTestId('gateway-secret-done').click()
    await dialog.waitFor({ state: 'hidden' })
    await page.getByTestId('gateways-search').fill(code)
    await gateways.locator('.el-table__row', { hasText: code }).waitFor()
    // Shown once: the list and the page hold no trace of it afterwards.
    expect(await page.content()).not.toContain(secret)
  })

  it('records a meter replacement (换表): the hub’s field error in Chinese, then the swap in the meter’s history', async () => {
    // A meter of its own, so the demo's reads and bills stay as the other tests know them.
    const call = await hubApi(suite.hub)
    const code = `WR-${suffix}`
    await call('POST', '/api/v1/meters', {
      estateId: suite.hub.estateId,
      code,
      kind: 'water',
      location: `测试水表${suffix}`,
      serialNumber: `OLD-${suffix}`,
      installReading: '0',
      installedOn: '2026-01-01',
      billing: false,
    })
    const page = await loggedIn(suite)
    await openTimed(page, 'meters', '[data-testid=meters-table] .el-table__row', 'setup: meters')
    const meters = page.getByTestId('meters-table')
    await page.getByTestId('meters-search').fill(code)
    await expect.poll(() => shownText(meters)).toContain(`OLD-${suffix}`)

    await page.getByTestId(`replace-${code}`).first().click()
    const dialog = page.getByTestId('meter-replacement')
    await expect.poll(() => shownText(dialog)).toContain(`换表：${code}`)
    expect(await shownText(page.getByTestId('replacement-none'))).toBe('这块表还没有换过。')
    // A last reading with four decimals: refused by the hub, said in Chinese beside the field.
    await dialog.getByTestId('field-oldFinalReading').locator('input').fill('123.4567')
    await dialog.getByTestId('field-newSerialNumber').locator('input').fill(`NEW-${suffix}`)
    await page.getByTestId('replacement-submit').click()
    const readingError = dialog.getByTestId('field-oldFinalReading').locator('.el-form-item__error')
    await readingError.waitFor()
    expect(await shownText(readingError)).toMatch(/最多 3 位小数/)
    await shoot(page, 'setup-meter-replacement')

    await dialog.getByTestId('field-oldFinalReading').locator('input').fill('123.456')
    await dialog.locator('textarea').fill('表盘损坏')
    await page.getByTestId('replacement-submit').click()
    const row = page.getByTestId('replacement-row')
    await row.waitFor()
    const line = await shownText(row)
    expect(line).toContain(`旧表 OLD-${suffix} 止数 123.456`)
    expect(line).toContain(`新表 NEW-${suffix} 起数 0`)
    expect(line).toContain('表盘损坏')
    await readingError.waitFor({ state: 'detached' })
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    // The meter now carries the new serial number.
    await expect.poll(() => shownText(meters)).toContain(`NEW-${suffix}`)
  })

  it('ties a new customer to a unit as tenant and gives them a card, both shown in the customer’s drawer', async () => {
    const call = await hubApi(suite.hub)
    const buildings = (await call('GET', `/api/v1/buildings?estateId=${suite.hub.estateId}&limit=1`)) as {
      items: { id: string }[]
    }
    const unitCode = `TU-${suffix}`
    await call('POST', '/api/v1/units', {
      buildingId: buildings.items[0]!.id,
      code: unitCode,
      floor: 1,
      areaM2: '66.60',
      use: 'residence',
      status: 'vacant',
    })
    const customerCode = `TC-${suffix}`
    await call('POST', '/api/v1/customers', {
      estateId: suite.hub.estateId,
      code: customerCode,
      kind: 'person',
      name: `租户${suffix}`,
    })
    const page = await loggedIn(suite)
    await openTimed(page, 'customers', '[data-testid=customers-table] .el-table__row', 'setup: customers')
    await page.getByTestId('customers-search').fill(customerCode)
    await expect.poll(() => shownText(page.getByTestId('customers-table'))).toContain(`租户${suffix}`)
    await page.getByTestId(`ties-${customerCode}`).first().click()
    const ties = page.getByTestId('customer-ties')
    await expect.poll(() => shownText(ties)).toContain(`租户${suffix}（${customerCode}）的房屋与门禁`)
    expect(await shownText(page.getByTestId('ties-summary'))).toBe('当前 0 处')

    // No unit picked: the hub's "required" beside the unit, in Chinese.
    await page.getByTestId('tie-add').click()
    const unitError = ties.getByTestId('tie-unit').locator('.el-form-item__error')
    await unitError.waitFor()
    expect(await shownText(unitError)).toBe('必填')

    await ties.getByTestId('tie-unit').locator('input').fill(unitCode)
    await page.locator('.el-select-dropdown__item:visible', { hasText: unitCode }).first().click()
    await ties.getByTestId('tie-role').getByText('租户', { exact: true }).click()
    await page.getByTestId('tie-add').click()
    const tie = page.getByTestId('occupancy-row')
    await tie.waitFor()
    await expect
      .poll(() => shownText(tie))
      .toMatch(new RegExp(`${unitCode}\\s*租户\\s*\\d{4}-\\d{2}-\\d{2} — 至今`))
    expect(await shownText(page.getByTestId('ties-summary'))).toBe('当前 1 处')

    await ties.getByTestId('credential-ref').locator('input').fill(`CARD-${suffix}`)
    await page.getByTestId('credential-add').click()
    const credential = page.getByTestId('credential-row')
    await credential.waitFor()
    expect(await shownText(credential)).toContain(`门禁卡`)
    expect(await shownText(credential)).toContain(`CARD-${suffix}`)
    expect(await credential.locator('.el-switch').getAttribute('class')).toContain('is-checked')
    await shoot(page, 'setup-customer-ties')
    // The card is lost: switched off, kept on record.
    await credential.locator('.el-switch').click()
    await expect
      .poll(() => credential.locator('.el-switch').getAttribute('class'))
      .not.toContain('is-checked')
    // The tenant moves out today: the range closes, the history stays.
    await page.getByTestId('occupancy-end').click()
    await expect.poll(() => shownText(tie)).not.toContain('至今')
    expect(await page.getByTestId('occupancy-row').count()).toBe(1)
  })

  it('imports units from a CSV: a bad row is reported by row and column, nothing imported, then the fixed file goes in', async () => {
    const page = await loggedIn(suite)
    await measureShown(page, '[data-page=import][data-loaded-ms]', {
      label: 'setup: import',
      navigate: () => page.getByTestId('menu-import').click(),
    })
    expect(await shownText(page.getByTestId('import-estate'))).toBe('华景花园')
    await page.getByTestId('import-kind-units').click()

    const header = '房号,楼栋,楼层,面积,用途,状态'
    const good = [`I${suffix}-1,B1,1,88.5,住宅,空置`, `I${suffix}-3,B1,3,90,商铺,出租`]
    const bad = `I${suffix}-2,B1,2,0,住宅,空置`
    const upload = (name: string, lines: string[]) =>
      page.locator('input[type=file]').setInputFiles({
        name,
        mimeType: 'text/csv',
        buffer: Buffer.from(`\uFEFF${[header, ...lines].join('\r\n')}\r\n`),
      })

    await upload('units-bad.csv', [good[0]!, bad, good[1]!])
    await page.getByTestId('import-submit').click()
    const report = page.getByTestId('import-report')
    await report.waitFor()
    const reportText = await shownText(report)
    expect(reportText).toContain('文件有错误，未导入任何数据')
    expect(reportText).toContain('共 1 处错误')
    const problem = page.getByTestId('import-problems').locator('.el-table__row')
    expect(await problem.count()).toBe(1)
    const problemText = await shownText(problem)
    expect(problemText).toContain('第 3 行')
    expect(problemText).toContain('面积')
    expect(problemText).toContain('须大于 0')
    await shoot(page, 'setup-import')

    // Nothing of the file went in.
    await page.getByTestId('menu-units').click()
    await page.getByTestId('units-search').fill(`I${suffix}`)
    await expect.poll(() => shownText(page.getByTestId('units-table'))).toContain('暂无数据')

    await page.getByTestId('menu-import').click()
    await page.getByTestId('import-kind-units').click()
    await upload('units-good.csv', good)
    await page.getByTestId('import-check').click()
    await expect.poll(() => shownText(page.getByTestId('import-result'))).toContain('检查通过：2 行')
    await page.getByTestId('import-submit').click()
    await expect
      .poll(() => shownText(page.getByTestId('import-result')))
      .toContain('导入成功：2 行，新建房屋 2 条')

    await page.getByTestId('menu-units').click()
    await page.getByTestId('units-search').fill(`I${suffix}`)
    const rows = page.getByTestId('units-table').locator('.el-table__row')
    await expect.poll(() => rows.count()).toBe(2)
    expect(await shownText(page.getByTestId('units-table'))).toContain('商铺')
  })

  it('creates a user with a role on the demo estate, who sees only that estate, then disables them', async () => {
    const page = await loggedIn(suite)
    await openTimed(page, 'users', '[data-testid=users-table] .el-table__row', 'users')
    const users = page.getByTestId('users-table')
    expect(await shownText(users.locator('.el-table__row', { hasText: suite.hub.username }))).toContain(
      '管理员 · 全部组织',
    )
    await shoot(page, 'users')

    const username = `clerk-${suffix.toLowerCase()}`
    const password = `Kefu-${suffix}-pass-2025`
    await page.getByTestId('users-create').click()
    await drawer(page).getByTestId('field-username').locator('input').fill(username)
    await drawer(page).getByTestId('field-displayName').locator('input').fill('客服小王')
    await drawer(page).getByTestId('field-password').locator('input').fill('short')
    // The grant is on the picked estate already; make it the service role.
    await pick(page, drawer(page).getByTestId('grant-role'), '客服')
    expect(await shownText(drawer(page).getByTestId('grant-node'))).toContain('华景花园')
    await drawer(page).getByTestId('user-submit').click()
    const passwordError = drawer(page).getByTestId('field-password').locator('.el-form-item__error')
    await passwordError.waitFor()
    expect(await shownText(passwordError)).toMatch(/10/)
    await shoot(page, 'users-create')
    await drawer(page).getByTestId('field-password').locator('input').fill(password)
    await drawer(page).getByTestId('user-submit').click()
    await drawer(page).waitFor({ state: 'hidden' })
    await page.getByTestId('users-search').fill(username)
    const row = users.locator('.el-table__row', { hasText: username })
    await row.waitFor()
    expect(await shownText(row)).toContain('客服 · 华景花园')
    expect(await shownText(row)).toContain('启用')

    // The new user, in a context of their own: the picker holds the estate and nothing above it.
    const theirs = await suite.newPage()
    await suite.login(theirs, { username, password })
    const picker = theirs.getByTestId('org-picker')
    expect(await shownText(picker)).toContain('华景花园')
    await picker.locator('.el-select__wrapper').click()
    const tree = theirs.locator('.el-select-dropdown:visible .el-tree')
    await tree.waitFor()
    const visible = await shownText(tree)
    expect(visible).toContain('华景花园')
    expect(visible).not.toContain('华景集团')
    expect(visible).not.toContain('华景物业服务有限公司')
    await theirs.keyboard.press('Escape')
    expect(await theirs.getByTestId('menu-toggle').isVisible()).toBe(true)

    // Disabled: the row says so, and their session ends.
    await page.getByTestId(`user-toggle-${username}`).click()
    await page.locator('.el-message-box:visible').getByRole('button', { name: '停用' }).click()
    await expect.poll(() => shownText(row)).toContain('已停用')
    await theirs.goto('/overview')
    await expect.poll(() => theirs.url()).toContain('/login')
  })
})
