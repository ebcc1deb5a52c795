import type { EstateIds } from './estate-fixture.ts'
import { type Operation, sample } from './openapi-walk.ts'

/**
 * A valid request for each documented operation, with every id taken from one estate's
 * fixture (estate-fixture.ts): the access walk aims it at the other estate, the hostile
 * suite spoils one part of it at a time.
 */
// Path segment before `{id}` → which fixture id it takes.
export const idBySegment: Record<string, keyof EstateIds> = {
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
export const idByField: Record<string, keyof EstateIds> = {
  parentMeterId: 'meterId',
  shareMeterId: 'meterId',
  nodeId: 'estateId',
  parentId: 'estateId',
  channelId: 'notificationChannelId',
}
export interface Side {
  ids: EstateIds
  userId: string
  grantId: string
  /** A notification delivery (a small number, so kept out of EstateIds and its leak check). */
  deliveryId: string
}

export function requestFor(op: Operation, side: Side) {
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
