/**
 * What PostgreSQL cannot store in text or jsonb: NUL (U+0000), and a lone UTF-16 surrogate,
 * which UTF-8 has no form for (node-pg would silently write U+FFFD; jsonb refuses the \ud800
 * escape outright). The HTTP edge refuses such text (storable-text.ts); ingest sets the reading
 * aside (hub/ingest/reading-fit.ts). Both name the character the same way.
 */

// A high surrogate not followed by a low one, or a low one without a high one before it.
const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const UNSTORABLE_ALL = new RegExp(`\\u0000|${UNPAIRED.source}`, 'g')

export type UnstorableCharacter = 'NUL' | 'unpaired surrogate'

/** What in this text PostgreSQL cannot store, or undefined when it can store it all. */
export function unstorableCharacter(text: string): UnstorableCharacter | undefined {
  if (text.includes('\u0000')) return 'NUL'
  if (UNPAIRED.test(text)) return 'unpaired surrogate'
  return undefined
}

/** The character in words, for a message: "a NUL character (\u0000)". */
export const describeUnstorable = (character: UnstorableCharacter) =>
  character === 'NUL' ? 'a NUL character (\\u0000)' : 'an unpaired UTF-16 surrogate'

/** The text with its unstorable characters written as visible `\uXXXX` escapes. */
export const escapeUnstorable = (text: string) =>
  text.replace(UNSTORABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)
