// User administration and the organisation tree, seen by admins of different reach: an estate
// admin manages their estate's people and nodes and nothing above or beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, TEST_PASSWORD, type TestHub } from './support/test-hub.ts'

const USERS = '/api/v1/users'
const NODES = '/api/v1/org-nodes'
const PASSWORD = 'a-long-password-1'

const fieldsOf = (body: any): string[] => (body?.details ?? []).map((d: any) => d.field)

describe.each(storeBackends())('users and organisation API on $name', (backend) => {
  let hub: TestHub
  let org: TwoEstates
  let adminA: string
  let adminAId: string
  let adminAGrantId: string
  let viewerA: string
  let companyAdmin: string
  let companyAdminId: string
  let clerkBId: string

  const meOf = async (token: string) => {
    const response = await hub.call(token, { method: 'GET', url: '/api/v1/auth/me' })
    expect(response.status).toBe(200)
    return response.body
  }
  /** Does a user of this name exist, as the whole-organisation admin sees it? */
  const exists = async (username: string) => {
    const response = await hub.call(org.rootToken, { method: 'GET', url: `${USERS}?q=${username}` })
    expect(response.status).toBe(200)
    return response.body.items.some((u: any) => u.username.toLowerCase() === username.toLowerCase())
  }
  const createUser = (token: string, payload: Record<string, unknown>) =>
    hub.call(token, { method: 'POST', url: USERS, payload })

  beforeAll(async () => {
    hub = await openTestHub(backend)
    org = await twoEstates(hub)
    adminA = await hub.userWithGrants('admin-a', [{ role: 'admin', nodeId: org.a.estateId }])
    viewerA = await hub.userWithGrants('viewer-a', [{ role: 'viewer', nodeId: org.a.estateId }])
    companyAdmin = await hub.userWithGrants('co-admin', [
      { role: 'admin', nodeId: org.companyId },
      { role: 'viewer', nodeId: org.a.estateId },
    ])
    const me = await meOf(adminA)
    adminAId = me.id
    adminAGrantId = me.grants[0].id
    companyAdminId = (await meOf(companyAdmin)).id
    const clerkB = await createUser(org.rootToken, {
      username: 'clerk-b',
      password: PASSWORD,
      grants: [{ role: 'finance', nodeId: org.b.estateId }],
    })
    expect(clerkB.status).toBe(201)
    clerkBId = clerkB.body.id
  })
  afterAll(() => hub?.close())

  describe('users', () => {
    it('lets an estate admin create a user with a grant on their estate', async () => {
      const response = await createUser(adminA, {
        username: 'clerk-a',
        displayName: '李四',
        password: PASSWORD,
        grants: [{ role: 'service', nodeId: org.a.estateId }],
      })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      expect(response.body).toMatchObject({ username: 'clerk-a', displayName: '李四', disabled: false })
      expect(response.body.grants).toEqual([
        { id: expect.any(String), role: 'service', nodeId: org.a.estateId, createdAt: expect.any(String) },
      ])
      // The new user can log in and is scoped to estate A.
      const login = await hub.call(undefined, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'clerk-a', password: PASSWORD },
      })
      expect(login.status).toBe(200)
      const nodes = await hub.call(login.body.token, { method: 'GET', url: NODES })
      expect(nodes.body.items.map((n: any) => n.id)).toEqual([org.a.estateId])
    })

    it("refuses an estate admin a grant on another estate with 404 naming the grant's node", async () => {
      const response = await createUser(adminA, {
        username: 'sneaky-b',
        password: PASSWORD,
        grants: [{ role: 'viewer', nodeId: org.b.estateId }],
      })
      expect(response.status).toBe(404)
      expect(response.body.error).toBe('EH_ERR_NOT_FOUND')
      expect(fieldsOf(response.body)).toEqual(['body.grants.0.nodeId'])
      // One bad grant among good ones is named by its index, and nothing is created.
      const mixed = await createUser(adminA, {
        username: 'sneaky-ab',
        password: PASSWORD,
        grants: [
          { role: 'viewer', nodeId: org.a.estateId },
          { role: 'viewer', nodeId: org.b.estateId },
        ],
      })
      expect(mixed.status).toBe(404)
      expect(fieldsOf(mixed.body)).toEqual(['body.grants.1.nodeId'])
      expect(await exists('sneaky-b')).toBe(false)
      expect(await exists('sneaky-ab')).toBe(false)
    })

    it('refuses an estate admin a grant on the company above their estate', async () => {
      const response = await createUser(adminA, {
        username: 'sneaky-co',
        password: PASSWORD,
        grants: [{ role: 'viewer', nodeId: org.companyId }],
      })
      expect([403, 404]).toContain(response.status)
      expect(fieldsOf(response.body)).toEqual(['body.grants.0.nodeId'])
      expect(await exists('sneaky-co')).toBe(false)
    })

    it('refuses an estate admin a global grant with 403', async () => {
      const response = await createUser(adminA, {
        username: 'sneaky-global',
        password: PASSWORD,
        grants: [{ role: 'viewer', nodeId: null }],
      })
      expect(response.status).toBe(403)
      expect(response.body.error).toBe('EH_ERR_FORBIDDEN')
      expect(fieldsOf(response.body)).toEqual(['body.grants.0.nodeId'])
      expect(await exists('sneaky-global')).toBe(false)
    })

    it('refuses an estate admin any change to a company admin who also works in estate A', async () => {
      // Visible (they hold a grant on A), yet not the estate admin's to change.
      const read = await hub.call(adminA, { method: 'GET', url: `${USERS}/${companyAdminId}` })
      expect(read.status).toBe(200)
      for (const payload of [
        { displayName: 'renamed' },
        { disabled: true },
        { password: 'taken-over-123' },
      ]) {
        const response = await hub.call(adminA, {
          method: 'PATCH',
          url: `${USERS}/${companyAdminId}`,
          payload,
        })
        expect(response.status, JSON.stringify(payload)).toBe(403)
        expect(response.body.error).toBe('EH_ERR_FORBIDDEN')
      }
      const companyGrant = read.body.grants.find((g: any) => g.nodeId === org.companyId)
      const withdraw = await hub.call(adminA, {
        method: 'DELETE',
        url: `${USERS}/${companyAdminId}/grants/${companyGrant.id}`,
      })
      expect(withdraw.status).toBe(403)
      // Unchanged: the company admin still works and keeps their name and grants.
      const me = await meOf(companyAdmin)
      expect(me.displayName).toBe('co-admin')
      expect(me.grants).toHaveLength(2)
    })

    it('lists to an estate admin the users with grants in their estate, not those only in another', async () => {
      const response = await hub.call(adminA, { method: 'GET', url: `${USERS}?limit=500` })
      expect(response.status).toBe(200)
      const names = response.body.items.map((u: any) => u.username)
      expect(names).toEqual(expect.arrayContaining(['admin-a', 'viewer-a', 'co-admin']))
      expect(names).not.toContain('clerk-b')
      expect(names).not.toContain('root-admin')
      expect(response.body.total).toBe(names.length)
      const text = JSON.stringify(response.body)
      expect(text).not.toContain(clerkBId)
      expect(text).not.toContain(org.b.estateId)
      expect(text).not.toMatch(/passwordHash|scrypt\$/)
      // Reading that user directly answers as if they did not exist.
      const direct = await hub.call(adminA, { method: 'GET', url: `${USERS}/${clerkBId}` })
      expect(direct.status).toBe(404)
      // A viewer administers no one.
      expect((await hub.call(viewerA, { method: 'GET', url: USERS })).status).toBe(403)
    })

    it('refuses users a role granted to themselves', async () => {
      const self = await hub.call(adminA, {
        method: 'POST',
        url: `${USERS}/${adminAId}/grants`,
        payload: { role: 'finance', nodeId: org.a.estateId },
      })
      expect([400, 403]).toContain(self.status)
      expect(fieldsOf(self.body)).toEqual(['params.id'])
      expect((await meOf(adminA)).grants).toHaveLength(1)
      // Nor may a viewer raise themselves to admin.
      const viewerId = (await meOf(viewerA)).id
      const raise = await hub.call(viewerA, {
        method: 'POST',
        url: `${USERS}/${viewerId}/grants`,
        payload: { role: 'admin', nodeId: org.a.estateId },
      })
      expect(raise.status).toBe(403)
      expect((await meOf(viewerA)).grants.map((g: any) => g.role)).toEqual(['viewer'])
    })

    it('refuses an admin the withdrawal of their own admin grant with 409', async () => {
      const response = await hub.call(adminA, {
        method: 'DELETE',
        url: `${USERS}/${adminAId}/grants/${adminAGrantId}`,
      })
      expect(response.status).toBe(409)
      expect(response.body.error).toBe('EH_ERR_CONFLICT')
      expect(fieldsOf(response.body)).toEqual(['params.grantId'])
      expect((await meOf(adminA)).grants.map((g: any) => g.id)).toEqual([adminAGrantId])
    })

    it('names the field of a validation error', async () => {
      const grants = [{ role: 'viewer', nodeId: org.a.estateId }]
      const short = await createUser(adminA, { username: 'shorty', password: 'short-1', grants })
      expect(short.status).toBe(400)
      expect(short.body.error).toBe('EH_ERR_VALIDATION')
      expect(fieldsOf(short.body)).toEqual(['body.password'])

      const unknown = await createUser(adminA, {
        username: 'keyed',
        password: PASSWORD,
        grants,
        isAdmin: true,
      })
      expect(unknown.status).toBe(400)
      expect(unknown.body.details).toEqual([
        { field: 'body.isAdmin', rule: 'field.unknown', params: {}, message: 'unknown field' },
      ])

      const noGrants = await createUser(adminA, { username: 'grantless', password: PASSWORD, grants: [] })
      expect(noGrants.status).toBe(400)
      expect(fieldsOf(noGrants.body)).toEqual(['body.grants'])

      const containsName = await createUser(adminA, {
        username: 'walker',
        password: 'walker-2025-pw',
        grants,
      })
      expect(containsName.status).toBe(400)
      expect(fieldsOf(containsName.body)).toEqual(['body.password'])

      for (const name of ['shorty', 'keyed', 'grantless', 'walker']) expect(await exists(name)).toBe(false)
    })

    it('refuses a username taken in another case, naming username', async () => {
      const duplicate = await createUser(adminA, {
        username: 'Viewer-A',
        password: PASSWORD,
        grants: [{ role: 'viewer', nodeId: org.a.estateId }],
      })
      expect([400, 409]).toContain(duplicate.status)
      expect(fieldsOf(duplicate.body)).toEqual(['body.username'])
      // The original account is untouched and still logs in with its own password.
      const login = await hub.call(undefined, {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'viewer-a', password: TEST_PASSWORD },
      })
      expect(login.status).toBe(200)
    })
  })

  describe('organisation nodes', () => {
    const createNode = (token: string, payload: Record<string, unknown>) =>
      hub.call(token, { method: 'POST', url: NODES, payload })
    const childrenOfCompany = async () => {
      const response = await hub.call(org.rootToken, {
        method: 'GET',
        url: `${NODES}?parentId=${org.companyId}`,
      })
      expect(response.status).toBe(200)
      return response.body.items.map((n: any) => n.code).sort()
    }

    it('refuses an estate admin a new group with 403', async () => {
      const response = await createNode(adminA, { kind: 'group', code: 'G-X', name: 'Rogue group' })
      expect(response.status).toBe(403)
      expect(response.body.error).toBe('EH_ERR_FORBIDDEN')
      const groups = await hub.call(org.rootToken, { method: 'GET', url: `${NODES}?kind=group` })
      expect(groups.body.items.map((n: any) => n.code)).toEqual(['G1'])
    })

    it('refuses an estate admin a sibling estate under their company', async () => {
      const response = await createNode(adminA, {
        kind: 'estate',
        parentId: org.companyId,
        code: 'A2',
        name: 'Sibling',
      })
      expect([403, 404]).toContain(response.status)
      expect(await childrenOfCompany()).toEqual(['A', 'B'])
    })

    it('lets a company admin create an estate under their company, in Asia/Shanghai by default', async () => {
      const response = await createNode(companyAdmin, {
        kind: 'estate',
        parentId: org.companyId,
        code: 'C',
        name: '滨江花园',
      })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      expect(response.body).toMatchObject({
        kind: 'estate',
        parentId: org.companyId,
        code: 'C',
        name: '滨江花园',
        timezone: 'Asia/Shanghai',
        address: null,
      })
      const explicit = await createNode(companyAdmin, {
        kind: 'estate',
        parentId: org.companyId,
        code: 'D',
        name: '乌鲁木齐项目',
        timezone: 'Asia/Urumqi',
      })
      expect(explicit.status).toBe(201)
      expect(explicit.body.timezone).toBe('Asia/Urumqi')
      // The company admin sees the new estate; the estate-A admin does not.
      const seen = await hub.call(companyAdmin, { method: 'GET', url: `${NODES}?kind=estate` })
      expect(seen.body.items.map((n: any) => n.code).sort()).toEqual(['A', 'B', 'C', 'D'])
      const notSeen = await hub.call(adminA, { method: 'GET', url: `${NODES}/${response.body.id}` })
      expect(notSeen.status).toBe(404)
    })

    it('refuses an unknown time zone with 400 naming body.timezone', async () => {
      const response = await createNode(companyAdmin, {
        kind: 'estate',
        parentId: org.companyId,
        code: 'TZ',
        name: 'Nowhere',
        timezone: 'Mars/Olympus_Mons',
      })
      expect(response.status).toBe(400)
      expect(response.body.error).toBe('EH_ERR_VALIDATION')
      expect(fieldsOf(response.body)).toEqual(['body.timezone'])
      const patch = await hub.call(adminA, {
        method: 'PATCH',
        url: `${NODES}/${org.a.estateId}`,
        payload: { timezone: 'Mars/Olympus_Mons' },
      })
      expect(patch.status).toBe(400)
      expect(fieldsOf(patch.body)).toEqual(['body.timezone'])
      expect(await childrenOfCompany()).not.toContain('TZ')
    })

    it('refuses a company whose parent is an estate with 400 naming body.parentId', async () => {
      const response = await createNode(org.rootToken, {
        kind: 'company',
        parentId: org.a.estateId,
        code: 'C-UNDER-A',
        name: 'Misplaced',
      })
      expect(response.status).toBe(400)
      expect(response.body.error).toBe('EH_ERR_VALIDATION')
      expect(fieldsOf(response.body)).toEqual(['body.parentId'])
      const orphan = await createNode(org.rootToken, { kind: 'estate', code: 'ORPHAN', name: 'No parent' })
      expect(orphan.status).toBe(400)
      expect(fieldsOf(orphan.body)).toEqual(['body.parentId'])
    })

    it('lists to an estate admin only their estate', async () => {
      const response = await hub.call(adminA, { method: 'GET', url: NODES })
      expect(response.status).toBe(200)
      expect(response.body.items.map((n: any) => n.id)).toEqual([org.a.estateId])
      expect(response.body.total).toBe(1)
      // Asking for the children of the company they cannot see answers 404, not an empty page.
      const under = await hub.call(adminA, { method: 'GET', url: `${NODES}?parentId=${org.companyId}` })
      expect(under.status).toBe(404)
    })

    it('lets an admin rename their estate, and refuses a viewer with 403', async () => {
      const renamed = await hub.call(adminA, {
        method: 'PATCH',
        url: `${NODES}/${org.a.estateId}`,
        payload: { name: '翠湖苑一期' },
      })
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200)
      expect(renamed.body).toMatchObject({ id: org.a.estateId, name: '翠湖苑一期', code: 'A' })
      const refused = await hub.call(viewerA, {
        method: 'PATCH',
        url: `${NODES}/${org.a.estateId}`,
        payload: { name: 'Viewer was here' },
      })
      expect(refused.status).toBe(403)
      expect(refused.body.error).toBe('EH_ERR_FORBIDDEN')
      const other = await hub.call(adminA, {
        method: 'PATCH',
        url: `${NODES}/${org.b.estateId}`,
        payload: { name: 'Not mine' },
      })
      expect(other.status).toBe(404)
      const read = await hub.call(viewerA, { method: 'GET', url: `${NODES}/${org.a.estateId}` })
      expect(read.body.name).toBe('翠湖苑一期')
      const b = await hub.call(org.rootToken, { method: 'GET', url: `${NODES}/${org.b.estateId}` })
      expect(b.body.name).toBe('Estate B')
    })
  })
})
