// Generic YAML config loader shared by the hub and the gateway.
// Pipeline: read -> parse YAML -> substitute ${VAR} in string scalars -> schema-guided
// coercion -> defaults -> validate. Every problem is collected and reported as one
// `FILE: path.to.key: what is wrong` line, so an operator can fix a file in one pass.
import { readFileSync } from 'node:fs'
import type { Static, TSchema } from 'typebox'
import type { TLocalizedValidationError } from 'typebox/error'
import { Settings } from 'typebox/system'
import { Value } from 'typebox/value'
import { LineCounter, parseDocument } from 'yaml'

// TypeBox stops collecting errors at 8 by default (a guard for untrusted input); a config
// file is the operator's own and every problem should be listed in one run.
Settings.Set({ maxErrors: 200 })

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'))
  }
}

export type Path = readonly (string | number)[]
export type Problem = { path: Path; message: string }

/**
 * Rules a schema cannot state (a device's connection depends on its protocol): given the
 * validated config, returns more problems, reported in the same one-line form.
 */
export type ConfigRefinement<T> = (config: T) => readonly Problem[]
// TypeBox schemas are plain JSON Schema objects; we only read a few keywords.
type SchemaNode = Record<string, unknown>

export function loadConfig<S extends TSchema>(
  schema: S,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  refine?: ConfigRefinement<Static<S>>,
): Static<S> {
  const label = file ?? '(defaults)'
  const fail = (problems: readonly Problem[]): never => {
    throw new ConfigError(sortProblems(problems).map((p) => formatLine(label, p)))
  }

  // No file means "run with the embedded defaults", so the raw config is empty.
  const raw = file === undefined ? {} : readYaml(file)
  if (!isPlainObject(raw)) fail([{ path: [], message: `top level must be a mapping, got ${typeName(raw)}` }])

  const sub: SubstState = { env, problems: [], whole: new Set() }
  const substituted = substitute(raw, [], sub)
  const coerced = coerce(schema as SchemaNode, substituted, [], sub.whole)
  const value = Value.Default(schema, coerced)
  // Keep going after unset variables so one run reports everything, but skip validation
  // noise about the empty string left where an unset variable was.
  const unset = new Set(sub.problems.map((p) => pathKey(p.path)))
  const problems = [...sub.problems, ...validate(schema, value).filter((p) => !unset.has(pathKey(p.path)))]
  if (problems.length > 0) fail(problems)
  if (refine) {
    const refined = refine(value as Static<S>)
    if (refined.length > 0) fail(refined)
  }
  return value as Static<S>
}

