import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'

interface SchemaIssue {
  readonly keyword: string
  readonly schemaPath: string
  readonly instancePath: string
  readonly params: Readonly<Record<string, unknown>>
  readonly message: string
}

/**
 * The first thing wrong with `value`, as `<JSON pointer>: <what>` (e.g.
 * `/readings/3/q: must be one of "good", "uncertain", "bad"`), or undefined when it is valid.
 * One precise message rather than all of them: a peer sending a broken batch usually breaks it
 * the same way 5,000 times, and the message ends up in a log line.
 */
export function firstSchemaError(schema: TSchema, value: unknown): string | undefined {
  if (checkerOf(schema)(value)) return undefined
  const issues = [...Value.Errors(schema, value)] as SchemaIssue[]
  const first = issues[0]
  if (first === undefined) return '(root): is invalid'
  // TypeBox reports the failing branches of a union before the union itself: describe the
  // union as a whole ("must be number, string or null"), not its first branch.
  const unionAt = first.schemaPath.lastIndexOf('/anyOf/')
  if (unionAt >= 0) {
    const unionPath = first.schemaPath.slice(0, unionAt)
    const union = issues.find((i) => i.keyword === 'anyOf' && i.schemaPath === unionPath)
    if (union) return `${pointer(union.instancePath)}: ${describeUnion(issues, union)}`
  }
  return describe(first)
}

// The interpreted Value.Check took ~29 ms for a 5,000-reading batch, most of the hub's ingest
// CPU (docs/benchmarks.md); a validator compiled once per schema takes ~0.5 ms. The slow path
// (Value.Errors) runs only for a payload already known to be invalid.
const checkers = new WeakMap<TSchema, (value: unknown) => boolean>()
function checkerOf(schema: TSchema): (value: unknown) => boolean {
  let check = checkers.get(schema)
  if (check === undefined) {
    const validator = Compile(schema)
    check = (value) => validator.Check(value)
    checkers.set(schema, check)
  }
  return check
}

function pointer(instancePath: string): string {
  return instancePath === '' ? '(root)' : instancePath
}

function describe(issue: SchemaIssue): string {
  const at = issue.instancePath
  const p = issue.params
  switch (issue.keyword) {
    case 'required': {
      const keys = (p.requiredProperties as readonly string[] | undefined) ?? []
      return `${at}/${keys[0] ?? '?'}: is required`
    }
    case 'additionalProperties': {
      const keys = (p.additionalProperties as readonly string[] | undefined) ?? []
      return `${at}/${keys[0] ?? '?'}: is not allowed (unknown property)`
    }
    case 'boolean':
      // TypeBox's twin of additionalProperties, reported on the unknown key itself.
      return `${pointer(at)}: is not allowed (unknown property)`
    case 'const':
      return `${pointer(at)}: must be ${JSON.stringify(p.allowedValue)}`
    case 'enum': {
      const allowed = (p.allowedValues as readonly unknown[] | undefined) ?? []
      return `${pointer(at)}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
    }
    case 'maxItems':
      return `${pointer(at)}: has too many items (at most ${String(p.limit)})`
    default:
      return `${pointer(at)}: ${issue.message}`
  }
}

function describeUnion(issues: readonly SchemaIssue[], union: SchemaIssue): string {
  const branches = issues.filter(
    (i) => i.instancePath === union.instancePath && i.schemaPath.startsWith(`${union.schemaPath}/anyOf/`),
  )
  const names: string[] = []
  for (const b of branches) {
    if (b.keyword === 'type') names.push(String(b.params.type))
    else if (b.keyword === 'const') names.push(JSON.stringify(b.params.allowedValue))
    else return 'matches none of the allowed shapes'
  }
  if (names.length === 0) return 'matches none of the allowed shapes'
  const last = names.pop()
  return `must be ${names.length > 0 ? `${names.join(', ')} or ${last}` : last}`
}
