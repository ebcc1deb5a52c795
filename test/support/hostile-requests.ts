import fc from 'fast-check'
import type { Operation, Schema } from './openapi-walk.ts'
import type { requestFor } from './walk-requests.ts'

/**
 * Hostile variants of a valid request (walk-requests.ts): one body field, query parameter or
 * path segment replaced by something no client should send. fast-check picks the target and
 * the variant from a seed, so the same seed gives the same requests.
 */
const DEPTH = 10_000
const MEGABYTE = 'x'.repeat(1_000_000) // under the body limit, so validation and routes see it

/** Raw JSON texts for a body field (raw, so they can hold what JSON.stringify would not write). */
const jsonClasses: Record<string, fc.Arbitrary<string>> = {
  nul: fc.constantFrom('"a\\u0000b"', '"\\u0000"'),
  surrogate: fc.constantFrom('"a\\ud800b"', '"\\udfff"', '"\\ud800"'),
  megabyte: fc.constant(JSON.stringify(MEGABYTE)),
  deepArray: fc.constant(`${'['.repeat(DEPTH)}1${']'.repeat(DEPTH)}`),
  deepObject: fc.constant(`${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`),
  wrongType: fc.constantFrom('true', 'null', '{}', '[]', '12', '"12"', '[{"x":1}]', '{"id":"x"}'),
  hugeNumber: fc.oneof(
    fc.constantFrom('1e308', '-1e308', '1e400', '123456789012345678901234567890', '-0', '5e-324'),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  ),
  numberLikeString: fc.constantFrom(
    '"NaN"',
    '"-1"',
    '"Infinity"',
    '"1e309"',
    '"-0"',
    '"0x10"',
    '" 1 "',
    '""',
  ),
  randomText: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  randomNumber: fc.double().map((n) => (Number.isFinite(n) ? String(n) : '1e999')),
}
/** Percent-encoded texts for a query value or a path segment (raw, so invalid UTF-8 fits). */
const textClasses: Record<string, fc.Arbitrary<string>> = {
  nul: fc.constantFrom('a%00b', '%00'),
  surrogate: fc.constantFrom('%ED%A0%80', 'a%ED%BF%BFb'),
  invalidUtf8: fc.constantFrom('%FF', '%C3%28', '%E2%82'),
  megabyte: fc.constant(MEGABYTE),
  numberLike: fc.constantFrom('NaN', '-1', 'Infinity', '1e309', '-0', '99999999999999999999999', '0x10', ''),
  wrongShape: fc.constantFrom('true', 'null', '%7B%7D', '%5B%5D', '..', '%2F', '%25'),
  randomText: fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
}

type Target =
  | { where: 'body'; path: readonly (string | number)[] }
  | { where: 'bodyExtraKeys' }
  | { where: 'query'; name: string }
  | { where: 'path'; index: number }

interface Mutation {
  readonly target: Target
  readonly raw: string
}

export interface Spoiled {
  method: string
  url: string
  payload?: string
  headers: Record<string, string>
  excerpt: string
}

/** Where a body can be spoiled: the whole body, each field, and each field of an element or sub-object. */
function bodyPaths(schema: Schema | undefined, value: unknown): (string | number)[][] {
  if (schema === undefined) return []
  const paths: (string | number)[][] = [[]]
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      paths.push([key])
      if (Array.isArray(child) && child[0] && typeof child[0] === 'object')
        for (const sub of Object.keys(child[0] as object)) paths.push([key, 0, sub])
      else if (child && typeof child === 'object' && !Array.isArray(child))
        for (const sub of Object.keys(child)) paths.push([key, sub])
    }
    // Optional fields the sample left out are targets too.
    for (const key of Object.keys(schema.properties ?? {})) if (!(key in (value as object))) paths.push([key])
  }
  return paths
}

const PLACEHOLDER = '\u0001hostile\u0001'

