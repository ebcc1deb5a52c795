import { onBeforeUnmount, onMounted, type Ref, ref } from 'vue'
import {
  type AlarmStatus,
  type WorkOrderPriority as Priority,
  type AlarmSeverity as Severity,
  type WorkOrderStatus,
  workOrderPriorities,
  workOrderStatuses,
} from '../../../../../hub/alarms/alarms-vocabulary.ts'
import type { HubAnswer, HubItem } from '../../api/hub.ts'

/** A work order as `GET /api/v1/work-orders` answers (timestamps ISO strings). */
export type WorkOrder = HubItem<'/api/v1/work-orders'>

export type TimelineEntry = WorkOrderDetail['timeline'][number]

export type Attachment = WorkOrderDetail['attachments'][number]

export type OrderAlarm = NonNullable<WorkOrderDetail['alarm']>

export type WorkOrderDetail = HubAnswer<'/api/v1/work-orders/{id}'>

export type Alarm = HubItem<'/api/v1/alarms'>

export type UserRow = HubItem<'/api/v1/users'>

export type {
  AlarmSeverity as Severity,
  AlarmStatus,
  WorkOrderPriority as Priority,
  WorkOrderStatus,
} from '../../../../../hub/alarms/alarms-vocabulary.ts'

/** The states in flow order (the board's columns). */
export const statuses: readonly WorkOrderStatus[] = workOrderStatuses
export const priorities: readonly Priority[] = workOrderPriorities
export const sources = ['desk', 'resident', 'inspection'] as const
/** Categories the demo's rules and desks use; others are shown as the hub sends them. */
export const categories = [
  'repair',
  'plumbing',
  'electrical',
  'equipment',
  'security',
  'metering',
  'cleaning',
  'greening',
  'complaint',
] as const
/** Departments offered for dispatch (the demo's rules name 工程部 and 安保部); any other may be typed. */
export const knownDepartments = ['工程部', '安保部', '客服部', '保洁部', '绿化部'] as const

/** The flow's steps (hub/alarms/work-order-flow.ts): from which states each is allowed. */
export const actions = {
  dispatch: ['registered'],
  assign: ['dispatched', 'assigned'],
  start: ['assigned'],
  complete: ['in_progress'],
  visit: ['done'],
  close: ['return_visit'],
  cancel: ['registered', 'dispatched', 'assigned', 'in_progress'],
} as const satisfies Record<string, readonly WorkOrderStatus[]>
export type Action = keyof typeof actions

export function actionsFor(status: WorkOrderStatus): Action[] {
  return (Object.keys(actions) as Action[]).filter((a) =>
    (actions[a] as readonly WorkOrderStatus[]).includes(status),
  )
}

export const priorityTag: Record<Priority, 'danger' | 'warning' | 'primary' | 'info'> = {
  urgent: 'danger',
  high: 'warning',
  normal: 'primary',
  low: 'info',
}
export const severityTag: Record<Severity, 'danger' | 'warning' | 'primary' | 'info'> = {
  critical: 'danger',
  major: 'warning',
  minor: 'primary',
  info: 'info',
}
export const statusTag: Record<WorkOrderStatus, 'danger' | 'warning' | 'primary' | 'info' | 'success'> = {
  registered: 'danger',
  dispatched: 'warning',
  assigned: 'warning',
  in_progress: 'primary',
  done: 'success',
  return_visit: 'success',
  closed: 'info',
  cancelled: 'info',
}
export const alarmStatusTag: Record<AlarmStatus, 'danger' | 'warning' | 'success' | 'info'> = {
  active: 'danger',
  acknowledged: 'warning',
  cleared: 'success',
  closed: 'info',
}

/** Whether the order is still running (its clocks tick). */
export function isOpen(order: Pick<WorkOrder, 'status'>): boolean {
  return order.status !== 'closed' && order.status !== 'cancelled'
}

/** One clock of an order's SLA: to respond by, or to complete by. */
export interface SlaClock {
  readonly kind: 'respond' | 'complete'
  /** ms left (negative: over by that much); null when met (responded / completed in time). */
  readonly leftMs: number | null
  readonly breached: boolean
}

/**
 * The clock that matters now: the response clock until someone responds (dispatch), then the
 * completion clock until it is completed; none once completed or closed. `breached` also
 * holds a clock that ran over before it stopped.
 */
export function slaClock(order: WorkOrder, now: number): SlaClock | null {
  if (!isOpen(order)) return null
  if (!order.respondedAt) {
    const left = Date.parse(order.respondBy) - now
    return { kind: 'respond', leftMs: left, breached: left < 0 }
  }
  if (!order.completedAt) {
    const left = Date.parse(order.completeBy) - now
    return { kind: 'complete', leftMs: left, breached: left < 0 || order.responseBreached }
  }
  return null
}

/** Whether either SLA clock ran over (as the hub judges it, kept live between loads). */
export function breached(order: WorkOrder, now: number): boolean {
  const clock = slaClock(order, now)
  return order.responseBreached || order.completionBreached || (clock?.leftMs ?? 0) < 0
}

const tick = ref(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

/** The current time, ticking every second while a component using it is mounted. */
export function useNow(): Ref<number> {
  onMounted(() => {
    users += 1
    tick.value = Date.now()
    timer ??= setInterval(() => {
      tick.value = Date.now()
    }, 1000)
  })
  onBeforeUnmount(() => {
    users -= 1
    if (users === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  })
  return tick
}

/** Splits a duration for the catalogue's `{d}天{h}小时` style labels. */
export function durationParts(ms: number): { d: number; h: number; m: number; s: number } {
  const total = Math.floor(Math.abs(ms) / 1000)
  return {
    d: Math.floor(total / 86_400),
    h: Math.floor((total % 86_400) / 3600),
    m: Math.floor((total % 3600) / 60),
    s: total % 60,
  }
}

/** yyyy-mm-dd hh:mm in the browser's time zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}
