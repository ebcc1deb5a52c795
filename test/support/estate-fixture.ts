import { expect } from 'vitest'
import { jsonb } from '../../hub/store/jsonb.ts'
import type { TestHub } from './test-hub.ts'

/** The ids of one fully furnished estate: one record of every kind the API serves. */
export interface EstateIds {
  estateId: string
  buildingId: string
  unitId: string
  customerId: string
  customerCredentialId: string
  occupancyId: string
  gatewayId: string
  deviceId: string
  pointId: string
  meterId: string
  subMeterId: string
  meterReplacementId: string
  meterReadId: string
  feeItemId: string
  feeStandardId: string
  feeAssignmentId: string
  billRunId: string
  paymentId: string
  approvalId: string
  workOrderId: string
  alarmId: string
  alarmRuleId: string
  notificationChannelId: string
  slaPolicyId: string
  attachmentId: string
}

async function create(hub: TestHub, token: string, url: string, payload: Record<string, unknown>) {
  const response = await hub.call(token, { method: 'POST', url, payload })
  expect(response.status, `${url} ${JSON.stringify(response.body)}`).toBe(201)
  return response.body
}

/** Creates an estate under `companyId` and one of everything in it, through the API. */
export async function furnishEstate(
  hub: TestHub,
  token: string,
  companyId: string,
  code: string,
): Promise<EstateIds> {
  const estate = await create(hub, token, '/api/v1/org-nodes', {
    kind: 'estate',
    parentId: companyId,
    code,
    name: `Estate ${code}`,
  })
  const estateId = estate.id as string
  const building = await create(hub, token, '/api/v1/buildings', {
    estateId,
    code: `${code}-B1`,
    name: 'Building 1',
    floorsAbove: 18,
  })
  const unit = await create(hub, token, '/api/v1/units', {
    buildingId: building.id,
    code: `${code}-1-101`,
    floor: 1,
    areaM2: '89.50',
    use: 'residence',
    status: 'occupied',
  })
  const customer = await create(hub, token, '/api/v1/customers', {
    estateId,
    code: `${code}-C1`,
    kind: 'person',
    name: '张三',
    phone: '13800000000',
  })
  const credential = await create(hub, token, '/api/v1/customer-credentials', {
    customerId: customer.id,
    kind: 'card',
    ref: `${code}-0001`,
  })
  const occupancy = await create(hub, token, '/api/v1/occupancies', {
    unitId: unit.id,
    customerId: customer.id,
    role: 'owner',
    startDate: '2024-01-01',
  })
  const gateway = await create(hub, token, '/api/v1/gateways', {
    estateId,
    code: `gw-${code}`,
    name: 'Gateway 1',
  })
  const device = await create(hub, token, '/api/v1/devices', {
    gatewayId: gateway.gateway.id,
    code: `${code}-M1`,
    name: 'Meter bus 1',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1', port: 5020, unitId: 1 },
  })
  const point = await create(hub, token, '/api/v1/points', {
    deviceId: device.id,
    code: 'energy',
    name: 'Total energy',
    address: { table: 'holding-register', register: 0 },
    dataType: 'uint32',
    byteOrder: 'ABCD',
    scale: '0.01',
    unit: 'kWh',
    kind: 'counter',
  })
  const meter = await create(hub, token, '/api/v1/meters', {
    estateId,
    code: `${code}-E-MAIN`,
    kind: 'electricity',
    location: 'switch room',
    multiplier: 40,
    registerCapacity: '100000',
    pointId: point.id,
  })
  const subMeter = await create(hub, token, '/api/v1/meters', {
    estateId,
    code: `${code}-E-101`,
    kind: 'electricity',
    unitId: unit.id,
    parentMeterId: meter.id,
  })
  const replacement = await create(hub, token, '/api/v1/meter-replacements', {
    meterId: subMeter.id,
    replacedAt: '2025-06-01T08:00:00Z',
    oldFinalReading: '1234.5',
    newStartReading: '0',
    newSerialNumber: 'SN-2',
  })
  // What the hub's ingest and meter-read run would have stored: a latest value for the point
  // and a meter read for the main meter (inserted directly: the walk needs records, not a run).
  await hub.store.db
    .insertInto('latestValues')
    .values({
      pointId: point.id,
      ts: new Date('2025-06-30T16:00:00Z'),
      value: '1234.56',
      quality: 'good',
      valueText: null,
      reason: null,
      lastGoodAt: new Date('2025-06-30T16:00:00Z'),
    })
    .execute()
  const read = await hub.store.db
    .insertInto('meterReads')
    .values({
      estateId,
      meterId: meter.id,
      period: '2025-06',
      periodStart: new Date('2025-05-31T16:00:00Z'),
      cutoffAt: new Date('2025-06-30T16:00:00Z'),
      previousReading: '1000',
      previousAt: new Date('2025-05-31T16:00:00Z'),
      previousSource: 'series',
      currentReading: '1234.56',
      currentAt: new Date('2025-06-30T16:00:00Z'),
      method: 'exact',
      multiplier: '40',
      consumption: '9382.4',
      rollover: false,
      replacements: 0,
      truesUp: false,
      flags: jsonb([]),
      status: 'auto',
      approvedBy: null,
      approvedAt: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  // Fee configuration: the main meter's loss shared (公摊) over building 1 by area.
  const feeItem = await create(hub, token, '/api/v1/fee-items', {
    estateId,
    code: `${code}-GT-E`,
    name: '公摊电费',
    kind: 'shared',
    meterKind: 'electricity',
  })
  const feeStandard = await create(hub, token, '/api/v1/fee-standards', {
    feeItemId: feeItem.id,
    name: '公摊电费 2025',
    price: '0.6800',
    shareBasis: 'area',
    shareSource: 'loss',
    shareMeterId: meter.id,
    validFrom: '2025-01-01',
  })
  const feeAssignment = await create(hub, token, '/api/v1/fee-assignments', {
    feeStandardId: feeStandard.id,
    target: 'building',
    buildingId: building.id,
    validFrom: '2025-01-01',
  })
  // Billing: a previewed bill run, a payment (all of it prepayment) and a refund request.
  const run = await create(hub, token, '/api/v1/bill-runs', { estateId, period: '2025-06', scope: 'estate' })
  const paid = await hub.call(token, {
    method: 'POST',
    url: '/api/v1/payments',
    headers: { 'idempotency-key': `fixture-${code}-payment` },
    payload: { estateId, customerId: customer.id, method: 'cash', amount: '100.00' },
  })
  expect(paid.status, JSON.stringify(paid.body)).toBe(201)
  const approval = await create(hub, token, '/api/v1/approvals', {
    estateId,
    kind: 'refund',
    paymentId: paid.body.paymentId,
    amount: '10.00',
    reason: '预存款退还',
  })
  // Alarms and work orders: a rule, the alarm it raised, a registered order.
  const rule = await create(hub, token, '/api/v1/alarm-rules', {
    estateId,
    name: '门被强行打开',
    kind: 'event',
    eventType: 'forced',
    deviceId: device.id,
    workOrderCategory: 'security',
    workOrderPriority: 'high',
  })
  const alarm = await hub.store.db
    .insertInto('alarms')
    .values({
      estateId,
      ruleId: rule.id,
      source: `${code}-door`,
      status: 'active',
      severity: 'major',
      raisedAt: new Date(),
      lastSeenAt: new Date(),
      details: {},
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  const slaPolicy = await create(hub, token, '/api/v1/sla-policies', {
    estateId,
    category: 'plumbing',
    priority: 'normal',
    respondMinutes: 60,
    completeMinutes: 1440,
  })
  const order = await create(hub, token, '/api/v1/work-orders', {
    estateId,
    source: 'resident',
    category: 'plumbing',
    priority: 'normal',
    title: '厨房漏水',
    unitId: unit.id,
  })
  // A photo of it (the smallest PNG signature the upload accepts).
  const photo = await hub.call(token, {
    method: 'POST',
    url: `/api/v1/work-orders/${order.id}/attachments?name=leak.png`,
    headers: { 'content-type': 'image/png' },
    payload: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]),
  })
  expect(photo.status, JSON.stringify(photo.body)).toBe(201)
  // Notifications: an e-mail channel and one delivery of it that failed (no dispatcher runs here).
  const channel = await create(hub, token, '/api/v1/notification-channels', {
    estateId,
    name: '值班组邮件',
    kind: 'email',
    recipients: [`duty-${code.toLowerCase()}@example.com`],
  })
  await hub.store.db
    .insertInto('notificationDeliveries')
    .values({
      channelId: channel.id,
      topic: 'alarm.raised',
      payload: jsonb({ rule: '门被强行打开', severity: 'critical', source: `${code}-door` }),
      status: 'failed',
      attempts: 10,
      lastError: 'SMTP is not configured: notifications.smtp in the hub config',
    })
    .execute()
  return {
    workOrderId: order.id,
    alarmId: alarm.id,
    alarmRuleId: rule.id,
    notificationChannelId: channel.id,
    slaPolicyId: slaPolicy.id,
    attachmentId: photo.body.id,
    billRunId: run.id,
    paymentId: paid.body.paymentId,
    approvalId: approval.id,
    meterReadId: read.id,
    feeItemId: feeItem.id,
    feeStandardId: feeStandard.id,
    feeAssignmentId: feeAssignment.id,
    estateId,
    buildingId: building.id,
    unitId: unit.id,
    customerId: customer.id,
    customerCredentialId: credential.id,
    occupancyId: occupancy.id,
    gatewayId: gateway.gateway.id,
    deviceId: device.id,
    pointId: point.id,
    meterId: meter.id,
    subMeterId: subMeter.id,
    meterReplacementId: replacement.id,
  }
}

export interface TwoEstates {
  groupId: string
  companyId: string
  a: EstateIds
  b: EstateIds
  rootToken: string
}

/** A group, a company and one furnished estate A (for suites that need no second estate). */
export async function oneEstate(hub: TestHub): Promise<Omit<TwoEstates, 'b'>> {
  const rootToken = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
  const group = await create(hub, rootToken, '/api/v1/org-nodes', { kind: 'group', code: 'G1', name: '集团' })
  const company = await create(hub, rootToken, '/api/v1/org-nodes', {
    kind: 'company',
    parentId: group.id,
    code: 'C1',
    name: '公司',
  })
  const a = await furnishEstate(hub, rootToken, company.id, 'A')
  return { groupId: group.id, companyId: company.id, a, rootToken }
}

/** A group, a company and two furnished estates A and B, made by a whole-organisation admin. */
export async function twoEstates(hub: TestHub): Promise<TwoEstates> {
  const one = await oneEstate(hub)
  const b = await furnishEstate(hub, one.rootToken, one.companyId, 'B')
  return { ...one, b }
}
