import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'

/**
 * The reference cluster of deploy/cluster/ (up.sh: private Mosquitto with password file and ACL,
 * N hub processes, one PostgreSQL database) driven from a test. The scripts are the product; this
 * only picks free ports, runs them and reads back what they wrote.
 */
const clusterDir = join(import.meta.dirname, '..', '..', 'deploy', 'cluster')
const script = (name: string) => join(clusterDir, name)
export const mosquittoBinary = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto'

export interface ClusterHub {
  readonly n: number
  readonly url: string
  /** Its Prometheus listener (metrics.listen). */
  readonly metricsUrl: string
  readonly pid: number
  readonly username: string
  readonly password: string
  readonly logFile: string
}

export interface Cluster {
  readonly dir: string
  readonly mqttUrl: string
  /** The throwaway CA that signed the broker's certificate. */
  readonly ca: Buffer
  readonly hubs: readonly ClusterHub[]
  /** Gives a gateway its broker account (add-gateway.sh) and reloads the broker. */
  addGateway(code: string, secret: string): Promise<void>
  /** A hub account (add-hub.sh) with no process behind it, e.g. to probe the ACL as a hub. */
  addHubAccount(n: number): Promise<{ username: string; password: string }>
  /** Sends a signal to hub n's process (the pid up.sh recorded). */
  signal(n: number, signal: NodeJS.Signals): void
  hubLog(n: number): string
  down(): Promise<void>
}

/** Why the cluster cannot run here, or undefined when it can. */
export function clusterMissing(): string | undefined {
  if (!process.env.ESTATEHUB_TEST_PG_URL)
    return 'ESTATEHUB_TEST_PG_URL is not set (the hubs share one PostgreSQL)'
  try {
    accessSync(mosquittoBinary, constants.X_OK)
  } catch {
    return `no Mosquitto binary at ${mosquittoBinary} (apt-get install mosquitto, or set MOSQUITTO)`
  }
  // What up.sh needs besides (it says the same and exits 3).
  const path = (process.env.PATH ?? '').split(':')
  const onPath = (tool: string) =>
    path.some((dir) => {
      try {
        accessSync(join(dir, tool), constants.X_OK)
        return true
      } catch {
        return false
      }
    })
  const tools = ['mosquitto_passwd', 'openssl', 'psql', 'curl', 'bash'].filter((tool) => !onPath(tool))
  if (tools.length > 0) return `deploy/cluster/up.sh needs ${tools.join(', ')} on PATH`
  return undefined
}

function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`))
        else resolve({ stdout, stderr })
      },
    )
  })
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A run of `count` consecutive free ports (up.sh numbers the hubs' ports from a base). */
async function freePortRun(count: number, avoid: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    let ok = true
    for (let p = base; p < base + count && ok; p++) ok = !avoid.has(p) && (await portFree(p))
    if (ok) return base
  }
  throw new Error(`no run of ${count} free ports found`)
}

/** A fresh database on the test server (random name), dropped by `drop()`. */
export async function scratchDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `eh_cluster_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: adminUrl })
      await dropper.connect()
      try {
        await dropper.query(`drop database if exists ${name} with (force)`)
      } finally {
        await dropper.end()
      }
    },
  }
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line)
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

/**
 * Runs deploy/cluster/up.sh with `hubs` hubs on `databaseUrl` (already migrated and seeded, or
 * empty: up.sh migrates it) and the gateways' broker accounts; resolves once every hub answers
 * /healthz. Call down() in afterAll.
 */
