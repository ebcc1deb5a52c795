import { i18n } from '../i18n/index.ts'

/**
 * The hub names every problem by a rule key with parameters (hub/kernel/error-rules.ts,
 * docs/errors.md) beside its English words. Here the key picks the catalogue text
 * (`errors.rules`) and the parameters fill it; a key this console does not know (a newer hub)
 * shows the hub's words, which are still exact, only English.
 */
export function ruleMessage(rule: unknown, params: unknown, hubWords: string): string {
  if (typeof rule !== 'string') return hubWords
  const { t, te } = i18n.global
  // Rule keys hold dots, so the key is quoted: errors.rules['decimal.places'].
  const key = `errors.rules['${rule}']`
  if (!te(key)) return hubWords
  const values: Record<string, unknown> = { ...(isRecord(params) ? params : {}) }
  if (rule === 'value.type' && typeof values.type === 'string') {
    // `string,null` → 文本或空值
    values.type = values.type
      .split(',')
      .map((type) => (te(`errors.types.${type}`) ? t(`errors.types.${type}`) : type))
      .join(t('errors.typesOr'))
  }
  const text = t(key, values)
  // Where a rule names the value as written only sometimes (an optional `got`), the text does
  // not place it; it follows, as the hub's own sentence had it.
  if (typeof values.got === 'string' && !text.includes(values.got))
    return text + t('errors.gotSuffix', { got: values.got })
  return text
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
