import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import en from '../dashboards/console/src/i18n/en.ts'
import errorRulesEn from '../dashboards/console/src/i18n/error-rules.en.ts'
import errorRulesZhCN from '../dashboards/console/src/i18n/error-rules.zh-CN.ts'
import zhCN from '../dashboards/console/src/i18n/zh-CN.ts'
import { errorRuleKeys } from '../hub/kernel/error-rules.ts'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

// The console shows the hub's errors in the user's language by their rule key and parameters
// (hub/kernel/error-rules.ts → errors.rules in both catalogues). Here the real hub answers bad
// input of every common kind, Fastify's own refusals included, and every detail it writes must
// carry a rule the hub defines, with a catalogue text in both languages that uses only the
// parameters the hub gave.

const pglite = storeBackends().find((backend) => backend.name === 'pglite')
if (!pglite) throw new Error('the PGlite backend is always available')

interface Said {
  request: string
  field: string
  rule: unknown
  params: Record<string, unknown>
  message: string
}

const catalogues = { 'zh-CN': zhCN.errors.rules, en: en.errors.rules } as const

describe('the hub’s errors, as the console shows them', () => {
  let hub: TestHub
  let org: TwoEstates
  const details: Said[] = []
  const summaries: Said[] = []

  async function record(request: string, answer: { status: number; body: Record<string, unknown> }) {
    expect(answer.status, `${request} should be refused`).toBeGreaterThanOrEqual(400)
    const body = answer.body as { rule?: unknown; params?: Record<string, unknown>; message: string }
    summaries.push({ request, field: '', rule: body.rule, params: body.params ?? {}, message: body.message })
    for (const detail of answer.body.details as Omit<Said, 'request'>[]) details.push({ request, ...detail })
    return answer
  }

  async function send(method: 'POST' | 'PATCH' | 'GET', url: string, payload?: object) {
    const answer = await hub.call(org.rootToken, { method, url, ...(payload ? { payload } : {}) })
    return record(`${method} ${url}`, answer)
  }

  async function raw(method: 'POST' | 'GET', url: string, headers: Record<string, string>, payload?: string) {
    const answer = await hub.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${org.rootToken}`, ...headers },
      ...(payload === undefined ? {} : { payload }),
    })
    return record(`${method} ${url} (${headers['content-type'] ?? 'no type'})`, {
      status: answer.statusCode,
      body: answer.json(),
    })
  }

  beforeAll(async () => {
    hub = await openTestHub(pglite)
    org = await twoEstates(hub)
    const unit = {
      buildingId: org.a.buildingId,
      code: 'FM-1',
      floor: 1,
      areaM2: '80',
      use: 'residence',
      status: 'vacant',
    }
    // Schema validation: types, enums, unknown and missing fields, lengths, bounds, formats.
    await send('POST', '/api/v1/units', {
      ...unit,
      code: undefined,
      floor: 'two',
      use: 'castle',
      colour: 'red',
    })
    await send('POST', '/api/v1/units', { ...unit, code: '' })
    await send('POST', '/api/v1/units', { ...unit, code: 'x'.repeat(500) })
    await send('GET', '/api/v1/units?buildingId=not-a-uuid')
    await send('POST', '/api/v1/fee-items', {
      estateId: org.a.estateId,
      code: 'FM',
      name: '测试',
      kind: 'fixed',
      cycle: 'monthly',
      dueDays: -1,
    })
    // The hub's own checks: decimals, duplicates, the desk's money rules.
    await send('POST', '/api/v1/units', { ...unit, areaM2: 12.345 })
    await send('POST', '/api/v1/approvals', {
      estateId: org.a.estateId,
      kind: 'refund',
      paymentId: org.a.paymentId,
      amount: '999999.00',
      reason: '退多了',
    })
    await send('POST', '/api/v1/approvals', {
      estateId: org.a.estateId,
      kind: 'refund',
      paymentId: org.a.paymentId,
      amount: '1.005',
      reason: '测试',
    })
    await send('POST', '/api/v1/units', { ...unit, code: (await unitCode(hub, org)) as string })
    await send('GET', '/api/v1/units/00000000-0000-4000-8000-000000000000')
    // Fastify's own refusals, before any route runs: the same shape.
    await send('GET', '/api/v1/no-such-thing')
    await raw('POST', '/api/v1/units', { 'content-type': 'application/json' }, '{"code": ')
    await raw('POST', '/api/v1/units', { 'content-type': 'application/json' }, '')
    await raw('POST', '/api/v1/units', { 'content-type': 'application/x-unknown' }, 'x')
    await send('GET', '/api/v1/units/%E0%A4%A')
  })
  afterAll(() => hub?.close())

  it('each carry a rule the hub defines, with parameters', () => {
    expect(details.length).toBeGreaterThan(12)
    const unknown = details.filter((detail) => !errorRuleKeys.includes(detail.rule as never))
    expect(unknown, 'details without a known rule').toEqual([])
    for (const detail of details) expect(typeof detail.params, detail.request).toBe('object')
    const summaries_ = summaries.filter((summary) => summary.rule !== undefined)
    expect(summaries_.length).toBe(summaries.length)
    for (const summary of summaries) expect(errorRuleKeys, summary.request).toContain(summary.rule)
  })

  it('have a text in both catalogues for every rule the hub defines', () => {
    for (const [locale, texts] of Object.entries(catalogues)) {
      const missing = errorRuleKeys.filter((rule) => !(texts as Record<string, string>)[rule])
      expect(missing, `rules without a ${locale} text`).toEqual([])
    }
    // The catalogues know no rule the hub does not define (a renamed key would linger).
    expect(Object.keys(errorRulesZhCN).sort()).toEqual([...errorRuleKeys].sort())
    expect(Object.keys(errorRulesEn).sort()).toEqual([...errorRuleKeys].sort())
  })

  it('have texts that use only the parameters the hub gave', () => {
    for (const said of [...details, ...summaries]) {
      for (const texts of Object.values(catalogues)) {
        const text = (texts as Record<string, string>)[said.rule as string] ?? ''
        for (const [, name] of text.matchAll(/\{(\w+)\}/g))
          expect(Object.keys(said.params), `${said.rule} in ${said.request}`).toContain(name)
      }
    }
  })

  it('include a refusal with no field, such as approving one’s own request', async () => {
    const own = await hub.call(org.rootToken, {
      method: 'POST',
      url: `/api/v1/approvals/${org.a.approvalId}/approve`,
    })
    expect(own.status).toBe(403)
    expect(own.body.details).toEqual([])
    expect(own.body.rule).toBe('approval.selfApproval')
  })

  it('include a wrong password, said on the login page', async () => {
    const login = await hub.call(undefined, {
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'root-admin', password: 'not-the-password' },
    })
    expect(login.status).toBe(401)
    expect(login.body.rule).toBe('auth.wrongLogin')
  })

  it('name the limits and values the hub gave', () => {
    const byRule = (rule: string) => details.find((detail) => detail.rule === rule)
    expect(byRule('field.required')?.field).toBe('body.code')
    expect(byRule('field.unknown')?.field).toBe('body.colour')
    expect(String(byRule('value.oneOf')?.params.values)).toContain('residence')
    expect(Number(byRule('string.maxLength')?.params.limit)).toBeGreaterThan(0)
    expect(byRule('decimal.places')?.params.max).toBe(2)
    expect(byRule('string.format')?.params.format).toBe('uuid')
    expect(byRule('record.notFound')?.field).toBe('params.id')
    expect(byRule('request.badJson')?.field).toBe('request')
    expect(byRule('request.mediaType')?.field).toBe('headers.content-type')
    expect(byRule('request.badUrl')?.field).toBe('request')
    const route = summaries.find((summary) => summary.rule === 'route.unknown')
    expect(route?.params).toEqual({ method: 'GET', path: '/api/v1/no-such-thing' })
  })
})

/** A unit code that already exists in estate A (the fixture made one). */
async function unitCode(hub: TestHub, org: TwoEstates): Promise<unknown> {
  const unit = await hub.call(org.rootToken, { method: 'GET', url: `/api/v1/units/${org.a.unitId}` })
  return unit.body.code
}
