import { Type } from 'typebox'
import { deviceEventTypes as alarmEventTypes } from '../../gateway/contract/index.ts'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource } from '../kernel/estate-resource.ts'
import { Decimal, DecimalOut, Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { alarmRuleKinds, alarmSeverities, offlineTargets, workOrderPriorities } from './alarms-vocabulary.ts'

export { alarmEventTypes, alarmRuleKinds, alarmSeverities, workOrderPriorities }

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
  eventCount: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000,
      description:
        'event rules only: raise on the Nth event at one door or device within windowSeconds (default 1: every event)',
    }),
  ),
  windowSeconds: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 1,
        maximum: 86_400,
        description: 'event rules only: required when eventCount > 1',
      }),
    ),
  ),
  ratePerMinute: Type.Optional(
    Nullable(
      Decimal(
        4,
        'rate rules only (required): raises when |Δvalue| per minute between readings is above this',
      ),
    ),
  ),
  offlineMinutes: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 1,
        maximum: 10_080,
        description: 'offline rules only (required): silent for longer than this many minutes',
      }),
    ),
  ),
  offlineTarget: Type.Optional(
    Nullable(OneOf(offlineTargets, 'offline rules only (required): devices or gateways')),
  ),
  nightStart: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 0,
        maximum: 23,
        description: 'night_flow rules only (required): local hour the night starts',
      }),
    ),
  ),
  nightEnd: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 0,
        maximum: 23,
        description: 'night_flow rules only (required): local hour it ends',
      }),
    ),
  ),
  minFlow: Type.Optional(
    Nullable(
      Decimal(
        4,
        'night_flow rules only (required): consumption in every hour of the night that counts as flow',
      ),
    ),
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

type RuleKind = (typeof alarmRuleKinds)[number]
/** The fields each kind requires. */
const requiredByKind: Record<RuleKind, readonly string[]> = {
  event: ['eventType'],
  state: ['matchValue'],
  threshold: ['above'],
  rate: ['ratePerMinute'],
  offline: ['offlineMinutes', 'offlineTarget'],
  reverse_flow: [],
  night_flow: ['nightStart', 'nightEnd', 'minFlow'],
}
/** The kinds a field belongs to, and its default (a default value is not "given"). */
const kindsOfField: Record<string, { kinds: readonly RuleKind[]; neutral?: number }> = {
  eventType: { kinds: ['event'] },
  eventCount: { kinds: ['event'], neutral: 1 },
  windowSeconds: { kinds: ['event'] },
  matchValue: { kinds: ['state'] },
  above: { kinds: ['threshold'] },
  hysteresis: { kinds: ['threshold', 'rate'], neutral: 0 },
  holdSeconds: { kinds: ['threshold'], neutral: 0 },
  ratePerMinute: { kinds: ['rate'] },
  offlineMinutes: { kinds: ['offline'] },
  offlineTarget: { kinds: ['offline'] },
  nightStart: { kinds: ['night_flow'] },
  nightEnd: { kinds: ['night_flow'] },
  minFlow: { kinds: ['night_flow'] },
}
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
      eventCount: Type.Integer(),
      windowSeconds: Nullable(Type.Integer()),
      ratePerMinute: Nullable(DecimalOut),
      offlineMinutes: Nullable(Type.Integer()),
      offlineTarget: Nullable(OneOf(offlineTargets)),
      nightStart: Nullable(Type.Integer()),
      nightEnd: Nullable(Type.Integer()),
      minFlow: Nullable(DecimalOut),
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
      eventCount: kindFields.eventCount,
      windowSeconds: kindFields.windowSeconds,
      ratePerMinute: kindFields.ratePerMinute,
      offlineMinutes: kindFields.offlineMinutes,
      nightStart: kindFields.nightStart,
      nightEnd: kindFields.nightEnd,
      minFlow: kindFields.minFlow,
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
  decimals: { above: 4, hysteresis: 4, ratePerMinute: 4, minFlow: 4 },
  signedDecimals: ['above'],
  async check({ next }) {
    const kind = next.kind as RuleKind
    for (const field of requiredByKind[kind])
      if (!given(next[field]))
        throw invalid(`body.${field}`, `is required for a rule of kind ${kind}`, 'alarmRule.fieldRequired', {
          kind,
        })
    for (const [field, { kinds, neutral }] of Object.entries(kindsOfField)) {
      const value = next[field]
      if (kinds.includes(kind) || !given(value) || (neutral !== undefined && Number(value) === neutral))
        continue
      throw invalid(
        `body.${field}`,
        `is only for rules of kind ${kinds.join(' or ')}, this rule is ${kind}`,
        'alarmRule.fieldNotForKind',
        { kinds: kinds.join(', '), kind },
      )
    }
    for (const field of ['ratePerMinute', 'minFlow'])
      if (given(next[field]) && !(Number(next[field]) > 0))
        throw invalid(`body.${field}`, 'must be more than 0', 'number.exclusiveMinimum', { limit: 0 })
    if (kind === 'event' && Number(next.eventCount ?? 1) > 1 && !given(next.windowSeconds))
      throw invalid(
        'body.windowSeconds',
        'is required when eventCount is more than 1 (N events within M seconds)',
        'alarmRule.windowRequired',
      )
    if (kind === 'night_flow' && next.nightStart === next.nightEnd)
      throw invalid(
        'body.nightEnd',
        'must differ from nightStart (a night of 24 hours is not a night)',
        'alarmRule.nightEmpty',
      )
    if (
      kind === 'offline' &&
      next.offlineTarget === 'gateway' &&
      (given(next.deviceClass) || given(next.deviceId) || given(next.pointId))
    )
      throw invalid(
        'body.offlineTarget',
        'gateway offline rules watch every gateway of the estate: give no deviceClass, deviceId or pointId',
        'alarmRule.gatewayOfflineScope',
      )
    if (kind === 'offline' && given(next.pointId))
      throw invalid(
        'body.pointId',
        'offline rules watch devices: use deviceId or deviceClass',
        'alarmRule.offlineNoPoint',
      )
    const scopes = (['deviceClass', 'deviceId', 'pointId'] as const).filter((f) => given(next[f]))
    if (scopes.length > 1)
      throw invalid(
        `body.${scopes[1]}`,
        `a rule watches one scope: give at most one of deviceClass, deviceId, pointId (got ${scopes.join(', ')})`,
        'alarmRule.oneScope',
        { got: scopes.join(', ') },
      )
    if (kind === 'event' && given(next.pointId))
      throw invalid(
        'body.pointId',
        'event rules watch devices (events have no point): use deviceId',
        'alarmRule.eventNoPoint',
      )
    if (given(next.workOrderCategory) !== given(next.workOrderPriority)) {
      const missing = given(next.workOrderCategory) ? 'workOrderPriority' : 'workOrderCategory'
      throw invalid(
        `body.${missing}`,
        'workOrderCategory and workOrderPriority go together (both or neither)',
        'alarmRule.workOrderPair',
      )
    }
  },
}

export const alarmResources: readonly EstateResource[] = [alarmRuleResource]
