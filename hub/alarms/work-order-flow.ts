import type { Kysely } from 'kysely'
import { conflict, invalid } from '../kernel/api-error.ts'
import type { Database, WorkOrderStatus } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'
import { type IssuedRepairCharge, issueRepairCharge } from './repair-charge.ts'
import { assigneesOf } from './work-order-assignees.ts'

/** registered → dispatched → assigned → in progress → done → return visit → closed; or cancelled. */
export const workOrderActions = {
  dispatch: { from: ['registered'], to: 'dispatched' },
  assign: { from: ['dispatched', 'assigned'], to: 'assigned' },
  start: { from: ['assigned'], to: 'in_progress' },
  complete: { from: ['in_progress'], to: 'done' },
  visit: { from: ['done'], to: 'return_visit' },
  close: { from: ['return_visit'], to: 'closed' },
  cancel: { from: ['registered', 'dispatched', 'assigned', 'in_progress'], to: 'cancelled' },
} as const satisfies Record<string, { from: readonly WorkOrderStatus[]; to: WorkOrderStatus }>

export type WorkOrderAction = keyof typeof workOrderActions

export interface ActionInput {
  readonly department?: string
  readonly assigneeId?: string
  readonly note?: string
  readonly satisfaction?: number
  readonly comment?: string
  readonly reason?: string
  readonly parts?: readonly { name: string; quantity: number }[]
  readonly labourMinutes?: number
  /** Complete only: a paid repair, issued as a receivable in the same transaction (repair-charge.ts). */
  readonly chargeAmount?: string
  /** Complete only, with chargeAmount: who pays (default the unit's tenant in place, else its owner). */
  readonly chargeCustomerId?: string
  /** Complete only, with chargeAmount: a one_off fee item (default the estate's REPAIR item). */
  readonly feeItemId?: string
}

/**
 * Moves a work order one step, checking the step is allowed from its state and has what it
 * needs (a department to dispatch to, a person to assign, a note to complete, a satisfaction
 * score at the return visit, a reason to cancel), and records it on the timeline. Completing
 * stores the parts and labour on the order and, for a paid repair (chargeAmount), issues its
 * receivable through billing in the same transaction: both happen or neither.
 */
