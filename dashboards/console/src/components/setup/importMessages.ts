import { i18n } from '../../i18n/index.ts'

/**
 * The hub's import messages (hub/import) in the user's language: the common ones by pattern,
 * anything else as the hub wrote it.
 */
const patterns: readonly [RegExp, string, readonly string[]][] = [
  [/^is required$/, 'required', []],
  [/^must be greater than (\S+), got (.*)$/, 'greaterThan', ['min', 'got']],
  [/^must be at least (\S+), got (.*)$/, 'atLeast', ['min', 'got']],
  [/^must be a number, got (.*)$/, 'number', ['got']],
  [/^must be a whole number, got (.*)$/, 'integer', ['got']],
  [/^must be a date like \S+, got (.*)$/, 'date', ['got']],
  [/^must be a number with at most (\d+) decimal places$/, 'decimals', ['scale']],
  [/^must be one of (.*), got (.*)$/, 'oneOf', ['values', 'got']],
  [/^a \w+ with code "(.*)" already exists in this estate$/, 'exists', ['code']],
  [/^code "(.*)" is already used in row (\d+)$/, 'usedInRow', ['code', 'row']],
  [/^no data rows$/, 'noRows', []],
  [/^unknown column;/, 'unknownColumn', []],
  [/^required column is missing \(write one of (.*)\)$/, 'missingColumn', ['names']],
  [/^refers to a record that does not exist/, 'unknownCode', []],
]

export function importMessage(message: string): string {
  for (const [pattern, key, names] of patterns) {
    const match = pattern.exec(message)
    if (!match) continue
    const params = Object.fromEntries(names.map((name, i) => [name, match[i + 1] ?? '']))
    return i18n.global.t(`pages.import.messages.${key}`, params)
  }
  return message
}
