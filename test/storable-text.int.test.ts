import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_BODY_DEPTH } from '../hub/kernel/storable-text.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

// Text PostgreSQL cannot store (NUL, an unpaired surrogate) is refused at the edge with a 400
// naming the field, on every route, before a handler or an access decision reads the store.
describe.each(storeBackends())('unstorable text on $name', (backend) => {
  let hub: TestHub
  let root: string
  let companyId: string
  let estateId: string
  beforeAll(async () => {
    hub = await openTestHub(backend)
    root = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
    const post = async (url: string, payload: object) => {
      const response = await hub.call(root, { method: 'POST', url, payload })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      return response.body.id as string
    }
    const groupId = await post('/api/v1/org-nodes', { kind: 'group', code: 'G1', name: 'Group' })
    companyId = await post('/api/v1/org-nodes', {
      kind: 'company',
      parentId: groupId,
      code: 'C1',
      name: 'Co',
    })
    estateId = await post('/api/v1/org-nodes', { kind: 'estate', parentId: companyId, code: 'E1', name: 'E' })
  })
  afterAll(() => hub?.close())

  const count = async (table: 'orgNodes' | 'buildings' | 'users') => {
    const row = await hub.store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
  const expectRefused = (
    response: { status: number; body: any },
    field: string,
    character: 'NUL' | 'unpaired surrogate',
  ) => {
    expect(response.status, JSON.stringify(response.body)).toBe(400)
    expect(response.body).toMatchObject({
      error: 'EH_ERR_VALIDATION',
      rule: 'text.unstorable',
      params: { character },
      details: [{ field, rule: 'text.unstorable', params: { character } }],
    })
  }
  const bad = { NUL: 'a\u0000b', 'unpaired surrogate': 'a\uD800b' } as const

  for (const [character, text] of Object.entries(bad) as ['NUL' | 'unpaired surrogate', string][]) {
    it(`refuses ${character} in the login body without an account lookup`, async () => {
      const users = await count('users')
      const response = await hub.call(undefined, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: text, password: 'whatever-it-is-1' },
      })
      expectRefused(response, 'body.username', character)
      expect(await count('users')).toBe(users)
      // The same with the bad text as a JSON escape, as a client would send it.
      const escaped = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: `{"username":"root-admin","password":"x${character === 'NUL' ? '\\u0000' : '\\ud800'}y"}`,
      })
      expectRefused({ status: escaped.statusCode, body: escaped.json() }, 'body.password', character)
    })

    it(`refuses ${character} in the query string (q), with or without a token`, async () => {
      if (character === 'NUL') {
        const url = `/api/v1/buildings?estateId=${estateId}&q=${encodeURIComponent(text)}`
        expectRefused(await hub.call(root, { method: 'GET', url }), 'query.q', character)
        // Before authentication: without a token it is the same 400, not a session lookup.
        expectRefused(await hub.call(undefined, { method: 'GET', url }), 'query.q', character)
      } else {
        // A lone surrogate cannot be percent-encoded (encodeURIComponent throws); its UTF-8-like
        // bytes %ED%A0%80 are not UTF-8 and never decode to one. Whatever the parser makes of
        // them, the answer is not a 500.
        const raw = `/api/v1/buildings?estateId=${estateId}&q=a%ED%A0%80b`
        expect((await hub.call(root, { method: 'GET', url: raw })).status).toBeLessThan(500)
      }
    })

    it(`refuses ${character} in nested fields of several routes; nothing is stored`, async () => {
      const nodes = await count('orgNodes')
      const buildings = await count('buildings')
      expectRefused(
        await hub.call(root, {
          method: 'POST',
          url: '/api/v1/org-nodes',
          payload: { kind: 'estate', parentId: companyId, code: 'E2', name: text },
        }),
        'body.name',
        character,
      )
      expectRefused(
        await hub.call(root, {
          method: 'POST',
          url: '/api/v1/buildings',
          payload: { estateId, code: 'B1', name: 'ok', lines: [{}, {}, { note: ['ok', text] }] },
        }),
        'body.lines.2.note.1',
        character,
      )
      expectRefused(
        await hub.call(root, {
          method: 'POST',
          url: '/api/v1/users',
          payload: {
            username: 'clerk',
            password: 'long-enough-pw-1',
            grants: [{ role: 'admin', nodeId: text }],
          },
        }),
        'body.grants.0.nodeId',
        character,
      )
      expect(await count('orgNodes')).toBe(nodes)
      expect(await count('buildings')).toBe(buildings)
    })

    it(`refuses ${character} in a JSON key, naming the key with the character escaped`, async () => {
      const response = await hub.call(root, {
        method: 'POST',
        url: '/api/v1/buildings',
        payload: { estateId, code: 'B1', name: 'ok', extra: { [text]: 1 } },
      })
      const escaped = character === 'NUL' ? '\\u0000' : '\\uD800'
      expectRefused(response, `body.extra.a${escaped}b`, character)
    })
  }

  it('refuses NUL in a path parameter', async () => {
    const response = await hub.call(root, { method: 'GET', url: '/api/v1/buildings/a%00b' })
    expectRefused(response, 'params.id', 'NUL')
  })

  it('refuses a body nested deeper than the limit, even 10,000 deep, with its own rule', async () => {
    for (const depth of [MAX_BODY_DEPTH + 1, 10_000]) {
      const payload = `{"estateId":"${estateId}","code":"B9","name":"x","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`
      const response = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/buildings',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${root}` },
        payload,
      })
      expect(response.statusCode, response.body).toBe(400)
      expect(response.json()).toMatchObject({ rule: 'request.tooDeep', params: { max: MAX_BODY_DEPTH } })
    }
    expect(await count('buildings')).toBe(0)
  })

  it('refuses a number that is not finite: Infinity in a query (coerced), 1e309 in a body', async () => {
    // Ajv's coercion turns the text Infinity into a number that passes `type: integer`.
    const query = await hub.call(root, {
      method: 'GET',
      url: `/api/v1/estates/${estateId}/presence?offlineAfterIntervals=Infinity`,
    })
    expect(query.status, JSON.stringify(query.body)).toBe(400)
    expect(query.body).toMatchObject({
      rule: 'number.finite',
      details: [{ field: 'query.offlineAfterIntervals', rule: 'number.finite' }],
    })
    const body = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/buildings',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${root}` },
      payload: `{"estateId":"${estateId}","code":"B8","name":"x","floorsAbove":1e309}`,
    })
    expect(body.statusCode, body.body).toBe(400)
    expect(body.json().details.map((d: { field: string }) => d.field)).toContain('body.floorsAbove')
    expect(await count('buildings')).toBe(0)
  })

  it('still accepts text the store can hold: CJK, emoji (a surrogate pair), tabs', async () => {
    const response = await hub.call(root, {
      method: 'POST',
      url: '/api/v1/buildings',
      payload: { estateId, code: 'B1', name: '1号楼 🏢\tEast' },
    })
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    expect(response.body.name).toBe('1号楼 🏢\tEast')
  })
})