export async function startCluster(options: {
  readonly hubs: number
  readonly databaseUrl: string
  readonly gateways?: readonly { code: string; secret: string }[]
  readonly logLevel?: string
  readonly dir: string
}): Promise<Cluster> {
  const taken = new Set<number>()
  const mqttPort = await freePortRun(1, taken)
  taken.add(mqttPort)
  const httpBase = await freePortRun(options.hubs, taken)
  for (let i = 0; i < options.hubs; i++) taken.add(httpBase + i)
  // Room for spare hub accounts' ports too (add-hub.sh numbers them from the same bases).
  const metricsBase = await freePortRun(options.hubs, taken)
  const gatewaysFile = join(options.dir, 'gateways.txt')
  writeFileSync(gatewaysFile, (options.gateways ?? []).map((g) => `${g.code} ${g.secret}\n`).join(''), {
    mode: 0o600,
  })
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HUBS: String(options.hubs),
    ESTATEHUB_CLUSTER_DIR: options.dir,
    MQTT_PORT: String(mqttPort),
    HTTP_PORT_BASE: String(httpBase),
    METRICS_PORT_BASE: String(metricsBase),
    ESTATEHUB_DATABASE_URL: options.databaseUrl,
    GATEWAYS_FILE: gatewaysFile,
    ESTATEHUB_LOG_LEVEL: options.logLevel ?? 'info',
    MOSQUITTO: mosquittoBinary,
  }
  const started = Date.now()
  const { stdout } = await run(script('up.sh'), [], env, 300_000)
  console.log(`[timing] up.sh with ${options.hubs} hubs: ${Date.now() - started} ms\n${stdout}`)
  const dir = options.dir
  const broker = join(dir, 'broker')
  const brokerEnv = {
    ...env,
    BROKER_DIR: broker,
    ENV_DIR: dir,
    MOSQUITTO_PID_FILE: join(broker, 'mosquitto.pid'),
  }
  const hubs: ClusterHub[] = []
  for (let n = 1; n <= options.hubs; n++) {
    const hubEnv = readEnvFile(join(dir, `hub-${n}.env`))
    hubs.push({
      n,
      url: `http://127.0.0.1:${hubEnv.ESTATEHUB_HTTP_PORT}`,
      metricsUrl: `http://127.0.0.1:${hubEnv.ESTATEHUB_METRICS_PORT}/metrics`,
      pid: Number(readFileSync(join(dir, `hub-${n}.pid`), 'utf8').trim()),
      username: hubEnv.ESTATEHUB_MQTT_USERNAME!,
      password: hubEnv.ESTATEHUB_MQTT_PASSWORD!,
      logFile: join(dir, `hub-${n}.log`),
    })
  }
  const shared = readEnvFile(join(dir, 'cluster.env'))
  return {
    dir,
    mqttUrl: shared.ESTATEHUB_MQTT_URL!,
    ca: readFileSync(shared.ESTATEHUB_MQTT_CA_FILE!),
    hubs,
    async addGateway(code, secret) {
      await run(script('add-gateway.sh'), [code], { ...brokerEnv, GATEWAY_SECRET: secret }, 30_000)
    },
    async addHubAccount(n) {
      await run(
        script('add-hub.sh'),
        [String(n)],
        { ...brokerEnv, HTTP_PORT: String(httpBase + n - 1), METRICS_PORT: String(metricsBase + n - 1) },
        30_000,
      )
      const hubEnv = readEnvFile(join(dir, `hub-${n}.env`))
      return { username: hubEnv.ESTATEHUB_MQTT_USERNAME!, password: hubEnv.ESTATEHUB_MQTT_PASSWORD! }
    },
    signal(n, signal) {
      const hub = hubs[n - 1]
      if (!hub) throw new Error(`no hub ${n}`)
      process.kill(hub.pid, signal)
    },
    hubLog(n) {
      return readFileSync(join(dir, `hub-${n}.log`), 'utf8')
    },
    async down() {
      await run(script('down.sh'), [dir], env, 120_000)
    },
  }
}

/**
 * Whether a process still runs. A killed hub's parent (up.sh) has exited, so it is reaped by
 * whatever runs as pid 1; until then it is a zombie, which signal 0 still finds: read its state.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

export interface LiveStream {
  /** `event: <name>` frames in arrival order, data parsed. */
  readonly frames: { event: string; data: unknown }[]
  close(): void
}

/** GET /api/v1/live as a client reads it: Server-Sent Events over a streamed fetch. */
export async function openLiveStream(hubUrl: string, token: string, estateId: string): Promise<LiveStream> {
  const abort = new AbortController()
  const response = await fetch(`${hubUrl}/api/v1/live?estateId=${estateId}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: abort.signal,
  })
  if (response.status !== 200 || !response.body)
    throw new Error(`live stream: HTTP ${response.status} ${await response.text()}`)
  const frames: { event: string; data: unknown }[] = []
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buffer += value
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf('\n\n')
          let event = 'message'
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data.push(line.slice(6))
          }
          if (data.length > 0) frames.push({ event, data: JSON.parse(data.join('\n')) })
        }
      }
    } catch {
      // aborted by close(), or the hub went away: the frames so far stay
    }
  })()
  return { frames, close: () => abort.abort() }
}
