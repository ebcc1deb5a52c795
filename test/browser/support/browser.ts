import { appendFileSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, inject } from 'vitest'
import type { ConsoleHubInfo } from './global-setup.ts'

/**
 * The browser tests' helpers: Debian's chromium driven by playwright-core (never a
 * downloaded browser), the demo hub started once for all browser test files
 * (global-setup.ts), logging in, screenshots at the two sizes the console is designed for,
 * and the time a page takes to show its data.
 */

export const DESKTOP = { width: 1366, height: 768 } as const
export const PHONE = { width: 390, height: 844 } as const

export const OUTPUT_DIR = join(import.meta.dirname, '..', '..', '..', 'test-output')
export const SCREENSHOT_DIR = join(OUTPUT_DIR, 'screenshots')
/** The 1 s budget for a page to show the demo estate's data (issue 7). */
export const PAGE_BUDGET_MS = 1000

/** The page-side half of measureShown, added to every document. */
const SHOWN_WATCH_SCRIPT = join(import.meta.dirname, 'shown-watch.page.js')

export const chromiumPath = process.env.ESTATEHUB_CHROMIUM || '/usr/bin/chromium'

/** Why the browser tests cannot run here; in CI a missing chromium fails instead. */
export const skipReason = existsSync(chromiumPath)
  ? undefined
  : `no chromium at ${chromiumPath} (apt-get install chromium fonts-noto-cjk, or set ESTATEHUB_CHROMIUM)`

if (skipReason && process.env.CI) throw new Error(`browser tests: ${skipReason}`)

let hub: Promise<ConsoleHubInfo> | undefined

/** The demo hub: its URL and login. The first call starts it (a minute at most). */
export function consoleHub(): Promise<ConsoleHubInfo> {
  hub ??= fetch(`${inject('consoleHubControl')}/hub`).then(async (response) => {
    if (!response.ok) throw new Error(`the demo hub did not start:\n${await response.text()}`)
    return (await response.json()) as ConsoleHubInfo
  })
  return hub
}

/**
 * describe() for a browser test file: skipped with the printed reason when there is no
 * chromium (outside CI), else with a browser launched and the hub ready before its tests.
 * `ctx.browser` and `ctx.hub` are set for the tests.
 */
export function describeBrowser(name: string, body: (ctx: BrowserSuite) => void) {
  if (skipReason) {
    console.warn(`browser tests skipped: ${skipReason}`)
    // Skipped only outside CI, with the reason printed above; in CI a missing chromium fails.
    describe.skip(name, () => body(new BrowserSuite()))
    return
  }
  describe(name, () => {
    const suite = new BrowserSuite()
    beforeAll(async () => {
      const [info, browser] = await Promise.all([consoleHub(), launchBrowser()])
      suite.hub = info
      suite.browser = browser
    }, 180_000)
    afterAll(async () => {
      for (const context of suite.contexts.splice(0)) await context.close().catch(() => {})
      await suite.browser?.close()
    })
    body(suite)
  })
}

export class BrowserSuite {
  hub!: ConsoleHubInfo
  browser!: Browser
  readonly contexts: BrowserContext[] = []

  /**
   * A fresh browser context (its own storage, so logged out, in Chinese) with one page at
   * the desktop or phone size, its base URL the hub.
   */
  async newPage(size: 'desktop' | 'phone' = 'desktop'): Promise<Page> {
    const phone = size === 'phone'
    const context = await this.browser.newContext({
      baseURL: this.hub.url,
      viewport: phone ? PHONE : DESKTOP,
      // 1: screenshots come out at the CSS size (390×844), whatever a real phone's density.
      deviceScaleFactor: 1,
      isMobile: phone,
      hasTouch: phone,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
    })
    // Times each page's data in the page's own clock (measureShown).
    await context.addInitScript({ path: SHOWN_WATCH_SCRIPT })
    this.contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(15_000)
    return page
  }

  /**
   * Logs in through the login page (the demo login unless given; `suite.hub.finance` for the
   * finance clerk) and waits for the shell.
   */
  async login(page: Page, as: { username?: string; password?: string } = {}) {
    if (!page.url().includes('/login')) await page.goto('/login')
    await page.locator('input[name=username]').fill(as.username ?? this.hub.username)
    await page.locator('input[name=password]').fill(as.password ?? this.hub.password)
    await page.getByTestId('login-submit').click()
    await page.getByTestId('menu-toggle').waitFor()
  }
}

/**
 * The hub's API as a user (the demo admin unless given), for what a test needs but does not
 * exercise through the console: choosing test data, making a record or a user. Each call
 * answers the parsed JSON and fails the test, naming the route, on anything but a 2xx.
 */