function setAt(value: unknown, path: readonly (string | number)[], leaf: unknown): unknown {
  if (path.length === 0) return leaf
  const [head, ...rest] = path
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >
  copy[head!] = setAt(copy[head!], rest, leaf)
  return copy
}

function spoil(op: Operation, base: ReturnType<typeof requestFor>, mutation: Mutation): Spoiled {
  const [pathPart, queryPart = ''] = base.url.split('?') as [string, string?]
  const segments = pathPart.split('/')
  const query = [...new URLSearchParams(queryPart)].map(
    ([k, v]) => [k, encodeURIComponent(v)] as [string, string],
  )
  let payload = base.payload === undefined ? undefined : JSON.stringify(base.payload)
  const { target, raw } = mutation
  let where: string
  switch (target.where) {
    case 'body':
      payload = JSON.stringify(setAt(base.payload, target.path, PLACEHOLDER)).replace(
        JSON.stringify(PLACEHOLDER),
        () => raw,
      )
      where = `body.${target.path.join('.')}`
      break
    case 'bodyExtraKeys': {
      const extra = `"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"unexpected":${raw}`
      payload = payload === '{}' ? `{${extra}}` : payload!.replace(/^\{/, () => `{${extra},`)
      where = 'body (extra keys)'
      break
    }
    case 'query': {
      const at = query.findIndex(([k]) => k === target.name)
      if (at >= 0) query[at] = [target.name, raw]
      else query.push([target.name, raw])
      where = `query.${target.name}`
      break
    }
    case 'path':
      segments[target.index] = raw
      where = `path segment ${op.path.split('/')[target.index]}`
      break
  }
  const queryText = query.map(([k, v]) => `${k}=${v}`).join('&')
  return {
    method: base.method,
    url: queryText ? `${segments.join('/')}?${queryText}` : segments.join('/'),
    ...(payload !== undefined ? { payload } : {}),
    headers: { ...base.headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    excerpt: `${where} = ${raw.length > 80 ? `${raw.slice(0, 80)}… (${raw.length} chars)` : raw}`,
  }
}

/** The hostile requests for one route: one per class at a target fast-check picks, then a few more at random. */
export function hostileRequests(
  op: Operation,
  base: ReturnType<typeof requestFor>,
  seed: number,
  randomRuns: number,
): Spoiled[] {
  const targets: fc.Arbitrary<Target>[] = []
  const json: fc.Arbitrary<Target>[] = []
  const paths = bodyPaths(op.bodySchema, base.payload)
  if (paths.length > 0) json.push(fc.constantFrom(...paths).map((path) => ({ where: 'body' as const, path })))
  if (base.payload && typeof base.payload === 'object' && !Array.isArray(base.payload))
    json.push(fc.constant({ where: 'bodyExtraKeys' as const }))
  const queryNames = Object.keys(op.querySchema?.properties ?? {})
  if (queryNames.length > 0)
    targets.push(fc.constantFrom(...queryNames).map((name) => ({ where: 'query' as const, name })))
  const pathIndexes = op.path.split('/').flatMap((segment, index) => (segment.startsWith('{') ? [index] : []))
  if (pathIndexes.length > 0)
    targets.push(fc.constantFrom(...pathIndexes).map((index) => ({ where: 'path' as const, index })))

  const mutations: fc.Arbitrary<Mutation>[] = []
  if (json.length > 0) {
    const jsonTarget = fc.oneof(...json)
    for (const raw of Object.values(jsonClasses)) mutations.push(fc.record({ target: jsonTarget, raw }))
  }
  if (targets.length > 0) {
    const textTarget = fc.oneof(...targets)
    for (const raw of Object.values(textClasses)) mutations.push(fc.record({ target: textTarget, raw }))
  }
  if (mutations.length === 0) return []
  const chosen = mutations.flatMap((arb, i) => fc.sample(arb, { seed: seed + i, numRuns: 1 }))
  chosen.push(...fc.sample(fc.oneof(...mutations), { seed, numRuns: randomRuns }))
  return chosen.map((m) => spoil(op, base, m))
}
