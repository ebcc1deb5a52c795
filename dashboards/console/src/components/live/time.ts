import { onBeforeUnmount, ref } from 'vue'

/** The language tag for dates and numbers in the console's language. */
export function dateLocale(locale: string): string {
  return locale === 'en' ? 'en-GB' : 'zh-CN'
}

/** "3 分钟前" / "3 minutes ago": how long ago `ts` was, in the browser's own wording of the locale. */
export function ago(ts: string, now: number, locale: string): string {
  const seconds = Math.round((new Date(ts).getTime() - now) / 1000)
  const format = new Intl.RelativeTimeFormat(dateLocale(locale), { numeric: 'auto' })
  const abs = Math.abs(seconds)
  if (abs < 60) return format.format(seconds, 'second')
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute')
  if (abs < 86_400) return format.format(Math.round(seconds / 3600), 'hour')
  return format.format(Math.round(seconds / 86_400), 'day')
}

/** A timestamp as the user reads it: date and time in the console's language. */
export function dateTime(ts: string, locale: string): string {
  return new Date(ts).toLocaleString(dateLocale(locale), { hour12: false })
}

/** The clock, ticking every `ms`, for "… ago" texts that stay true. */
export function useNow(ms = 10_000) {
  const now = ref(Date.now())
  const timer = setInterval(() => {
    now.value = Date.now()
  }, ms)
  onBeforeUnmount(() => clearInterval(timer))
  return now
}
