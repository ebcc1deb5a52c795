import type { FastifyInstance, FastifyRequest } from 'fastify'
import { invalid } from './api-error.ts'
import {
  describeUnstorable,
  escapeUnstorable,
  type UnstorableCharacter,
  unstorableCharacter,
} from './unstorable-text.ts'

/**
 * PostgreSQL's text cannot hold NUL (U+0000), and UTF-8 cannot encode a lone UTF-16
 * surrogate: either one reaching a query ends in the driver's "invalid byte sequence" and a
 * 500. So every text a request brings (JSON values and keys, the query string, path
 * parameters, the headers the hub stores) is checked once, at the edge, before any handler or
 * access decision reads the store.
 */

/** Deeper than any body of this API; a walk that stops here cannot be made to run long. */
export const MAX_BODY_DEPTH = 32

/** Request headers whose values the hub writes to the store. */
const storedHeaders = ['idempotency-key'] as const

const refuse = (field: string, character: UnstorableCharacter, what: string) =>
  invalid(
    field,
    `${what} contains ${describeUnstorable(character)}, which cannot be stored`,
    'text.unstorable',
    { character },
  )

/**
 * Walks one part of a request (`body`, `query`, `params`) without recursion, so a body nested
 * ten thousand deep costs a refusal, not a stack. Throws the 400 for the first bad text.
 */
export function checkStorable(part: string, value: unknown): void {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: part, depth: 0 }]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, path, depth } = next
    if (typeof item === 'string') {
      const character = unstorableCharacter(item)
      if (character) throw refuse(path, character, 'the text')
      continue
    }
    if (item === null || typeof item !== 'object' || Buffer.isBuffer(item)) continue
    if (depth >= MAX_BODY_DEPTH)
      throw invalid(path, `is nested deeper than ${MAX_BODY_DEPTH} levels`, 'request.tooDeep', {
        max: MAX_BODY_DEPTH,
      })
    const entries = Array.isArray(item) ? item.entries() : Object.entries(item)
    const children: typeof pending = []
    for (const [key, child] of entries) {
      if (typeof key === 'string') {
        const character = unstorableCharacter(key)
        if (character) throw refuse(`${path}.${escapeUnstorable(key)}`, character, 'the field name')
      }
      children.push({ value: child, path: `${path}.${key}`, depth: depth + 1 })
    }
    // Reversed so the first field is checked first and named when several are bad.
    pending.push(...children.reverse())
  }
}

function checkHeaders(request: FastifyRequest) {
  for (const name of storedHeaders) {
    const value = request.headers[name]
    if (value !== undefined) checkStorable(`headers.${name}`, value)
  }
}

/**
 * The query string, path parameters and stored headers are checked on arrival (before the
 * token is looked up); the body once it is parsed, before validation and access decisions.
 */
export function registerStorableText(app: FastifyInstance) {
  app.addHook('onRequest', async (request) => {
    checkStorable('query', request.query)
    checkStorable('params', request.params)
    checkHeaders(request)
  })
  app.addHook('preValidation', async (request) => {
    checkStorable('body', request.body)
  })
}
