import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { describeBrowser, hubApi } from './support/browser.ts'

// The hub's Content-Security-Policy (hub/kernel/http-policy.ts) against what the browser
// actually runs: every page of the console, the printed receipt's preview (a blob: frame with
// its own <style>), and the API document's Swagger UI. Any CSP refusal the browser reports
// (Chrome logs "Refused to … because it violates the following Content Security Policy
// directive", and fires securitypolicyviolation) fails the test, naming the page.

/** The console's pages (dashboards/console/src/pages.ts), each opened by its path. */
const PAGES = [
  '/overview',
  '/live',
  '/meter-reads',
  '/billing/fee-items',
  '/billing/bill-runs',
  '/billing/desk',
  '/billing/takings',
  '/billing/approvals',
  '/work-orders',
  '/work-orders/board',
  '/alarms',
  '/reports',
  '/setup/buildings',
  '/setup/units',
  '/setup/customers',
  '/setup/meters',
  '/setup/gateways',
  '/setup/import',
  '/users',
]

/** Reports every CSP refusal in the page and its frames as a console message the test collects. */
const REPORT_VIOLATIONS = `
  document.addEventListener('securitypolicyviolation', (e) =>
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
      ' at ' + e.sourceFile + ':' + e.lineNumber))
`

/** Page-side: the receipt fetched with the session's token and shown in a blob: frame. */
const showReceipt = (paymentId: string) => `(async () => {
  const stored = sessionStorage.getItem('estatehub.session') ?? localStorage.getItem('estatehub.session')
  const token = JSON.parse(stored ?? '{}').token
  const answer = await fetch('/api/v1/payments/${paymentId}/receipt?size=a5&lang=zh-CN', {
    headers: { authorization: 'Bearer ' + token },
  })
  const url = URL.createObjectURL(new Blob([await answer.blob()], { type: 'text/html;charset=utf-8' }))
  const frame = document.createElement('iframe')
  frame.src = url
  document.body.append(frame)
  await new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }))
  return { text: frame.contentDocument.body.textContent, sheets: frame.contentDocument.styleSheets.length }
})()`

function watchPolicy(page: Page): { where: string; violations: string[] } {
  const seen = { where: 'start', violations: [] as string[] }
  page.on('console', (message) => {
    const text = message.text()
    if (/Content Security Policy|CSP violation/i.test(text)) seen.violations.push(`${seen.where}: ${text}`)
  })
  page.on('pageerror', (error) => {
    if (/Content Security Policy|EvalError/i.test(error.message))
      seen.violations.push(`${seen.where}: ${error.message}`)
  })
  return seen
}

describeBrowser('security policy in the browser', (suite) => {
  it('runs every console page, the receipt preview and the API document without a CSP refusal', async () => {
    const page = await suite.newPage()
    await page.context().addInitScript({ content: REPORT_VIOLATIONS })
    const seen = watchPolicy(page)

    seen.where = '/login'
    const login = await page.goto('/login')
    // The policy the pages below run under: the console's index.html.
    const csp = login?.headers()['content-security-policy'] ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(login?.headers()['x-frame-options']).toBe('DENY')
    await suite.login(page)

    for (const path of PAGES) {
      seen.where = path
      await page.goto(path)
      await page.getByTestId('menu-toggle').waitFor()
      // Let the page's requests, charts and lazy chunks run (the live page's stream never ends,
      // so no wait for an idle network).
      await page.waitForLoadState('load')
      await page.waitForTimeout(700)
    }

    // The receipt preview as ReceiptDialog.vue makes it: the receipt's HTML fetched with the
    // token, shown in a frame from a blob: URL, under the console's policy.
    seen.where = 'receipt preview'
    const api = await hubApi(suite.hub)
    const day = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 10)
    // A report covers a year at most: the demo's payments are of the last weeks.
    const report = await api<{ rows: { paymentId: string | null }[] }>(
      'GET',
      `/api/v1/reports/collections?nodeId=${suite.hub.estateId}&from=${day(360 * 86_400_000)}&to=${day(0)}`,
    )
    const paymentId = report.rows.find((r) => r.paymentId)?.paymentId
    expect(paymentId, 'the demo has taken payments').toBeTruthy()
    const shown = await page.evaluate<{ text: string; sheets: number }>(showReceipt(paymentId!))
    expect(shown.text).toContain('收款单')
    // The receipt's own <style> applied (a refused one has no sheet).
    expect(shown.sheets).toBeGreaterThan(0)

    // The API document: Swagger UI renders the operations from its own files.
    seen.where = '/docs'
    const docs = await page.goto('/docs/')
    expect(docs?.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.locator('.swagger-ui .opblock').first().waitFor()
    await page.waitForTimeout(500)

    console.log(
      `  [csp] ${PAGES.length} console pages, the receipt preview and /docs: ${seen.violations.length} refusals`,
    )
    expect(seen.violations).toEqual([])

    // The watch itself: an inline script, which the policy must refuse, is seen.
    seen.where = 'self-check'
    await page.evaluate(
      "const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.append(s)",
    )
    await expect.poll(() => seen.violations.length).toBeGreaterThan(0)
    expect(seen.violations[0]).toMatch(/^self-check: .*script-src/)
    expect(await page.evaluate('window.inlineRan')).toBeUndefined()
  }, 180_000)
})
