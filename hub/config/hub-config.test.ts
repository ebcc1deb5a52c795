// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test
// Hub schema: defaults for an empty config, and precise lines for a broken one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../gateway/contract/index.ts'
import { loadHubConfig } from './hub-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'estatehub-hub-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const DEFAULTS = {
  http: { host: '127.0.0.1', port: 8080 },
  database: { dataDir: './data/hub', poolMax: 10 },
  auth: { tokenTtlMinutes: 720 },
  mqtt: {
    mode: 'embedded',
    host: '127.0.0.1',
    port: 1883,
    clientId: 'estatehub-hub',
    shareGroup: 'estatehub',
  },
  ingest: { maxFutureMinutes: 10, maxAgeDays: 400 },
  timeseries: { gaugeRetentionDays: 400 },
  notifications: { pollMs: 1000, maxAttempts: 10 },
  log: { level: 'info' },
  // Neither a token nor a listener: /metrics is served nowhere until one is configured.
  metrics: {},
  rateLimits: {
    login: { max: 30, windowSeconds: 60 },
    import: { max: 20, windowSeconds: 60 },
    receipt: { max: 120, windowSeconds: 60 },
  },
}

function problemsOf(path: string): readonly string[] {
  try {
    loadHubConfig(path, {})
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('HubConfigSchema', () => {
  it('turns an empty config into the full default object', () => {
    expect(loadHubConfig(undefined, {})).toEqual(DEFAULTS)
    const path = join(dir, 'empty.yaml')
    writeFileSync(path, '')
    expect(loadHubConfig(path, {})).toEqual(DEFAULTS)
  })

  it('treats a section with no body as absent', () => {
    const path = join(dir, 'bare.yaml')
    writeFileSync(path, 'http:\nlog:\n  level: debug\n')
    expect(loadHubConfig(path, {})).toEqual({ ...DEFAULTS, log: { level: 'debug' } })
  })

  it('needs a broker URL when the hub consumes from an external broker', () => {
    const path = join(dir, 'external.yaml')
    writeFileSync(path, 'mqtt:\n  mode: external\n')
    expect(problemsOf(path)).toEqual([`${path}: mqtt.url: is required when mqtt.mode is external`])
    writeFileSync(path, 'mqtt:\n  mode: external\n  url: mqtts://broker.example:8883\n  username: hub\n')
    expect(loadHubConfig(path, {}).mqtt).toMatchObject({
      mode: 'external',
      url: 'mqtts://broker.example:8883',
      shareGroup: 'estatehub',
    })
  })

  it('reports a typo, a wrong type and a missing value as exactly three lines', () => {
    const path = join(dir, 'hub.yaml')
    writeFileSync(
      path,
      [
        'databse:',
        '  url: postgres://db/hub',
        'http:',
        '  port: eighty',
        '  tls:',
        '    certFile: a.pem',
        '',
      ].join('\n'),
    )
    const lines = problemsOf(path)
    expect(lines).toEqual([
      `${path}: databse: unknown key (did you mean "database"?)`,
      `${path}: http.port: must be an integer, got string "eighty"`,
      `${path}: http.tls.keyFile: is required`,
    ])
    // The thrown message is the same lines, one per problem.
    expect(() => loadHubConfig(path, {})).toThrow(lines.join('\n'))
  })

  it('explains enum, range and pattern problems', () => {
    const path = join(dir, 'ranges.yaml')
    writeFileSync(
      path,
      'log: {level: loud}\nauth: {tokenTtlMinutes: 1}\ndatabase: {url: "mysql://x", poolMax: 500}\n',
    )
    expect(problemsOf(path)).toEqual([
      `${path}: auth.tokenTtlMinutes: must be >= 5, got number 1`,
      `${path}: database.poolMax: must be <= 200, got number 500`,
      `${path}: database.url: must match pattern ^postgres(ql)?://.+, got string "mysql://x"`,
      `${path}: log.level: must be one of fatal, error, warn, info, debug, trace, silent, got string "loud"`,
    ])
  })

  it('converts ${VAR} values to the numbers the schema wants', () => {
    const path = join(dir, 'env.yaml')
    writeFileSync(path, 'http:\n  port: ${PORT:-9000}\ndatabase:\n  url: ${DATABASE_URL}\n')
    const config = loadHubConfig(path, { DATABASE_URL: 'postgres://u@db/hub' })
    expect(config.http.port).toBe(9000)
    expect(config.database.url).toBe('postgres://u@db/hub')
  })
})
