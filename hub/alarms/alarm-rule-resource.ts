import { Type } from 'typebox'
import { invalid } from '../api/api-error.ts'
import type { EstateResource } from '../api/estate-resource.ts'
import { Decimal, DecimalOut, Id, Name, Nullable, OneOf, Timestamp } from '../api/schema-parts.ts'

export const alarmRuleKinds = ['event', 'state', 'threshold'] as const
export const alarmEventTypes = [
  'granted',
  'denied',
  'forced',
  'held_open',
  'tamper',
  'alarm_input',
  'state_change',
  'alarm',
] as const
export const alarmSeverities = ['critical', 'major', 'minor', 'info'] as const
export const workOrderPriorities = ['urgent', 'high', 'normal', 'low'] as const

const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) })

const kindFields = {
  eventType: Type.Optional(
    Nullable(OneOf(alarmEventTypes, 'event rules only (required): the device event type that raises')),
  ),
  matchValue: Type.Optional(
    Nullable(Text(200, "state rules only (required): the point value that raises ('1', 'true', 'fault')")),
  ),
  above: Type.Optional(
    Nullable(Decimal(4, 'threshold rules only (required): raises while the value is above this', true)),
  ),
  hysteresis: Type.Optional(
    Decimal(4, 'threshold rules only: clears only at or below above − hysteresis (default 0)'),
  ),
  holdSeconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 86_400,
      description: 'threshold rules only: seconds the value must stay above before raising (default 0)',
    }),
  ),
}

const outcomeFields = {
  severity: Type.Optional(OneOf(alarmSeverities, 'default major')),
  workOrderCategory: Type.Optional(
    Nullable(Text(100, 'the work order an alarm raises (with workOrderPriority); null: no work order')),
  ),
  workOrderPriority: Type.Optional(Nullable(OneOf(workOrderPriorities, 'with workOrderCategory'))),
  department: Type.Optional(Nullable(Text(100, 'department the work order goes to'))),
  enabled: Type.Optional(Type.Boolean()),
}

const fields = {
  estateId: Id,
  name: Name,
  kind: OneOf(alarmRuleKinds),
  deviceClass: Type.Optional(
    Nullable(Text(64, 'scope: every device of this class (at most one of deviceClass, deviceId, pointId)')),
  ),
  deviceId: Type.Optional(Nullable(Id)),
  pointId: Type.Optional(Nullable(Id)),
  ...kindFields,
  ...outcomeFields,
}

/** The field each kind requires; the others' fields it must not have. */
const requiredByKind = { event: 'eventType', state: 'matchValue', threshold: 'above' } as const
const given = (value: unknown) => value !== undefined && value !== null

/**
 * 告警规则: what raises an alarm (a device event, a point in a state, a value above a
 * threshold for a while), where (a device class, a device, a point, or the whole estate) and
 * which work order the alarm opens. The alarm engine reads them as data (alarm-engine.ts).
 */
export const alarmRuleResource: EstateResource = {
  path: 'alarm-rules',
  table: 'alarmRules',
  label: 'alarm rule',
  tag: 'work orders',
  writePermission: 'workOrders.manage',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      name: Name,
      kind: OneOf(alarmRuleKinds),
      deviceClass: Nullable(Type.String()),
      deviceId: Nullable(Id),
      pointId: Nullable(Id),
      eventType: Nullable(OneOf(alarmEventTypes)),
      matchValue: Nullable(Type.String()),
      above: Nullable(DecimalOut),
      hysteresis: DecimalOut,
      holdSeconds: Type.Integer(),
      severity: OneOf(alarmSeverities),
      workOrderCategory: Nullable(Type.String()),
      workOrderPriority: Nullable(OneOf(workOrderPriorities)),
      department: Nullable(Type.String()),
      enabled: Type.Boolean(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'AlarmRule' },
  ),
  create: Type.Object(fields, { additionalProperties: false }),
  // What a rule watches (kind, scope, event type, state) is fixed: a different watch is a new rule.
  update: Type.Object(
    {
      name: Type.Optional(Name),
      above: kindFields.above,
      hysteresis: kindFields.hysteresis,
      holdSeconds: kindFields.holdSeconds,
      ...outcomeFields,
    },
    { additionalProperties: false },
  ),
  filters: { kind: OneOf(alarmRuleKinds), enabled: Type.Boolean(), deviceId: Id, pointId: Id },
  search: ['name'],
  orderBy: 'name',
  references: {
    deviceId: { table: 'devices', label: 'device' },
    pointId: { table: 'points', label: 'point' },
  },
  estateFrom: 'estateId',
  decimals: { above: 4, hysteresis: 4 },
  signedDecimals: ['above'],
  async check({ next }) {
    const kind = next.kind as (typeof alarmRuleKinds)[number]
    for (const [ruleKind, field] of Object.entries(requiredByKind)) {
      if (ruleKind === kind && !given(next[field]))
        throw invalid(`body.${field}`, `is required for a rule of kind ${kind}`)
      if (ruleKind !== kind && given(next[field]))
        throw invalid(`body.${field}`, `is only for rules of kind ${ruleKind}, this rule is ${kind}`)
    }
    if (kind !== 'threshold') {
      if (given(next.hysteresis) && Number(next.hysteresis) !== 0)
        throw invalid('body.hysteresis', `is only for rules of kind threshold, this rule is ${kind}`)
      if (given(next.holdSeconds) && Number(next.holdSeconds) !== 0)
        throw invalid('body.holdSeconds', `is only for rules of kind threshold, this rule is ${kind}`)
    }
    const scopes = (['deviceClass', 'deviceId', 'pointId'] as const).filter((f) => given(next[f]))
    if (scopes.length > 1)
      throw invalid(
        `body.${scopes[1]}`,
        `a rule watches one scope: give at most one of deviceClass, deviceId, pointId (got ${scopes.join(', ')})`,
      )
    if (kind === 'event' && given(next.pointId))
      throw invalid('body.pointId', 'event rules watch devices (events have no point): use deviceId')
    if (given(next.workOrderCategory) !== given(next.workOrderPriority)) {
      const missing = given(next.workOrderCategory) ? 'workOrderPriority' : 'workOrderCategory'
      throw invalid(
        `body.${missing}`,
        'workOrderCategory and workOrderPriority go together (both or neither)',
      )
    }
  },
}

export const alarmResources: readonly EstateResource[] = [alarmRuleResource]
