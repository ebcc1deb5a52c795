// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test
// Loader behaviour on real files in a temp dir: env substitution, YAML errors, problem lines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type } from 'typebox'
import { afterAll, describe, expect, it } from 'vitest'
import { loadGatewayConfig } from '../gateway/config/gateway-config.ts'
import { ConfigError, loadConfig } from '../gateway/contract/index.ts'
import { loadHubConfig } from '../hub/config/hub-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'estatehub-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(text: string): string {
  const path = join(dir, `c${n++}.yaml`)
  writeFileSync(path, text)
  return path
}

function problems(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

const Schema = Type.Object(
  {
    name: Type.String({ default: 'x' }),
    port: Type.Integer({ default: 1 }),
    ratio: Type.Number({ default: 0.5 }),
    on: Type.Boolean({ default: false }),
    items: Type.Array(Type.Object({ host: Type.String() }, { additionalProperties: false }), { default: [] }),
  },
  { additionalProperties: false },
)

describe('loadConfig', () => {
  it('uses defaults with no file, an empty file, or a comments-only file', () => {
    const defaults = { name: 'x', port: 1, ratio: 0.5, on: false, items: [] }
    expect(loadConfig(Schema, undefined, {})).toEqual(defaults)
    expect(loadConfig(Schema, file(''), {})).toEqual(defaults)
    expect(loadConfig(Schema, file('# nothing yet\n'), {})).toEqual(defaults)
  })

  it('reports a missing file by name', () => {
    const path = join(dir, 'nope.yaml')
    expect(problems(() => loadConfig(Schema, path, {}))).toEqual([`${path}: file not found`])
  })

  it('rejects a top level that is not a mapping', () => {
    const path = file('- a\n- b\n')
    expect(problems(() => loadConfig(Schema, path, {}))).toEqual([
      `${path}: top level must be a mapping, got array`,
    ])
  })

  it('reports YAML syntax errors with line and column', () => {
    const path = file('name: ok\nitems: [1, 2\nport: 3\n')
    const lines = problems(() => loadConfig(Schema, path, {}))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}:3:1: .+`))
  })

  it('substitutes variables, defaults and escapes after parsing', () => {
    const path = file(
      [
        'name: "${USER_NAME}-${SUFFIX:-dflt}-$${LITERAL}"',
        'port: ${PORT}',
        'ratio: ${RATIO:-0.25}',
        'on: ${ON}',
        'items: [{host: "${HOST}"}]',
      ].join('\n'),
    )
    const env = { USER_NAME: 'a', PORT: '8081', ON: 'true', HOST: 'b: [c]' }
    expect(loadConfig(Schema, path, env)).toEqual({
      name: 'a-dflt-${LITERAL}',
      port: 8081,
      ratio: 0.25,
      on: true,
      // A value containing YAML syntax stays a plain string: no injection.
      items: [{ host: 'b: [c]' }],
    })
  })

  it('does not convert literal strings or partial substitutions', () => {
    const path = file('port: "80"\nratio: "x${R}"\n')
    expect(problems(() => loadConfig(Schema, path, { R: '1' }))).toEqual([
      `${path}: port: must be an integer, got string "80"`,
      `${path}: ratio: must be a number, got string "x1"`,
    ])
  })

  it('reports every unset variable with its path', () => {
    const path = file('name: ${NAME}\nitems:\n  - host: a\n  - host: ${HOST}\n')
    expect(problems(() => loadConfig(Schema, path, {}))).toEqual([
      `${path}: items.1.host: environment variable HOST is not set`,
      `${path}: name: environment variable NAME is not set`,
    ])
  })

  it('reports unset variables together with schema problems', () => {
    const path = file('port: ${PORT}\nnmae: a\nitems: [{hots: b}]\n')
    expect(problems(() => loadConfig(Schema, path, {}))).toEqual([
      `${path}: items.0.host: is required`,
      `${path}: items.0.hots: unknown key (did you mean "host"?)`,
      `${path}: nmae: unknown key (did you mean "name"?)`,
      `${path}: port: environment variable PORT is not set`,
    ])
  })

  it('keeps a non-numeric variable as a type error', () => {
    const path = file('port: ${PORT}\n')
    expect(problems(() => loadConfig(Schema, path, { PORT: 'eighty' }))).toEqual([
      `${path}: port: must be an integer, got string "eighty"`,
    ])
  })

  it('orders array problems numerically and labels defaults', () => {
    const items = Array.from({ length: 11 }, (_, i) => (i === 2 || i === 10 ? '{}' : '{host: h}'))
    const path = file(`items: [${items.join(', ')}]\n`)
    expect(problems(() => loadConfig(Schema, path, {}))).toEqual([
      `${path}: items.2.host: is required`,
      `${path}: items.10.host: is required`,
    ])
    const Required = Type.Object({ a: Type.String() })
    expect(problems(() => loadConfig(Required, undefined, {}))).toEqual(['(defaults): a: is required'])
  })
})

describe('loadGatewayConfig', () => {
  it('requires the gateway section', () => {
    expect(problems(() => loadGatewayConfig(undefined, {}))).toEqual(['(defaults): gateway: is required'])
  })

  it('reports a missing gateway.id and a short secret without echoing it', () => {
    const path = file('gateway:\n  secret: short\n')
    expect(problems(() => loadGatewayConfig(path, {}))).toEqual([
      `${path}: gateway.id: is required`,
      `${path}: gateway.secret: must be at least 16 characters long`,
    ])
  })

  it('loads a complete gateway file with defaults', () => {
    const path = file('gateway:\n  id: gw-01\n  secret: ${GW_SECRET}\n')
    expect(loadGatewayConfig(path, { GW_SECRET: '0123456789abcdef' })).toEqual({
      gateway: { id: 'gw-01', secret: '0123456789abcdef', hubUrl: 'mqtt://127.0.0.1:1883' },
      outbox: { dir: './data/gateway/outbox', maxBatches: 200_000, maxBytes: 268_435_456 },
      schedule: {
        counterIntervalMs: 900_000,
        gaugeIntervalMs: 10_000,
        stateIntervalMs: 2_000,
        maxReadingsPerBatch: 2000,
      },
      http: { host: '127.0.0.1', port: 9108 },
      bacnet: { port: 47808 },
      devices: [],
      log: { level: 'info' },
    })
  })
})

describe('many problems', () => {
  it('lists every problem of a file, not the first eight', () => {
    const dir = mkdtempSync(join(tmpdir(), 'estatehub-many-'))
    const path = join(dir, 'many.yaml')
    writeFileSync(path, Array.from({ length: 12 }, (_, i) => `unknown${i}: 1`).join('\n'))
    expect(() => loadHubConfig(path)).toThrow(ConfigError)
    try {
      loadHubConfig(path)
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(12)
    }
  })
})
