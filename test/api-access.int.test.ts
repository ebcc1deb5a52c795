import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { type Operation, operationsOf } from './support/openapi-walk.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'
import { requestFor, type Side } from './support/walk-requests.ts'

// Routes about the caller themselves, with no id of anyone else's to misuse.
const selfRoutes = new Set(['POST /api/v1/auth/logout', 'POST /api/v1/auth/password'])
// Routes the walk must reach: a documented route is walked by itself, so these fail here if
// they ever drop out of the document (the console's assign picker and meter-read tab counts).
const mustWalk = ['GET /api/v1/work-orders/assignees', 'GET /api/v1/meter-reads/counts']

describe.each(storeBackends())('access across estates on $name', (backend) => {
  let hub: TestHub
  let org: TwoEstates
  let operations: Operation[]
  const sides: Record<'a' | 'b', Side> = {} as never
  let adminA: string
  let viewerA: string

  beforeAll(async () => {
    hub = await openTestHub(backend)
    org = await twoEstates(hub)
    for (const name of ['a', 'b'] as const) {
      const created = await hub.call(org.rootToken, {
        method: 'POST',
        url: '/api/v1/users',
        payload: {
          username: `clerk-${name}`,
          password: 'a-long-password-1',
          grants: [{ role: 'finance', nodeId: org[name].estateId }],
        },
      })
      expect(created.status).toBe(201)
      const delivery = await hub.store.db
        .selectFrom('notificationDeliveries')
        .select('id')
        .where('channelId', '=', org[name].notificationChannelId)
        .executeTakeFirstOrThrow()
      sides[name] = {
        ids: org[name],
        userId: created.body.id,
        grantId: created.body.grants[0].id,
        deliveryId: String(delivery.id),
      }
    }
    adminA = await hub.userWithGrants('admin-a', [{ role: 'admin', nodeId: org.a.estateId }])
    viewerA = await hub.userWithGrants('viewer-a', [{ role: 'viewer', nodeId: org.a.estateId }])
    const doc = await hub.call(undefined, { method: 'GET', url: '/docs/json' })
    expect(doc.status).toBe(200)
    operations = operationsOf(doc.body).filter(
      (op) => op.secured && !selfRoutes.has(`${op.method} ${op.path}`),
    )
  })
  afterAll(() => hub?.close())

  it('documents the routes it serves, each behind a token', async () => {
    expect(operations.length).toBeGreaterThan(40)
    expect(operations.map((o) => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(mustWalk))
    for (const op of operations.filter((o) => o.method === 'GET' && o.pathParams.length === 0)) {
      expect((await hub.call(undefined, { method: 'GET', url: op.path })).status, op.path).toBe(401)
    }
  })

  it("refuses an estate-A admin every route with estate B's ids", async () => {
    const failures: string[] = []
    for (const op of operations) {
      const request = requestFor(op, sides.b)
      const response = await hub.call(adminA, request)
      const label = `${request.method} ${request.url} ${JSON.stringify(request.payload ?? '')} -> ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`
      if (request.referencesOther) {
        if (response.status !== 403 && response.status !== 404) failures.push(label)
      } else {
        // Lists with no id to aim at must answer, and show nothing of estate B.
        const text = JSON.stringify(response.body)
        const leaked = Object.values(sides.b.ids).filter((id) => text.includes(id))
        if (response.status !== 200 || leaked.length > 0) failures.push(`${label} leaked ${leaked.join(',')}`)
      }
    }
    expect(failures).toEqual([])
  })

  it("serves the same reads with estate A's own ids (so the refusals above are about scope)", async () => {
    const failures: string[] = []
    for (const op of operations.filter((o) => o.method === 'GET')) {
      const request = requestFor(op, sides.a)
      const response = await hub.call(adminA, request)
      if (response.status !== 200)
        failures.push(`${request.url} -> ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`)
    }
    expect(failures).toEqual([])
  })

  it("refuses a viewer's every write, even in the viewer's own estate", async () => {
    const failures: string[] = []
    for (const op of operations.filter((o) => o.method !== 'GET')) {
      const request = requestFor(op, sides.a)
      const response = await hub.call(viewerA, request)
      if (response.status !== 403 && response.status !== 404) {
        failures.push(
          `${request.method} ${request.url} -> ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`,
        )
      }
    }
    expect(failures).toEqual([])
    const write = await hub.call(viewerA, {
      method: 'PATCH',
      url: `/api/v1/units/${org.a.unitId}`,
      payload: { status: 'vacant' },
    })
    expect(write.status).toBe(403)
    expect(write.body.error).toBe('EH_ERR_FORBIDDEN')
  })
})
