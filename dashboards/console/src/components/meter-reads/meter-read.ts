import type { HubAnswer, HubItem } from '../../api/hub.ts'
/** A meter-read record (抄表记录) as `GET /api/v1/meter-reads` answers (docs/metering.md). */
export type MeterRead = HubItem<'/api/v1/meter-reads'>

export {
  type MeterReadStatus,
  meterReadStatuses as statuses,
} from '../../../../../hub/metering/metering-vocabulary.ts'

/** One row of the record's history (`meter_read_changes`). */
export type MeterReadChange = MeterReadDetail['changes'][number]

export type MeterReadDetail = HubAnswer<'/api/v1/meter-reads/{id}'>

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