export async function moveWorkOrder(
  db: Kysely<Database>,
  id: string,
  action: WorkOrderAction,
  input: ActionInput,
  by: string,
  now = new Date(),
): Promise<void> {
  const step = workOrderActions[action]
  if (action !== 'complete') {
    const chargeField = (['chargeAmount', 'chargeCustomerId', 'feeItemId'] as const).find(
      (f) => input[f] !== undefined,
    )
    if (chargeField)
      throw invalid(
        `body.${chargeField}`,
        'is only for complete (a paid repair)',
        'workOrder.chargeOnlyOnComplete',
      )
  } else if (input.chargeAmount === undefined) {
    const orphan = (['chargeCustomerId', 'feeItemId'] as const).find((f) => input[f] !== undefined)
    if (orphan)
      throw invalid(
        'body.chargeAmount',
        `is required with ${orphan}: what the repair costs`,
        'workOrder.chargeAmountRequired',
        { with: orphan },
      )
  }
  await db.transaction().execute(async (trx) => {
    const order = await trx
      .selectFrom('workOrders')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirstOrThrow()
    if (!(step.from as readonly string[]).includes(order.status))
      throw conflict(
        'params.id',
        `cannot ${action} a work order that is ${order.status}`,
        'workOrder.wrongStatus',
        { action, status: order.status },
      )
    const set: Record<string, unknown> = { status: step.to, updatedAt: now }
    let charged: IssuedRepairCharge | undefined
    switch (action) {
      case 'dispatch':
        if (!input.department?.trim())
          throw invalid('body.department', 'is required to dispatch', 'workOrder.departmentRequired')
        set.department = input.department.trim()
        set.respondedAt = order.respondedAt ?? now
        break
      case 'assign': {
        if (!input.assigneeId)
          throw invalid('body.assigneeId', 'is required to assign', 'workOrder.assigneeRequired')
        // Only someone who may work this estate's orders (the picker's list): an order given to
        // a finance clerk or a disabled account would sit with nobody able to move it.
        const assignees = await assigneesOf(trx, order.estateId)
        if (!assignees.some((a) => a.id === input.assigneeId))
          throw invalid(
            'body.assigneeId',
            "is not an active user who may work this estate's orders",
            'workOrder.assigneeNotAllowed',
          )
        set.assigneeId = input.assigneeId
        break
      }
      case 'complete':
        if (!input.note?.trim())
          throw invalid('body.note', 'is required: what was done', 'workOrder.noteRequired')
        set.completionNote = input.note.trim()
        set.completedAt = now
        set.parts = jsonb(input.parts ?? [])
        set.labourMinutes = input.labourMinutes ?? null
        if (input.chargeAmount !== undefined) {
          charged = await issueRepairCharge(
            trx,
            order,
            {
              amount: input.chargeAmount,
              ...(input.chargeCustomerId !== undefined ? { customerId: input.chargeCustomerId } : {}),
              ...(input.feeItemId !== undefined ? { feeItemId: input.feeItemId } : {}),
            },
            { note: input.note.trim(), parts: input.parts ?? [], labourMinutes: input.labourMinutes ?? null },
            by,
            now,
          )
          set.chargeAmount = charged.amount
          set.receivableId = charged.receivableId
        }
        break
      case 'visit':
        if (
          input.satisfaction === undefined ||
          !Number.isInteger(input.satisfaction) ||
          input.satisfaction < 1 ||
          input.satisfaction > 5
        )
          throw invalid('body.satisfaction', 'must be a whole number from 1 to 5', 'integer.between', {
            min: 1,
            max: 5,
          })
        set.satisfaction = input.satisfaction
        set.visitComment = input.comment ?? null
        break
      case 'close':
        set.closedAt = now
        break
      case 'cancel':
        if (!input.reason?.trim())
          throw invalid('body.reason', 'is required to cancel', 'workOrder.reasonRequired')
        set.cancelReason = input.reason.trim()
        set.closedAt = now
        break
    }
    await trx.updateTable('workOrders').set(set).where('id', '=', id).execute()
    await trx
      .insertInto('workOrderEvents')
      .values({
        workOrderId: id,
        by,
        action,
        fromStatus: order.status,
        toStatus: step.to,
        note: input.note ?? input.reason ?? input.comment ?? null,
        data: jsonb({
          ...(input.department ? { department: input.department } : {}),
          ...(input.assigneeId ? { assigneeId: input.assigneeId } : {}),
          ...(input.parts ? { parts: input.parts } : {}),
          ...(input.labourMinutes !== undefined ? { labourMinutes: input.labourMinutes } : {}),
          ...(input.satisfaction !== undefined ? { satisfaction: input.satisfaction } : {}),
        }),
      })
      .execute()
    if (charged)
      await trx
        .insertInto('workOrderEvents')
        .values({
          workOrderId: id,
          by,
          action: 'charged',
          fromStatus: step.to,
          toStatus: step.to,
          note: `paid repair: ${charged.amount} due ${charged.dueDate}`,
          data: jsonb({ ...charged }),
        })
        .execute()
  })
}

/** Whether an order is past its response or completion time (SLA), at `now`. */
export function slaState(
  order: {
    respondBy: Date
    completeBy: Date
    respondedAt: Date | null
    completedAt: Date | null
    status: string
  },
  now: number,
): { responseBreached: boolean; completionBreached: boolean } {
  const open = order.status !== 'cancelled'
  const responded = order.respondedAt ? new Date(order.respondedAt).getTime() : undefined
  const completed = order.completedAt ? new Date(order.completedAt).getTime() : undefined
  return {
    responseBreached: open && (responded ?? now) > new Date(order.respondBy).getTime(),
    completionBreached: open && (completed ?? now) > new Date(order.completeBy).getTime(),
  }
}
