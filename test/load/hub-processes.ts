/**
 * What the ingest bench and the load run share: a PostgreSQL database of their own, hub
 * processes started as production starts them (`estatehub hub --config <yaml>` through
 * bin/estatehub.js), and CPU time read from /proc for any process (hubs, the broker,
 * PostgreSQL's backends), so a cost is measured where it is spent, not in the driver process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'estatehub.js')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Linux reports utime/stime in clock ticks; 100 per second on every mainstream kernel build. */
const CLOCK_TICKS = 100

/** User + system CPU seconds of one process (all its threads), or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** Process ids whose command line contains `needle` (e.g. a broker's config file). */
export function pidsByCommandLine(needle: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmdline.includes(needle)) pids.push(Number(entry))
    } catch {
      // ended meanwhile
    }
  }
  return pids
}

/**
 * CPU seconds a changing set of processes spent between start() and stop(): pids seen at
 * stop() but not at start() count from zero (a backend opened during the run); pids gone by
 * stop() are lost (their last seconds), which undercounts, never overcounts.
 */
export class CpuMeter {
  readonly #pids: () => Promise<number[]> | number[]
  #before = new Map<number, number>()

  constructor(pids: () => Promise<number[]> | number[]) {
    this.#pids = pids
  }

  async start(): Promise<void> {
    this.#before = new Map()
    for (const pid of await this.#pids()) {
      const cpu = processCpuSeconds(pid)
      if (cpu !== undefined) this.#before.set(pid, cpu)
    }
  }

  async stop(): Promise<number> {
    let total = 0
    for (const pid of new Set([...(await this.#pids()), ...this.#before.keys()])) {
      const cpu = processCpuSeconds(pid)
      if (cpu !== undefined) total += cpu - (this.#before.get(pid) ?? 0)
    }
    return total
  }
}

export interface ScratchDatabase {
  readonly url: string
  readonly name: string
  /** Server backends connected to this database (hubs' pools, the driver's own pool). */
  backendPids(): Promise<number[]>
  /** PostgreSQL's shared background processes (checkpointer, WAL writer, background writer). */
  backgroundPids(): Promise<number[]>
  drop(): Promise<void>
}

/**
 * A database of its own (`<prefix>_<random>`) on the server at `serverUrl`, dropped by drop();
 * undefined when the server does not answer (the caller says why and skips).
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix: string,
): Promise<ScratchDatabase | { readonly missing: string }> {
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 })
  try {
    await admin.connect()
  } catch (error) {
    return { missing: `PostgreSQL does not answer at ${serverUrl} (${(error as Error).message})` }
  }
  admin.on('error', () => {}) // the server ending the admin connection is reported by the next query
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  await admin.query(`create database ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const pids = async (sql: string, params: unknown[]) =>
    (await admin.query<{ pid: number }>(sql, params)).rows.map((r) => r.pid)
  return {
    url: url.toString(),
    name,
    backendPids: () =>
      pids('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]),
    backgroundPids: () =>
      pids(
        `select pid from pg_stat_activity where backend_type in ('checkpointer', 'walwriter', 'background writer')`,
        [],
      ),
    async drop() {
      // A pool's end() resolves before its connections are gone: wait for them, then force.
      for (let i = 0; i < 50; i++) {
        const open = await admin.query('select 1 from pg_stat_activity where datname = $1', [name])
        if (open.rowCount === 0) break
        await sleep(100)
      }
      await admin.query(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

export interface HubProcess {
  readonly pid: number
  /** The HTTP API's base URL. */
  readonly url: string
  /** Where this hub's gateways connect (its embedded broker, or the external one). */
  readonly mqttUrl: string
  /** Output so far (warnings and errors at the configured log level). */
  output(): string
  /** SIGTERM (a clean shutdown), SIGKILL after 20 s. */
  stop(): Promise<void>
}

export interface HubProcessOptions {
  readonly databaseUrl: string
  readonly poolMax?: number
  /** The `mqtt:` section as YAML lines (without the key), e.g. `mode: external`. */
  readonly mqtt: readonly string[]
  readonly logLevel?: 'warn' | 'error' | 'info'
}

/** Starts `estatehub hub` with a generated config; resolves once it listens (HTTP and MQTT). */
export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-load-hub-'))
  const config = join(dir, 'hub.yaml')
  writeFileSync(
    config,
    [
      'http:',
      '  host: 127.0.0.1',
      '  port: 0',
      'database:',
      `  url: ${options.databaseUrl}`,
      `  poolMax: ${options.poolMax ?? 10}`,
      'mqtt:',
      ...options.mqtt.map((line) => `  ${line}`),
      'log:',
      `  level: ${options.logLevel ?? 'warn'}`,
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn(process.execPath, [bin, 'hub', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
    // A bound against a hang: a hub on a busy 2-core machine takes seconds to compile and start.
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`hub did not start within 120 s: ${out}`))
    }, 120_000)
    const check = () => {
      const match = out.match(/EstateHub hub on (\S+) .* gateways: (\S+)/)
      if (match) {
        clearTimeout(timer)
        child.stdout!.off('data', check)
        resolve(match)
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`hub exited ${code} before it listened: ${out}`))
    })
  })
  return {
    pid: child.pid!,
    url: ready[1]!,
    mqttUrl: ready[2]!,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** `n`-th percentile (nearest rank) of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n))
