import type { MessageSchema } from '../i18n/zh-CN.ts'

/**
 * The hub writes a field's problem as a short English sentence of a few fixed shapes: its JSON
 * schema validation (Ajv's words, hub/kernel/error-handler.ts), its own checks (`is required`,
 * `must be greater than 0`, …), the database's constraints (hub/kernel/database-error.ts) and
 * the spreadsheet import (hub/import). These patterns recognise the common shapes so that the
 * console says them in the user's language (`errors.messages.<key>`); a sentence no pattern
 * knows is shown as the hub wrote it, which is still exact, only English.
 *
 * No Vue or i18n here: the hub-side test (test/console-field-messages.test.ts) feeds it what the
 * hub really answers.
 */
export type HubMessageKey = keyof MessageSchema['errors']['messages']

export interface RecognisedMessage {
  readonly key: HubMessageKey
  readonly params: Readonly<Record<string, string>>
}

// Ajv's JSON types (`must be string,null`), each named in the catalogue (errors.types.<type>).
const JSON_TYPES = ['string', 'integer', 'number', 'boolean', 'array', 'object', 'null'] as const

const patterns: readonly (readonly [RegExp, HubMessageKey, readonly string[]])[] = [
  // Presence and unknown fields (every route's schema).
  [/^is required\b/, 'required', []],
  [/^unknown field$/, 'unknownField', []],
  // Ajv: lengths, bounds, formats, types.
  [/^must NOT have fewer than (\d+) characters$/, 'minLength', ['limit']],
  [/^must NOT have more than (\d+) characters$/, 'maxLength', ['limit']],
  [/^must NOT have fewer than (\d+) items$/, 'minItems', ['limit']],
  [/^must NOT have more than (\d+) items$/, 'maxItems', ['limit']],
  [/^must be >= (\S+)$/, 'atLeast', ['limit']],
  [/^must be <= (\S+)$/, 'atMost', ['limit']],
  [/^must be > (\S+)$/, 'greaterThan', ['limit']],
  [/^must be < (\S+)$/, 'lessThan', ['limit']],
  [/^must be multiple of (\S+)$/, 'multipleOf', ['limit']],
  [/^must match format "(date-time|date|time|email|uuid|uri)"$/, 'format', ['format']],
  [/^must match pattern /, 'pattern', []],
  [/^must be equal to one of the allowed values$/, 'notAllowedValue', []],
  [/^must be one of (.*), got (.*)$/, 'oneOfGot', ['values', 'got']],
  [/^must be one of (.*)$/, 'oneOf', ['values']],
  [/^must NOT have duplicate items/, 'duplicateItems', []],
  // The hub's own checks.
  [/^must be (?:greater|more) than (\S+), got (.*)$/, 'greaterThanGot', ['limit', 'got']],
  [/^must be (?:greater|more) than (\S+)$/, 'greaterThan', ['limit']],
  [/^must be at least (\S+), got (.*)$/, 'atLeastGot', ['limit', 'got']],
  [/^must be at least (\S+)$/, 'atLeast', ['limit']],
  [/^must be positive$/, 'positive', []],
  [/^must not be zero$/, 'notZero', []],
  [/^must be a positive amount (?:in yuan )?with at most 2 decimals$/, 'money', []],
  [/^must be a number with at most (\d+) decimal places$/, 'decimals', ['scale']],
  [/^must be .+ with at most (\d+) decimal places, got (.*)$/, 'decimalsGot', ['scale', 'got']],
  [/^must be a number, got (.*)$/, 'number', ['got']],
  [/^must be a whole number, got (.*)$/, 'integer', ['got']],
  [/^must be a whole number from (\S+) to (\S+)$/, 'between', ['min', 'max']],
  [/^must be a date like \S+, got (.*)$/, 'date', ['got']],
  [/^must be an ISO(?: 8601)? date-time/, 'dateTime', []],
  [/^must be after validFrom/, 'afterValidFrom', []],
  [/^must not be in the future/, 'notFuture', []],
  [/^belongs to another estate$/, 'otherEstate', []],
  [/^overlaps another range/, 'overlaps', []],
  [/^is more than the line's open balance (\S+)$/, 'moreThanOpen', ['open']],
  [/^has more than (\d+) decimals$/, 'decimals', ['scale']],
  [/^must be an amount in yuan, got (.*)$/, 'number', ['got']],
  [/^is more than the part of the payment that was not used for bills$/, 'refundTooMuch', []],
  [/^is less than the lines chosen \((\S+)\)$/, 'lessThanLines', ['total']],
  [/^has a void requested or done already$/, 'voidPending', []],
  [/^a request must be approved by someone other than who made it$/, 'selfApproval', []],
  [/^wrong username or password$/, 'wrongLogin', []],
  [/^too many failed logins; try again in (\d+) min$/, 'loginLocked', ['minutes']],
  [/^temporarily locked$/, 'locked', []],
  [/^already exists$/, 'alreadyExists', []],
  [/^refers to a record that does not exist/, 'unknownReference', []],
  [/^not allowed$/, 'notAllowed', []],
  // The spreadsheet import (hub/import).
  [/^a \w+ with code "(.*)" already exists in this estate$/, 'codeExists', ['code']],
  [/^code "(.*)" is already used in row (\d+)$/, 'usedInRow', ['code', 'row']],
  [/^no data rows$/, 'noRows', []],
  [/^unknown column;/, 'unknownColumn', []],
  [/^required column is missing \(write one of (.*)\)$/, 'missingColumn', ['names']],
]

/** The catalogue key and parameters for one of the hub's field messages, or null. */
export function recogniseHubMessage(message: string): RecognisedMessage | null {
  const typeMatch = /^must be ([a-z]+(?:,[a-z]+)*)$/.exec(message)
  if (typeMatch?.[1]?.split(',').every((t) => (JSON_TYPES as readonly string[]).includes(t)))
    return { key: 'type', params: { type: typeMatch[1] } }
  for (const [pattern, key, names] of patterns) {
    const match = pattern.exec(message)
    if (!match) continue
    return { key, params: Object.fromEntries(names.map((name, i) => [name, match[i + 1] ?? ''])) }
  }
  return null
}
