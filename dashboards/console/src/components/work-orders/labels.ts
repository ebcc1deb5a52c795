import { useI18n } from 'vue-i18n'
import { durationParts } from './work-orders.ts'

/** The work-order and alarm enumerations in the user's language (hub values as they come otherwise). */
export function useWorkOrderLabels() {
  const { t, te } = useI18n()
  const pick = (key: string, value: string | null | undefined) =>
    value ? (te(`${key}.${value}`) ? t(`${key}.${value}`) : value) : ''
  return {
    t,
    status: (v: string | null | undefined) => pick('pages.workOrders.status', v),
    priority: (v: string | null | undefined) => pick('pages.workOrders.priority', v),
    source: (v: string | null | undefined) => pick('pages.workOrders.source', v),
    category: (v: string | null | undefined) => pick('pages.workOrders.category', v),
    action: (v: string | null | undefined) => pick('pages.workOrders.timelineAction', v),
    severity: (v: string | null | undefined) => pick('pages.alarms.severity', v),
    alarmStatus: (v: string | null | undefined) => pick('pages.alarms.status', v),
    /** `2天3小时`, `1小时20分`, `4分12秒`. */
    duration(ms: number): string {
      const p = durationParts(ms)
      if (p.d > 0) return t('pages.workOrders.duration.days', p)
      if (p.h > 0) return t('pages.workOrders.duration.hours', p)
      return t('pages.workOrders.duration.minutes', p)
    },
  }
}