function readYaml(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`
    throw new ConfigError([`${file}: ${why}`])
  }
  const lineCounter = new LineCounter()
  // prettyErrors:false keeps messages single-line; positions come from the LineCounter.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const at = ({ line, col }: { line: number; col: number }) => `${line}:${col}`
  if (doc.errors.length > 0)
    throw new ConfigError(doc.errors.map((e) => `${file}:${at(lineCounter.linePos(e.pos[0]))}: ${e.message}`))
  // An empty (or comments-only) file is an empty config, not an error.
  return doc.contents === null ? {} : doc.toJS()
}

// ${NAME}, ${NAME:-default}, and the escape $${NAME}. Done on parsed scalars, never on
// the source text, so a variable's value can never change the YAML structure.
const VAR = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g
const WHOLE_VAR = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/

type SubstState = { env: NodeJS.ProcessEnv; problems: Problem[]; whole: Set<string> }

function substitute(v: unknown, path: Path, st: SubstState): unknown {
  if (typeof v === 'string') {
    // Remember scalars that were exactly one variable: only those may be type-converted,
    // so `port: ${PORT}` works while a literal `port: "80"` stays a string.
    if (WHOLE_VAR.test(v)) st.whole.add(pathKey(path))
    return v.replace(VAR, (match, escaped: string, name: string, dflt: string | undefined) => {
      if (escaped) return match.slice(1)
      const set = st.env[name]
      // Shell semantics: `:-` also applies when the variable is set but empty.
      if (dflt !== undefined) return set === undefined || set === '' ? dflt : set
      if (set === undefined) {
        st.problems.push({ path, message: `environment variable ${name} is not set` })
        return ''
      }
      return set
    })
  }
  if (Array.isArray(v)) return v.map((item, i) => substitute(item, [...path, i], st))
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {}
    for (const [k, item] of Object.entries(v)) o[k] = substitute(item, [...path, k], st)
    return o
  }
  return v
}

// Walks value and schema together: converts whole-variable strings to the number/boolean
// the schema wants, and treats `section:` with no body (YAML null) as absent when the
// schema has a default for it (a section whose lines are all commented out).
function coerce(schema: SchemaNode | undefined, v: unknown, path: Path, whole: Set<string>): unknown {
  if (schema === undefined) return v
  if (typeof v === 'string' && whole.has(pathKey(path))) return convertScalar(schema.type, v)
  if (Array.isArray(v)) return v.map((item, i) => coerce(child(schema, i), item, [...path, i], whole))
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {}
    for (const [k, item] of Object.entries(v)) {
      const sub = child(schema, k)
      if (item === null && sub !== undefined && 'default' in sub) continue
      o[k] = coerce(sub, item, [...path, k], whole)
    }
    return o
  }
  return v
}

function convertScalar(type: unknown, s: string): unknown {
  const t = s.trim()
  if (type === 'integer' && /^[+-]?\d+$/.test(t)) return Number(t)
  if (type === 'number' && t !== '' && Number.isFinite(Number(t))) return Number(t)
  if (type === 'boolean' && /^(true|false)$/i.test(t)) return t.toLowerCase() === 'true'
  return s // left alone: validation then reports the real type problem
}

// Array indexes arrive as strings from JSON pointers, so decide by the schema, not the key.
function child(schema: SchemaNode, key: string | number): SchemaNode | undefined {
  const next = schema.type === 'array' ? schema.items : (schema.properties as SchemaNode | undefined)?.[key]
  return isPlainObject(next) ? next : undefined
}

function schemaAt(schema: SchemaNode, path: Path): SchemaNode | undefined {
  return path.reduce<SchemaNode | undefined>((s, key) => (s === undefined ? s : child(s, key)), schema)
}

/** The problems of `value` against `schema`, their paths under `base`: for refinements. */
export function schemaProblems(schema: TSchema, value: unknown, base: Path): Problem[] {
  return validate(schema, value).map((p) => ({ path: [...base, ...p.path], message: p.message }))
}

function validate(schema: TSchema, value: unknown): Problem[] {
  const out: Problem[] = []
  for (const e of Value.Errors(schema, value)) {
    const path = parsePointer(e.instancePath)
    if (e.keyword === 'required') {
      for (const key of e.params.requiredProperties)
        out.push({ path: [...path, key], message: 'is required' })
    } else if (e.keyword === 'additionalProperties') {
      const known = Object.keys(schemaAt(schema as SchemaNode, path)?.properties ?? {})
      for (const key of e.params.additionalProperties) {
        const hint = suggest(key, known)
        out.push({ path: [...path, key], message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}` })
      }
    } else if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) {
      // TypeBox also reports each unknown key as "schema is false" on the key itself;
      // the parent's additionalProperties error above already covers it.
    } else {
      out.push({ path, message: describe(e, valueAt(value, path), path) })
    }
  }
  return out
}

function describe(e: TLocalizedValidationError, got: unknown, path: Path): string {
  // Never echo values of secret-looking keys into logs.
  const secret = /secret|password|passwd/i.test(String(path[path.length - 1] ?? ''))
  const shown = secret ? typeName(got) : show(got)
  switch (e.keyword) {
    case 'type':
      return `must be ${[e.params.type].flat().map(article).join(' or ')}, got ${shown}`
    case 'enum':
      return `must be one of ${e.params.allowedValues.map(String).join(', ')}, got ${shown}`
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return `must be ${e.params.comparison} ${e.params.limit}, got ${shown}`
    case 'minLength':
      return `must be at least ${e.params.limit} characters long`
    case 'pattern':
      return `must match pattern ${String(e.params.pattern)}${secret ? '' : `, got ${shown}`}`
    default:
      return e.message
  }
}

function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDist = 3 // only suggest within edit distance 2
  for (const k of known) {
    const d = editDistance(key, k)
    if (d < bestDist) [best, bestDist] = [k, d]
  }
  return best
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
    }
    prev = cur
  }
  return prev[b.length]!
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function valueAt(v: unknown, path: Path): unknown {
  return path.reduce<unknown>(
    (cur, k) => (typeof cur === 'object' && cur !== null ? (cur as SchemaNode)[k] : undefined),
    v,
  )
}

// Segment-wise order so devices.2 sorts before devices.10.
function sortProblems(problems: readonly Problem[]): Problem[] {
  const cmp = (a: Path, b: Path): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const [x, y] = [String(a[i]), String(b[i])]
      if (x === y) continue
      const [nx, ny] = [Number(x), Number(y)]
      return Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x < y ? -1 : 1
    }
    return a.length - b.length
  }
  return [...problems].sort((a, b) => cmp(a.path, b.path))
}

function formatLine(label: string, p: Problem): string {
  return p.path.length === 0 ? `${label}: ${p.message}` : `${label}: ${p.path.join('.')}: ${p.message}`
}

const pathKey = (path: Path): string => JSON.stringify(path.map(String))

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

function show(v: unknown): string {
  const t = typeName(v)
  if (t === 'object' || t === 'array' || t === 'null' || t === 'undefined') return t
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return `${t} ${s.length > 40 ? `${s.slice(0, 37)}...` : s}`
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}
