import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'

/**
 * Every problem of a value against a TypeBox schema, one per field. Value.Errors alone
 * stops after TypeBox's global `maxErrors` (8 by default, and an unknown key costs two), so
 * a body with nine bad fields would be reported as eight. Rather than raise that global for
 * the whole process, objects and arrays are walked here and Value.Errors only sees leaves.
 * Used by the access receiver and the profile loader.
 */

export interface SchemaIssue {
  /** Keys and array indexes from the root: ['events', '3', 'door']. */
  readonly path: readonly string[]
  readonly message: string
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function leafMessage(keyword: string, params: Record<string, unknown>, fallback: string): string {
  if (keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `must be one of ${params.allowedValues.join(', ')}`
  }
  if (keyword === 'pattern' && typeof params.pattern === 'string') return `must match ${params.pattern}`
  return fallback
}

function leafIssues(schema: TSchema, value: unknown, path: readonly string[]): SchemaIssue[] {
  // Group by field: a union reports one complaint per branch; say them as one line.
  const byField = new Map<string, { path: string[]; messages: string[] }>()
  for (const e of Value.Errors(schema, value)) {
    if (e.keyword === 'boolean' || e.keyword === 'anyOf') continue
    const at = [...path, ...e.instancePath.split('/').filter(Boolean)]
    const key = at.join('\u0000')
    const entry = byField.get(key) ?? { path: at, messages: [] }
    const message = leafMessage(e.keyword, e.params as Record<string, unknown>, e.message ?? 'is invalid')
    if (!entry.messages.includes(message)) entry.messages.push(message)
    byField.set(key, entry)
  }
  return [...byField.values()].map((f) => ({ path: f.path, message: f.messages.join(' or ') }))
}

export function schemaIssues(schema: TSchema, value: unknown, path: readonly string[] = []): SchemaIssue[] {
  const s = schema as Record<string, unknown>
  if (s.type === 'object' && isRecord(s.properties) && isRecord(value)) {
    const properties = s.properties as Record<string, TSchema>
    const out: SchemaIssue[] = []
    for (const key of (s.required as string[] | undefined) ?? []) {
      if (value[key] === undefined) out.push({ path: [...path, key], message: 'is required' })
    }
    if (s.additionalProperties === false) {
      for (const key of Object.keys(value)) {
        if (!(key in properties)) out.push({ path: [...path, key], message: 'unknown field' })
      }
    }
    for (const [key, sub] of Object.entries(properties)) {
      if (value[key] !== undefined) out.push(...schemaIssues(sub, value[key], [...path, key]))
    }
    return out
  }
  if (s.type === 'array' && isRecord(s.items) && Array.isArray(value)) {
    const min = typeof s.minItems === 'number' ? s.minItems : 0
    const max = typeof s.maxItems === 'number' ? s.maxItems : Number.POSITIVE_INFINITY
    if (value.length < min) return [{ path, message: `must have at least ${min} items` }]
    // Too many items: say so alone rather than list the problems of each of them.
    if (value.length > max) return [{ path, message: `must have at most ${max} items` }]
    return value.flatMap((item, i) => schemaIssues(s.items as TSchema, item, [...path, String(i)]))
  }
  return leafIssues(schema, value, path)
}
