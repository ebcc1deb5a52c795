import elementEn from 'element-plus/es/locale/lang/en.mjs'
import elementZhCn from 'element-plus/es/locale/lang/zh-cn.mjs'
import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import en from './en.ts'
import zhCN, { type MessageSchema } from './zh-CN.ts'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: readonly Locale[] = ['zh-CN', 'en']

const STORAGE_KEY = 'estatehub.locale'

function savedLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY)
  return saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN'
}

// Keys are checked against the zh-CN catalogue: useI18n().t('pages.overview.title').
declare module 'vue-i18n' {
  export interface DefineLocaleMessage extends MessageSchema {}
}

export const i18n = createI18n<[MessageSchema], Locale, false>({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

export const locale = computed<Locale>(() => i18n.global.locale.value)

/** Element Plus's own labels (pagination, date pickers, empty states) in the same language. */
export const elementLocale = computed(() => (locale.value === 'en' ? elementEn : elementZhCn))

function applyToDocument(value: Locale) {
  document.documentElement.lang = value
  document.title = i18n.global.t('app.title')
}

/** Switches the language; kept in localStorage, so a reload keeps it. */
export function setLocale(value: Locale) {
  i18n.global.locale.value = value
  localStorage.setItem(STORAGE_KEY, value)
  applyToDocument(value)
}

applyToDocument(i18n.global.locale.value)
