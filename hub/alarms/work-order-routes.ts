import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { conflict } from '../kernel/api-error.ts'
import { errorReplies, Id, IdParams, OneOf } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { alarmStatuses, workOrderPriorities as priorities } from './alarms-vocabulary.ts'
import { slaDue } from './sla-policy.ts'
import { registerWorkOrderAssigneeRoutes } from './work-order-assignees.ts'
import { listAttachments, registerWorkOrderAttachmentRoutes } from './work-order-attachments.ts'
import { moveWorkOrder, slaState, type WorkOrderAction, workOrderActions } from './work-order-flow.ts'
import { Alarm, WorkOrder, WorkOrderDetail } from './work-order-schemas.ts'

const strict = { additionalProperties: false } as const

function present(
  order: Record<string, unknown> & {
    respondBy: Date
    completeBy: Date
    respondedAt: Date | null
    completedAt: Date | null
    status: string
  },
) {
  const out: Record<string, unknown> = { ...order, ...slaState(order, Date.now()) }
  for (const [key, value] of Object.entries(out)) if (value instanceof Date) out[key] = value.toISOString()
  return out
}

/** Work orders (工单) and alarms: list, register, move through the flow, acknowledge. */
export function registerWorkOrderRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const tags = ['work orders']
  const security = [{ bearerAuth: [] }]
  const orderRule = { table: 'workOrders' as const, label: 'work order' }

  app.get(
    '/api/v1/work-orders',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags,
        summary: 'Work orders of an estate, by status and department, with their SLA state',
        security,
        querystring: Type.Object(
          {
            estateId: Id,
            status: Type.Optional(Type.String({ maxLength: 20 })),
            department: Type.Optional(Type.String({ maxLength: 100 })),
          },
          strict,
        ),
        response: { 200: Type.Object({ items: Type.Array(WorkOrder) }), ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as { estateId: string; status?: string; department?: string }
      const estateId = request.estateId
      let query = db.selectFrom('workOrders').selectAll().where('estateId', '=', estateId)
      if (q.status) query = query.where('status', '=', q.status as never)
      if (q.department) query = query.where('department', '=', q.department)
      const rows = await query.orderBy('createdAt', 'desc').limit(500).execute()
      return { items: rows.map(present) }
    },
  )

  app.get(
    '/api/v1/work-orders/:id',
    {
      config: { access: { estate: { from: 'params.id', record: orderRule } } },
      schema: {
        tags,
        summary:
          'A work order with its timeline, its attachments (metadata) and, if an alarm raised it, the alarm’s live state',
        security,
        params: IdParams,
        response: { 200: WorkOrderDetail, ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      const order = await db
        .selectFrom('workOrders')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      const timeline = await db
        .selectFrom('workOrderEvents')
        .selectAll()
        .where('workOrderId', '=', id)
        .orderBy('id')
        .execute()
      const attachments = await listAttachments(db, id)
      const alarm = order.alarmId
        ? await db
            .selectFrom('alarms')
            .select(['id', 'status', 'severity', 'raisedAt', 'lastSeenAt', 'occurrences', 'clearedAt'])
            .where('id', '=', order.alarmId)
            .executeTakeFirst()
        : undefined
      return {
        ...present(order),
        timeline: timeline.map((e) => ({ ...e, at: e.at.toISOString() })),
        attachments,
        alarm: alarm
          ? {
              ...alarm,
              raisedAt: new Date(alarm.raisedAt).toISOString(),
              lastSeenAt: new Date(alarm.lastSeenAt).toISOString(),
              clearedAt: alarm.clearedAt ? new Date(alarm.clearedAt).toISOString() : null,
            }
          : null,
      }
    },
  )

  app.post(
    '/api/v1/work-orders',
    {
      config: {
        access: {
          estate: { from: 'body.estateId' },
          permission: 'workOrders.manage',
          references: { 'body.unitId': { table: 'units', label: 'unit', same: true } },
        },
      },
      schema: {
        tags,
        summary: 'Register a work order from a resident, the service desk or an inspection',
        security,
        body: Type.Object(
          {
            estateId: Id,
            source: OneOf(['resident', 'desk', 'inspection'] as const),
            category: Type.String({ minLength: 1, maxLength: 50 }),
            priority: OneOf(priorities),
            title: Type.String({ minLength: 1, maxLength: 200 }),
            description: Type.Optional(Type.String({ maxLength: 2000 })),
            unitId: Type.Optional(Id),
          },
          strict,
        ),
        response: { 201: WorkOrder, ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        estateId: string
        source: 'resident' | 'desk' | 'inspection'
        category: string
        priority: (typeof priorities)[number]
        title: string
        description?: string
        unitId?: string
      }
      const estateId = request.estateId
      let buildingId: string | null = null
      if (body.unitId !== undefined) {
        buildingId = (
          await db
            .selectFrom('units')
            .select('buildingId')
            .where('id', '=', body.unitId)
            .executeTakeFirstOrThrow()
        ).buildingId
      }
      const sla = await slaDue(db, estateId, body.category, body.priority, Date.now())
      const order = await db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('workOrders')
          .values({
            estateId,
            source: body.source,
            alarmId: null,
            category: body.category,
            priority: body.priority,
            department: null,
            title: body.title,
            description: body.description ?? null,
            buildingId,
            unitId: body.unitId ?? null,
            deviceId: null,
            assigneeId: null,
            respondBy: sla.respondBy,
            completeBy: sla.completeBy,
            respondedAt: null,
            completedAt: null,
            closedAt: null,
            createdBy: request.scope.userId,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
        await trx
          .insertInto('workOrderEvents')
          .values({
            workOrderId: row.id,
            by: request.scope.userId,
            action: 'created',
            fromStatus: null,
            toStatus: 'registered',
            note: null,
            data: {},
          })
          .execute()
        return row
      })
      return reply.status(201).send(present(order))
    },
  )

  for (const action of Object.keys(workOrderActions) as WorkOrderAction[]) {
    app.post(
      `/api/v1/work-orders/:id/${action}`,
      {
        config: {
          access: { estate: { from: 'params.id', record: orderRule }, permission: 'workOrders.manage' },
        },
        schema: {
          tags,
          summary: `Work order: ${action} (${workOrderActions[action].from.join(' | ')} → ${workOrderActions[action].to})`,
          security,
          params: IdParams,
          body: Type.Object(
            {
              department: Type.Optional(Type.String({ maxLength: 100 })),
              assigneeId: Type.Optional(Id),
              note: Type.Optional(Type.String({ maxLength: 2000 })),
              satisfaction: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
              comment: Type.Optional(Type.String({ maxLength: 2000 })),
              reason: Type.Optional(Type.String({ maxLength: 500 })),
              parts: Type.Optional(
                Type.Array(
                  Type.Object(
                    {
                      name: Type.String({ minLength: 1, maxLength: 100 }),
                      quantity: Type.Number({ minimum: 0 }),
                    },
                    strict,
                  ),
                  { maxItems: 50 },
                ),
              ),
              labourMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
              chargeAmount: Type.Optional(
                Type.String({
                  pattern: '^[0-9]{1,12}(\\.[0-9]{1,2})?$',
                  description:
                    'complete only: a paid repair, yuan up to 2 decimals (> 0), issued as a receivable',
                }),
              ),
              chargeCustomerId: Type.Optional(
                Type.String({
                  format: 'uuid',
                  description: "with chargeAmount: who pays (default the unit's tenant in place, else owner)",
                }),
              ),
              feeItemId: Type.Optional(
                Type.String({
                  format: 'uuid',
                  description:
                    'with chargeAmount: a one_off fee item (default the estate’s item with code REPAIR)',
                }),
              ),
            },
            strict,
          ),
          response: { 200: WorkOrder, ...errorReplies },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string }
        await moveWorkOrder(db, id, action, request.body as Record<string, never>, request.scope.userId)
        return present(
          await db.selectFrom('workOrders').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
        )
      },
    )
  }

  app.get(
    '/api/v1/alarms',
    {
      config: { access: { estate: { from: 'query.estateId' } } },
      schema: {
        tags,
        summary:
          'Alarms of an estate, by status, with their rule (name, kind) and the work order each opened',
        security,
        querystring: Type.Object(
          {
            estateId: Id,
            status: Type.Optional(OneOf(alarmStatuses)),
          },
          strict,
        ),
        response: { 200: Type.Object({ items: Type.Array(Alarm) }), ...errorReplies },
      },
    },
    async (request) => {
      const q = request.query as {
        estateId: string
        status?: 'active' | 'acknowledged' | 'cleared' | 'closed'
      }
      const estateId = request.estateId
      let query = db
        .selectFrom('alarms')
        .innerJoin('alarmRules', 'alarmRules.id', 'alarms.ruleId')
        .leftJoin('workOrders', 'workOrders.alarmId', 'alarms.id')
        .selectAll('alarms')
        // The rule's kind says when the alarm may be closed (an event alarm once acknowledged).
        .select([
          'alarmRules.name as ruleName',
          'alarmRules.kind as ruleKind',
          'workOrders.id as workOrderId',
        ])
        .where('alarms.estateId', '=', estateId)
      if (q.status) query = query.where('alarms.status', '=', q.status)
      const rows = await query.orderBy('alarms.raisedAt', 'desc').limit(500).execute()
      return {
        items: rows.map((r) => {
          const out: Record<string, unknown> = { ...r }
          for (const [k, v] of Object.entries(out)) if (v instanceof Date) out[k] = v.toISOString()
          return out
        }),
      }
    },
  )

  registerWorkOrderAttachmentRoutes(app, db)
  registerWorkOrderAssigneeRoutes(app, db)

  for (const action of ['acknowledge', 'close'] as const) {
    app.post(
      `/api/v1/alarms/:id/${action}`,
      {
        config: {
          access: {
            estate: { from: 'params.id', record: { table: 'alarms', label: 'alarm' } },
            permission: 'workOrders.manage',
          },
        },
        schema: {
          tags,
          summary:
            action === 'acknowledge'
              ? 'Acknowledge an alarm (who and when are kept)'
              : 'Close a cleared alarm (an event alarm, which has no end signal, once acknowledged)',
          security,
          params: IdParams,
          response: { 204: Type.Null(), ...errorReplies },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const alarm = await db
          .selectFrom('alarms')
          .innerJoin('alarmRules', 'alarmRules.id', 'alarms.ruleId')
          .select(['alarms.status', 'alarmRules.kind'])
          .where('alarms.id', '=', id)
          .executeTakeFirstOrThrow()
        const now = new Date()
        // An event (a forced door) has no end signal to clear it: it closes once acknowledged.
        const closableFrom = alarm.kind === 'event' ? ['cleared', 'acknowledged'] : ['cleared']
        const from = action === 'acknowledge' ? ['active'] : closableFrom
        // Conditional on the state read, so two people acting at once cannot both succeed.
        const moved = await db
          .updateTable('alarms')
          .set(
            action === 'acknowledge'
              ? { status: 'acknowledged', acknowledgedBy: request.scope.userId, acknowledgedAt: now }
              : { status: 'closed', closedAt: now },
          )
          .where('id', '=', id)
          .where('status', 'in', from as never[]) // bounded: statuses of the vocabulary
          .executeTakeFirst()
        if (Number(moved.numUpdatedRows) === 0)
          throw conflict(
            'params.id',
            action === 'acknowledge'
              ? `is ${alarm.status}, not active`
              : `is ${alarm.status}: only a cleared alarm${alarm.kind === 'event' ? ' or an acknowledged event alarm' : ''} can be closed`,
            action === 'acknowledge' ? 'alarm.notActive' : 'alarm.notClosable',
            { status: alarm.status },
          )
        return reply.status(204).send()
      },
    )
  }
}
