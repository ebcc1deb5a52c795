import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/**
 * A throwaway VictoriaMetrics server: it accepts InfluxDB line protocol on /api/v2/write and
 * gives the samples back on /api/v1/export, so the InfluxDB writer is tested over real HTTP.
 * The binary is ESTATEHUB_TEST_VM_BIN or `victoria-metrics` on PATH (Debian's package).
 */
export interface VictoriaMetrics {
  readonly url: string
  readonly port: number
  /** Raw samples of every series matching a series selector, e.g. `{__name__=~"reading_.*"}`. */
  exportSeries(match: string): Promise<ExportedSeries[]>
  stop(): Promise<void>
}

export interface ExportedSeries {
  readonly metric: Record<string, string>
  readonly values: number[]
  readonly timestamps: number[]
}

const inCi = process.env.CI === 'true'
let warned = false

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The victoria-metrics binary, or undefined (with a printed reason) where the suite should skip. */
export function victoriaMetricsBinary(): string | undefined {
  const configured = process.env.ESTATEHUB_TEST_VM_BIN
  if (configured) {
    if (!executable(configured))
      throw new Error(`ESTATEHUB_TEST_VM_BIN=${configured} is not an executable file`)
    return configured
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir || '.', 'victoria-metrics')
    if (dir && executable(file)) return file
  }
  if (inCi)
    throw new Error(
      'CI=true but victoria-metrics is not installed (set ESTATEHUB_TEST_VM_BIN or apt-get install victoria-metrics): the InfluxDB writer tests would not run',
    )
  if (!warned)
    console.warn(
      '[estatehub tests] victoria-metrics not found (ESTATEHUB_TEST_VM_BIN or PATH): InfluxDB writer tests skipped',
    )
  warned = true
  return undefined
}

/** A port nothing listens on right now (the OS picked it; it stays free unless someone races us). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function startOn(bin: string, port: number): Promise<VictoriaMetrics> {
  const dataDir = mkdtempSync(join(tmpdir(), 'estatehub-vm-'))
  const child = spawn(
    bin,
    [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-loggerLevel=ERROR',
      // Tests read what they just wrote: no response cache to go stale.
      '-search.disableCache',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000)
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited(child)
      clearTimeout(killer)
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop()
      throw new Error(`victoria-metrics exited at start (${child.exitCode ?? child.signalCode}): ${stderr}`)
    }
    const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.ok)
      .catch(() => false)
    if (healthy) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`victoria-metrics did not answer /health on ${url}: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    port,
    async exportSeries(match) {
      // Fresh samples sit in an in-memory buffer for about a second; force_flush makes them searchable.
      const flushed = await fetch(`${url}/internal/force_flush`)
      if (!flushed.ok) throw new Error(`force_flush: HTTP ${flushed.status}`)
      const response = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`)
      if (!response.ok) throw new Error(`export: HTTP ${response.status} ${await response.text()}`)
      const text = await response.text()
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExportedSeries)
    },
    stop,
  }
}

/** Starts VictoriaMetrics on `port`, or on a free one (retrying if another process takes it first). */
export async function startVictoriaMetrics(bin: string, port?: number): Promise<VictoriaMetrics> {
  if (port !== undefined) return startOn(bin, port)
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOn(bin, await freePort())
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}
