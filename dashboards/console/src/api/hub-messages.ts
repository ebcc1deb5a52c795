import { i18n } from '../i18n/index.ts'
import { recogniseHubMessage } from './hub-message-patterns.ts'

/**
 * One of the hub's field messages in the user's language (hub-message-patterns.ts says which
 * shapes are known); an unknown one as the hub wrote it.
 */
export function hubMessage(message: string): string {
  const known = recogniseHubMessage(message)
  if (!known) return message
  const { t, te } = i18n.global
  if (known.key === 'type') {
    // `must be string,null` → 须为文本或空值
    const names = (known.params.type ?? '').split(',').map((type) => {
      const key = `errors.types.${type}`
      return te(key) ? t(key) : type
    })
    return t('errors.messages.type', { type: names.join(t('errors.typesOr')) })
  }
  return t(`errors.messages.${known.key}`, { ...known.params })
}
