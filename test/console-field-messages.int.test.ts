import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recogniseHubMessage } from '../dashboards/console/src/api/hub-message-patterns.ts'
import en from '../dashboards/console/src/i18n/en.ts'
import zhCN from '../dashboards/console/src/i18n/zh-CN.ts'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

// The console shows the hub's field errors in the user's language by recognising the shapes of
// the hub's English sentences (dashboards/console/src/api/hub-message-patterns.ts). Here the
// real hub answers bad input of every common kind, and each sentence it writes must be one the
// console knows, with a catalogue text in both languages that uses only the parameters found.

const pglite = storeBackends().find((backend) => backend.name === 'pglite')
if (!pglite) throw new Error('the PGlite backend is always available')

describe('the hub’s field messages, as the console shows them', () => {
  let hub: TestHub
  let org: TwoEstates
  const details: { request: string; field: string; message: string }[] = []

  async function send(method: 'POST' | 'PATCH' | 'GET', url: string, payload?: object) {
    const answer = await hub.call(org.rootToken, { method, url, ...(payload ? { payload } : {}) })
    expect(answer.status, `${method} ${url} should be refused`).toBeGreaterThanOrEqual(400)
    for (const detail of answer.body.details as { field: string; message: string }[])
      details.push({ request: `${method} ${url}`, ...detail })
    return answer
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
  })
  afterAll(() => hub?.close())

  it('are each a shape the console knows', () => {
    expect(details.length).toBeGreaterThan(8)
    const unknown = details.filter((detail) => recogniseHubMessage(detail.message) === null)
    expect(unknown, 'sentences the console would show in English').toEqual([])
  })

  it('have a text in both catalogues that uses only the parameters the sentence gives', () => {
    for (const detail of details) {
      const known = recogniseHubMessage(detail.message)
      if (!known) continue
      for (const catalogue of [zhCN, en]) {
        const text: string = catalogue.errors.messages[known.key]
        expect(text, `${known.key} for “${detail.message}”`).toBeTruthy()
        for (const [, name] of text.matchAll(/\{(\w+)\}/g)) expect(Object.keys(known.params)).toContain(name)
      }
    }
  })

  it('include a refusal with no field, such as approving one’s own request', async () => {
    const own = await hub.call(org.rootToken, {
      method: 'POST',
      url: `/api/v1/approvals/${org.a.approvalId}/approve`,
    })
    expect(own.status).toBe(403)
    expect(recogniseHubMessage(own.body.message)?.key).toBe('selfApproval')
  })

  it('include a wrong password, said on the login page', async () => {
    const login = await hub.call(undefined, {
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'root-admin', password: 'not-the-password' },
    })
    expect(login.status).toBe(401)
    expect(recogniseHubMessage(login.body.message)?.key).toBe('wrongLogin')
  })

  it('name the limits and values the hub gave', () => {
    const byMessage = new Map(details.map((detail) => [detail.message, recogniseHubMessage(detail.message)]))
    const required = [...byMessage.values()].find((known) => known?.key === 'required')
    expect(required).toBeDefined()
    const oneOf = [...byMessage.entries()].find(([, known]) => known?.key === 'oneOf')
    expect(oneOf?.[1]?.params.values).toContain('residence')
    const tooLong = [...byMessage.values()].find((known) => known?.key === 'maxLength')
    expect(Number(tooLong?.params.limit)).toBeGreaterThan(0)
    const decimals = [...byMessage.values()].find((known) => known?.key.startsWith('decimals'))
    expect(decimals?.params.scale).toBe('2')
  })
})

/** A unit code that already exists in estate A (the fixture made one). */
async function unitCode(hub: TestHub, org: TwoEstates): Promise<unknown> {
  const unit = await hub.call(org.rootToken, { method: 'GET', url: `/api/v1/units/${org.a.unitId}` })
  return unit.body.code
}
