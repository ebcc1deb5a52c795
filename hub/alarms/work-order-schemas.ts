import { Type } from 'typebox'
import { DecimalOut, Id, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import {
  alarmSeverities,
  alarmStatuses,
  workOrderPriorities,
  workOrderSources,
  workOrderStatuses,
} from './alarms-vocabulary.ts'
import { Attachment } from './work-order-attachments.ts'

/*
 * What the work-order and alarm routes answer, for the OpenAPI document and so the console's
 * types (decision 0013). The rows are passed through whole (`additionalProperties`), so a
 * column added to the table reaches the client before it is named here; the named ones are
 * what clients rely on.
 */

const open = { additionalProperties: true } as const
const NullableTimestamp = Nullable(Timestamp)

export const AlarmStatus = OneOf(alarmStatuses)
export const AlarmSeverity = OneOf(alarmSeverities)

export const WorkOrder = Type.Object(
  {
    id: Id,
    estateId: Id,
    source: OneOf(workOrderSources),
    alarmId: Nullable(Id),
    category: Type.String(),
    priority: OneOf(workOrderPriorities),
    department: Nullable(Type.String()),
    title: Type.String(),
    description: Nullable(Type.String()),
    unitId: Nullable(Id),
    buildingId: Nullable(Id),
    status: OneOf(workOrderStatuses),
    assigneeId: Nullable(Id),
    respondBy: Timestamp,
    completeBy: Timestamp,
    respondedAt: NullableTimestamp,
    completedAt: NullableTimestamp,
    closedAt: NullableTimestamp,
    completionNote: Nullable(Type.String()),
    satisfaction: Nullable(Type.Integer()),
    visitComment: Nullable(Type.String()),
    cancelReason: Nullable(Type.String()),
    escalatedAt: NullableTimestamp,
    location: Nullable(Type.String()),
    parts: Nullable(Type.Array(Type.Object({ name: Type.String(), quantity: Type.Number() }, open))),
    labourMinutes: Nullable(Type.Integer()),
    chargeAmount: Nullable(DecimalOut),
    receivableId: Nullable(Id),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    responseBreached: Type.Boolean({ description: 'answered (or still open) after respondBy' }),
    completionBreached: Type.Boolean({ description: 'completed (or still open) after completeBy' }),
  },
  { ...open, title: 'WorkOrder' },
)

export const WorkOrderEvent = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    by: Nullable(Id),
    action: Type.String(),
    fromStatus: Nullable(Type.String()),
    toStatus: Nullable(Type.String()),
    note: Nullable(Type.String()),
    data: Type.Object({}, open),
  },
  { ...open, title: 'WorkOrderEvent' },
)

export const WorkOrderAlarm = Type.Object(
  {
    id: Id,
    status: AlarmStatus,
    severity: AlarmSeverity,
    raisedAt: Timestamp,
    lastSeenAt: Timestamp,
    occurrences: Type.Integer(),
    clearedAt: NullableTimestamp,
  },
  { title: 'WorkOrderAlarm' },
)

export const Alarm = Type.Object(
  {
    id: Id,
    estateId: Id,
    ruleId: Id,
    ruleName: Type.String(),
    ruleKind: Type.String(),
    workOrderId: Nullable(Id),
    source: Type.String(),
    status: AlarmStatus,
    severity: AlarmSeverity,
    raisedAt: Timestamp,
    lastSeenAt: Timestamp,
    occurrences: Type.Integer(),
    acknowledgedAt: NullableTimestamp,
    clearedAt: NullableTimestamp,
    closedAt: NullableTimestamp,
  },
  { ...open, title: 'Alarm' },
)

export const WorkOrderDetail = Type.Object(
  {
    ...WorkOrder.properties,
    timeline: Type.Array(WorkOrderEvent),
    attachments: Type.Array(Attachment),
    alarm: Nullable(WorkOrderAlarm),
  },
  { ...open, title: 'WorkOrderDetail' },
)