export async function hubApi(
  hub: ConsoleHubInfo,
  as: { username: string; password: string } = hub,
): Promise<<T = Record<string, unknown>>(method: string, path: string, body?: unknown) => Promise<T>> {
  const login = await fetch(`${hub.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: as.username, password: as.password }),
  })
  if (!login.ok) throw new Error(`login as ${as.username}: ${login.status} ${await login.text()}`)
  const { token } = (await login.json()) as { token: string }
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await fetch(`${hub.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${await answer.text()}`)
    return (await answer.json()) as T
  }
}

/**
 * The text the user sees in an element: rendered (hidden parts left out, one line per block),
 * which is what the tests assert on. `lines` splits it into trimmed, non-empty lines.
 */
export async function shownText(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's rendered text is the point here
  return locator.innerText()
}

export async function shownLines(locator: Locator): Promise<string[]> {
  return (await shownText(locator))
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--font-render-hinting=none'],
  })
}

/**
 * Screenshots of the page as it is, at 1366×768 and at 390×844, into
 * test-output/screenshots/<name>-1366x768.png and <name>-390x844.png. The viewport is set
 * back afterwards.
 */
export async function shoot(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const before = page.viewportSize()
  const files: string[] = []
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size)
    // Let the layout follow the media queries (menu → drawer) and transitions end.
    await page.waitForTimeout(400)
    const file = join(SCREENSHOT_DIR, `${name}-${size.width}x${size.height}.png`)
    await page.screenshot({ path: file, animations: 'disabled' })
    files.push(file)
  }
  if (before) {
    await page.setViewportSize(before)
    await page.waitForTimeout(200)
  }
  return files
}

/** Prints how long each API call of the page took (hub and network), to see where time goes. */
export function logApiTimes(page: Page, label: string) {
  page.on('requestfinished', (request) => {
    const url = new URL(request.url())
    if (!url.pathname.startsWith('/api/')) return
    const timing = request.timing()
    console.log(
      `  [api] ${label} ${url.pathname}${url.search.slice(0, 60)} ${Math.round(timing.responseEnd)} ms`,
    )
  })
}

export interface Timing {
  readonly label: string
  /** From the user's input (or the document's navigation start) to the frame that paints it. */
  readonly ms: number
  /** What the page itself reports (usePageTiming's data-loaded-ms), if it does. */
  readonly pageMs: number | null
  /** When Playwright's polling (20 … 500 ms apart) noticed it, from the navigate call. */
  readonly polledMs: number
}

/**
 * Milliseconds from `navigate` (e.g. `() => page.goto('/meter-reads')` or a menu click) until
 * `selector` (the data, not the frame; with `hasText` in it, if given) is visible, timed in
 * the page (shown-watch.page.js: from the click's pointerdown or the load's navigation start
 * to the painting frame); printed and appended to test-output/timings.txt. Compare with
 * PAGE_BUDGET_MS.
 */
export async function measureShown(
  page: Page,
  selector: string,
  options: { label: string; navigate?: () => Promise<unknown>; hasText?: string },
): Promise<Timing> {
  // A string: evaluated in the page (the test's own types have no DOM).
  await page.evaluate(
    `window.__ehShown.watch(${JSON.stringify(selector)}, ${JSON.stringify(options.hasText ?? null)})`,
  )
  const started = performance.now()
  if (options.navigate) await options.navigate()
  else await page.evaluate('window.__ehShown.startNow()')
  const locator = options.hasText
    ? page.locator(selector, { hasText: options.hasText })
    : page.locator(selector)
  await locator.first().waitFor({ state: 'visible' })
  const polledMs = Math.round(performance.now() - started)
  const shown = await page.waitForFunction('window.__ehShown && window.__ehShown.result()', undefined, {
    timeout: 5000,
  })
  const ms = (await shown.jsonValue()) as number
  const attribute = await page
    .locator('[data-loaded-ms]')
    .first()
    .getAttribute('data-loaded-ms', { timeout: 2000 })
    .catch(() => null)
  const pageMs = attribute === null ? null : Number(attribute)
  const what = options.hasText ? `${selector} with "${options.hasText}"` : selector
  const line =
    `${options.label}: ${ms} ms to show ${what}` +
    ` (${pageMs === null ? '' : `the page reports ${pageMs} ms; `}Playwright's polling saw it after ${polledMs} ms)`
  console.log(`  [timing] ${line}`)
  mkdirSync(OUTPUT_DIR, { recursive: true })
  appendFileSync(join(OUTPUT_DIR, 'timings.txt'), `${new Date().toISOString()} ${line}\n`)
  return { label: options.label, ms, pageMs, polledMs }
}
