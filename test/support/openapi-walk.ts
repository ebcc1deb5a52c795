/**
 * Walks an OpenAPI document and makes a request for each operation from its own schemas,
 * with every id taken from a given set: the basis of the access tests, so a route added
 * later is covered without anyone remembering to add it.
 */
export interface Operation {
  readonly method: string
  readonly path: string
  readonly secured: boolean
  readonly pathParams: readonly string[]
  readonly querySchema: Schema | undefined
  readonly bodySchema: Schema | undefined
  /** Answers with Server-Sent Events (text/event-stream): a stream that stays open. */
  readonly eventStream: boolean
}

export interface Schema {
  type?: string
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  enum?: unknown[]
  const?: unknown
  anyOf?: Schema[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  minItems?: number
  in?: string
  name?: string
  schema?: Schema
}

interface OpenApiOperation {
  security?: unknown[]
  parameters?: (Schema & { in: string; name: string; schema: Schema; required?: boolean })[]
  requestBody?: { content?: Record<string, { schema: Schema }> }
  responses?: Record<string, { content?: Record<string, unknown> }>
}

export function operationsOf(document: {
  paths: Record<string, Record<string, OpenApiOperation>>
}): Operation[] {
  const operations: Operation[] = []
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters = op.parameters ?? []
      const query = parameters.filter((p) => p.in === 'query')
      operations.push({
        method: method.toUpperCase(),
        path,
        secured: (op.security?.length ?? 0) > 0,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        querySchema:
          query.length === 0
            ? undefined
            : {
                type: 'object',
                properties: Object.fromEntries(query.map((p) => [p.name, p.schema])),
                required: query.filter((p) => p.required).map((p) => p.name),
              },
        bodySchema: op.requestBody?.content?.['application/json']?.schema,
        eventStream: op.responses?.['200']?.content?.['text/event-stream'] !== undefined,
      })
    }
  }
  return operations
}

// Strings that satisfy the patterns our schemas use (codes, usernames, phones, gateway ids, times).
const candidates = [
  'X-1',
  'walker01',
  '13800000000',
  'walk@example.com',
  'Asia/Shanghai',
  '12.5',
  '2025-01',
  '08:30',
]

export function sampleString(schema: Schema): string {
  if (schema.format === 'date') return '2025-01-01'
  if (schema.format === 'date-time') return '2025-01-01T00:00:00.000Z'
  if (schema.format === 'email') return 'walk@example.com'
  const min = schema.minLength ?? 1
  for (const c of candidates) {
    const value = c.length >= min ? c : c.padEnd(min, 'x')
    if (
      (!schema.pattern || new RegExp(schema.pattern).test(value)) &&
      value.length <= (schema.maxLength ?? 1000)
    )
      return value
  }
  throw new Error(`no sample string fits ${JSON.stringify(schema)}`)
}

/** A value valid for `schema`; fields named `…Id` take the id that `idFor` gives. */
export function sample(schema: Schema, name: string, idFor: (field: string) => string | undefined): unknown {
  const id = name.endsWith('Id') || schema.format === 'uuid' ? idFor(name) : undefined
  if (id !== undefined) return id
  if (schema.const !== undefined) return schema.const
  if (schema.enum) return schema.enum[0]
  if (schema.anyOf) {
    const branch = schema.anyOf.find((b) => b.type !== 'null') ?? schema.anyOf[0]!
    return sample(branch, name, idFor)
  }
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        // Required fields, plus every reference, so that each id-bearing field is exercised.
        if (schema.required?.includes(key) || key.endsWith('Id') || !schema.required)
          out[key] = sample(child, key, idFor)
      }
      return out
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () =>
        sample(schema.items ?? {}, name, idFor),
      )
    case 'integer':
    case 'number':
      return Math.max(1, schema.minimum ?? 1)
    case 'boolean':
      return true
    case 'string':
      return sampleString(schema)
    default:
      return {}
  }
}
