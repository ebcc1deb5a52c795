/** A meter-read record (抄表记录) as `GET /api/v1/meter-reads` answers (docs/metering.md). */
export interface MeterRead {
  readonly id: string
  readonly estateId: string
  readonly meterId: string
  readonly meterCode: string
  readonly meterKind: string
  readonly unitId: string | null
  readonly unitCode: string | null
  readonly buildingId: string | null
  readonly period: string
  readonly periodStart: string
  readonly cutoffAt: string
  readonly previousReading: string | null
  readonly previousAt: string | null
  readonly previousSource: string | null
  readonly currentReading: string | null
  readonly currentAt: string | null
  readonly method: string
  readonly multiplier: string
  readonly consumption: string | null
  readonly rollover: boolean
  readonly replacements: number
  readonly truesUp: boolean
  readonly flags: readonly { readonly code: string; readonly message: string }[]
  readonly status: MeterReadStatus
  readonly approvedBy: string | null
  readonly approvedAt: string | null
  readonly computedAt: string
  readonly updatedAt: string
  readonly version: number
}

export type MeterReadStatus = 'auto' | 'flagged' | 'estimated' | 'overridden' | 'approved'
export const statuses: readonly MeterReadStatus[] = ['auto', 'flagged', 'estimated', 'overridden', 'approved']

/** One row of the record's history (`meter_read_changes`). */
export interface MeterReadChange {
  readonly id: number
  readonly action: string
  readonly reason: string | null
  readonly changedBy: string | null
  readonly changedByName: string | null
  readonly changedAt: string
  readonly old: Record<string, unknown> | null
  readonly new: Record<string, unknown>
}

export interface MeterReadDetail {
  readonly read: MeterRead
  readonly changes: MeterReadChange[]
  readonly readings: { readonly ts: string; readonly value: string }[]
}

/** Last calendar month as YYYY-MM: the period a clerk reviews by default. */
export function lastMonth(now = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth() - 1, 1)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`
}

/** The status tag's colour. */
export function statusType(status: string): 'success' | 'warning' | 'danger' | 'info' | 'primary' {
  if (status === 'approved') return 'success'
  if (status === 'flagged') return 'danger'
  if (status === 'auto') return 'primary'
  if (status === 'overridden') return 'warning'
  return 'info'
}

export function formatTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return '—'
  return new Date(iso).toLocaleString(locale === 'en' ? 'en-GB' : 'zh-CN', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  })
}
