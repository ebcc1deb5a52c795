import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrgChain } from '../hub/org/org-chain.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Who an order can be assigned to (GET /api/v1/work-orders/assignees): the active users
 * holding workOrders.manage on the estate or a node above it, asked by someone who may work
 * the estate's orders, so a service-desk user can assign an engineer without the admin's
 * user list. Two estates A and B under one company.
 */
for (const backend of storeBackends()) {
  describe(`work-order assignees (${backend.name})`, () => {
    let hub: TestHub
    let estateA: string
    let estateB: string
    let companyId: string
    const token: Record<string, string> = {}
    const userId: Record<string, string> = {}

    const assignees = (who: string, query: string) =>
      hub.call(token[who], { method: 'GET', url: `/api/v1/work-orders/assignees?${query}` })
    const usernames = async (who: string, estateId: string) => {
      const answer = await assignees(who, `estateId=${estateId}`)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      return (answer.body.items as { username: string }[]).map((u) => u.username)
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      const chain = await createOrgChain(hub.store.db, {
        group: { code: 'G' },
        company: { code: 'K' },
        estate: { code: 'A', name: '甲小区' },
      })
      estateA = chain.estateId
      companyId = chain.companyId
      token.root = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
      const b = await hub.call(token.root, {
        method: 'POST',
        url: '/api/v1/org-nodes',
        payload: { kind: 'estate', parentId: companyId, code: 'B', name: '乙小区' },
      })
      expect(b.status, JSON.stringify(b.body)).toBe(201)
      estateB = b.body.id
      const people: [string, { role: 'engineering' | 'service' | 'finance' | 'viewer'; nodeId: string }[]][] =
        [
          ['svc-a', [{ role: 'service', nodeId: estateA }]],
          ['eng-a', [{ role: 'engineering', nodeId: estateA }]],
          ['eng-off', [{ role: 'engineering', nodeId: estateA }]],
          ['eng-b', [{ role: 'engineering', nodeId: estateB }]],
          ['eng-company', [{ role: 'engineering', nodeId: companyId }]],
          ['fin-a', [{ role: 'finance', nodeId: estateA }]],
          ['viewer-a', [{ role: 'viewer', nodeId: estateA }]],
          [
            'svc-eng-a',
            [
              { role: 'viewer', nodeId: estateA },
              { role: 'service', nodeId: estateA },
              { role: 'engineering', nodeId: companyId },
            ],
          ],
          ['svc-b', [{ role: 'service', nodeId: estateB }]],
        ]
      for (const [name, grants] of people) {
        token[name] = await hub.userWithGrants(name, grants)
        const me = await hub.call(token[name], { method: 'GET', url: '/api/v1/auth/me' })
        userId[name] = me.body.id
      }
      const disabled = await hub.call(token.root, {
        method: 'PATCH',
        url: `/api/v1/users/${userId['eng-off']}`,
        payload: { disabled: true },
      })
      expect(disabled.status, JSON.stringify(disabled.body)).toBe(200)
    })
    afterAll(() => hub?.close())

    it('lists the active users who may work orders in the estate, with their roles there, never a password', async () => {
      const answer = await assignees('svc-a', `estateId=${estateA}`)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      const items = answer.body.items as Record<string, unknown>[]
      expect(items.map((u) => u.username).sort()).toEqual(
        ['eng-a', 'eng-company', 'root-admin', 'svc-a', 'svc-eng-a'].sort(),
      )
      const byName = new Map(items.map((u) => [u.username, u]))
      expect(byName.get('eng-a')).toEqual({
        id: userId['eng-a'],
        username: 'eng-a',
        displayName: 'eng-a',
        roles: ['engineering'],
      })
      // Granted on the whole organisation or on the company above: listed, by that role.
      expect(byName.get('root-admin')?.roles).toEqual(['admin'])
      expect(byName.get('eng-company')?.roles).toEqual(['engineering'])
      // Only the roles that let them work orders here (not the viewer grant beside them).
      expect(byName.get('svc-eng-a')?.roles).toEqual(['engineering', 'service'])
      for (const user of items)
        expect(Object.keys(user).sort()).toEqual(['displayName', 'id', 'roles', 'username'])
      expect(JSON.stringify(answer.body)).not.toMatch(/password|hash|scrypt/i)
    })

    it("lists estate A's engineer for A but not for B, and B's engineer only for B", async () => {
      const forA = await usernames('root', estateA)
      const forB = await usernames('root', estateB)
      expect(forA).toContain('eng-a')
      expect(forA).not.toContain('eng-b')
      expect(forB).toContain('eng-b')
      expect(forB).not.toContain('eng-a')
      expect(forB).toContain('eng-company')
    })

    it('leaves out a disabled user, and the roles that cannot work orders (finance, viewer)', async () => {
      const forA = await usernames('eng-a', estateA)
      expect(forA).not.toContain('eng-off')
      expect(forA).not.toContain('fin-a')
      expect(forA).not.toContain('viewer-a')
      // Enabled again, the engineer is back.
      const enabled = await hub.call(token.root, {
        method: 'PATCH',
        url: `/api/v1/users/${userId['eng-off']}`,
        payload: { disabled: false },
      })
      expect(enabled.status).toBe(200)
      expect(await usernames('eng-a', estateA)).toContain('eng-off')
      await hub.call(token.root, {
        method: 'PATCH',
        url: `/api/v1/users/${userId['eng-off']}`,
        payload: { disabled: true },
      })
    })

    it('refuses a viewer or a finance clerk of the estate (403) and a user of another estate (404)', async () => {
      for (const who of ['viewer-a', 'fin-a']) {
        const refused = await assignees(who, `estateId=${estateA}`)
        expect(refused.status, who).toBe(403)
        expect(refused.body.error).toBe('EH_ERR_FORBIDDEN')
        expect(refused.body.message).toContain('workOrders.manage')
      }
      const hidden = await assignees('svc-b', `estateId=${estateA}`)
      expect(hidden.status).toBe(404)
      expect(hidden.body.details).toEqual([
        {
          field: 'query.estateId',
          rule: 'record.notFound',
          params: expect.any(Object),
          message: expect.any(String),
        },
      ])
      const unknown = await assignees('root', 'estateId=00000000-0000-4000-8000-000000000000')
      expect(unknown.status).toBe(404)
    })

    it('names the query field that is wrong', async () => {
      const cases: [string, string][] = [
        ['', 'query.estateId'],
        ['estateId=A', 'query.estateId'],
        [`estateId=${companyId}`, 'query.estateId'],
        // Users have no department: the filter is not offered rather than invented.
        [`estateId=${estateA}&department=${encodeURIComponent('工程部')}`, 'query.department'],
      ]
      for (const [query, field] of cases) {
        const answer = await assignees('root', query)
        expect(answer.status, query).toBe(400)
        expect(answer.body.error).toBe('EH_ERR_VALIDATION')
        expect(answer.body.details.map((d: { field: string }) => d.field)).toContain(field)
      }
    })

    it('lets the service desk assign an order to an engineer it was offered', async () => {
      const created = await hub.call(token['svc-a'], {
        method: 'POST',
        url: '/api/v1/work-orders',
        payload: {
          estateId: estateA,
          source: 'desk',
          category: 'plumbing',
          priority: 'normal',
          title: '漏水',
        },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const offered = (await assignees('svc-a', `estateId=${estateA}`)).body.items as {
        id: string
        username: string
      }[]
      const engineer = offered.find((u) => u.username === 'eng-a')!
      for (const [action, body] of [
        ['dispatch', { department: '工程部' }],
        ['assign', { assigneeId: engineer.id }],
      ] as const) {
        const moved = await hub.call(token['svc-a'], {
          method: 'POST',
          url: `/api/v1/work-orders/${created.body.id}/${action}`,
          payload: body,
        })
        expect(moved.status, JSON.stringify(moved.body)).toBe(200)
      }
      const order = await hub.call(token['svc-a'], {
        method: 'GET',
        url: `/api/v1/work-orders/${created.body.id}`,
      })
      expect(order.body.status).toBe('assigned')
      expect(order.body.assigneeId).toBe(userId['eng-a'])
    })
  })
}
