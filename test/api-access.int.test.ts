import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EstateIds, type TwoEstates, twoEstates } from './support/estate-fixture.ts'
import { type Operation, operationsOf, sample } from './support/openapi-walk.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

// Path segment before `{id}` → which fixture id it takes.
const idBySegment: Record<string, keyof EstateIds> = {
  buildings: 'buildingId',
  units: 'unitId',
  customers: 'customerId',
  'customer-credentials': 'customerCredentialId',
  occupancies: 'occupancyId',
  gateways: 'gatewayId',
  devices: 'deviceId',
  points: 'pointId',
  meters: 'meterId',
  'meter-replacements': 'meterReplacementId',
  'meter-reads': 'meterReadId',
  'fee-items': 'feeItemId',
  'fee-standards': 'feeStandardId',
  'fee-assignments': 'feeAssignmentId',
  'bill-runs': 'billRunId',
  payments: 'paymentId',
  approvals: 'approvalId',
  'work-orders': 'workOrderId',
  alarms: 'alarmId',
  'alarm-rules': 'alarmRuleId',
  'notification-channels': 'notificationChannelId',
  'sla-policies': 'slaPolicyId',
  'org-nodes': 'estateId',
}
// Body and query fields → fixture id (fields ending in Id not listed map by their own name).
const idByField: Record<string, keyof EstateIds> = {
  parentMeterId: 'meterId',
  shareMeterId: 'meterId',
  nodeId: 'estateId',
  parentId: 'estateId',
  channelId: 'notificationChannelId',
}
// Routes about the caller themselves, with no id of anyone else's to misuse.
const selfRoutes = new Set(['POST /api/v1/auth/logout'])
// Routes the walk must reach: a documented route is walked by itself, so these fail here if
// they ever drop out of the document (the console's assign picker and meter-read tab counts).
const mustWalk = ['GET /api/v1/work-orders/assignees', 'GET /api/v1/meter-reads/counts']

interface Side {
  ids: EstateIds
  userId: string
  grantId: string
  /** A notification delivery (a small number, so kept out of EstateIds and its leak check). */
  deliveryId: string
}

function requestFor(op: Operation, side: Side) {
  const idFor = (field: string): string | undefined => {
    const key = idByField[field] ?? (field in side.ids ? (field as keyof EstateIds) : undefined)
    return key ? side.ids[key] : side.ids.estateId
  }
  let url = op.path
  for (const param of op.pathParams) {
    let value: string | undefined
    if (param === 'id') {
      const segment = op.path.split('/{id}')[0]!.split('/').at(-1)!
      value =
        segment === 'users'
          ? side.userId
          : segment === 'notification-deliveries'
            ? side.deliveryId
            : side.ids[idBySegment[segment]!]
      if (!value)
        throw new Error(
          `${op.method} ${op.path}: no fixture id for segment "${segment}"; add it to idBySegment`,
        )
    } else if (param === 'grantId') {
      value = side.grantId
    } else if (param === 'kind') {
      value = 'units'
    } else {
      value = idFor(param)
    }
    url = url.replace(`{${param}}`, value!)
  }
  // Every id-bearing query field, and whatever else the route requires (a period, a range).
  const query = Object.entries(op.querySchema?.properties ?? {})
    .filter(([name]) => name.endsWith('Id') || op.querySchema?.required?.includes(name))
    .map(([name, schema]) => `${name}=${sample(schema, name, idFor)}`)
  // An event stream stays open; `once` ends it after its snapshot, so the walk's request ends
  // and the route's scope is checked like any other.
  if (op.eventStream) query.push('once=true')
  const payload = op.bodySchema ? sample(op.bodySchema, 'body', idFor) : undefined
  return {
    method: op.method as 'GET',
    url: query.length > 0 ? `${url}?${query.join('&')}` : url,
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    // Payments need one; the walk is about scope, not about the header.
    headers: { 'idempotency-key': `walk-${op.method}-${op.path}`.slice(0, 200) },
    referencesOther: op.pathParams.length > 0 || query.length > 0 || op.bodySchema !== undefined,
  }
}

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
