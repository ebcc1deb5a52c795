import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A Mosquitto process of a test's own, on a free port, with its own config, password file and
 * ACL: the shared broker at ESTATEHUB_TEST_MQTT_URL can neither be configured nor stopped.
 * The process can be stopped (SIGTERM or SIGKILL) and started again on the same port and
 * files, so a suite can show what a broker restart does.
 */
export interface PrivateMosquittoOptions {
  /** Password file entries; with any, anonymous clients are refused (unless allowAnonymous). */
  readonly users?: readonly { readonly username: string; readonly password: string }[]
  /** ACL file lines as Mosquitto reads them (`user x`, `topic read a/#`, `pattern write a/%u`). */
  readonly acl?: readonly string[]
  /** Default: true without users, false with them. */
  readonly allowAnonymous?: boolean
  /** More mosquitto.conf lines (e.g. `use_username_as_clientid true`, `max_queued_messages 10`). */
  readonly config?: readonly string[]
  /** A fixed port; default a free one. */
  readonly port?: number
}

export interface PrivateMosquitto {
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** The temporary directory holding mosquitto.conf, passwd, acl and mosquitto.log. */
  readonly dir: string
  /** Starts it again on the same port and files (after stop). */
  start(): Promise<void>
  /** SIGTERM waits for a clean exit; SIGKILL is a crash (nothing saved). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /** The broker's log so far (connections, refusals): for a failing test's message. */
  log(): string
  /** Stops it if running and deletes its directory. */
  destroy(): Promise<void>
}

/** Where the mosquitto binary is, if installed. */
export function mosquittoBinary(): string | undefined {
  return ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => existsSync(p))
}

/**
 * Why a private broker cannot run here, or undefined when it can. In CI (CI=true) a suite that
 * needs it must fail rather than skip: call this and throw.
 */
export function privateMosquittoMissing(options: { needsPasswords?: boolean } = {}): string | undefined {
  if (mosquittoBinary() === undefined) return 'no mosquitto binary (Debian: apt-get install mosquitto)'
  if (options.needsPasswords && passwdBinary() === undefined)
    return 'no mosquitto_passwd (Debian: apt-get install mosquitto)'
  return undefined
}

function passwdBinary(): string | undefined {
  return ['/usr/bin/mosquitto_passwd', '/usr/sbin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd'].find(
    (p) => existsSync(p),
  )
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

export async function startPrivateMosquitto(
  options: PrivateMosquittoOptions = {},
): Promise<PrivateMosquitto> {
  const binary = mosquittoBinary()
  if (binary === undefined) throw new Error(privateMosquittoMissing())
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-mosquitto-'))
  const port = options.port ?? (await freePort())
  const users = options.users ?? []
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${options.allowAnonymous ?? users.length === 0}`,
    // Run as root, Mosquitto switches to the user `mosquitto`, which cannot read a 0700 temp dir.
    `user ${userInfo().username}`,
    `log_dest file ${join(dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'log_timestamp_format %Y-%m-%dT%H:%M:%S',
  ]
  if (users.length > 0) {
    const passwd = passwdBinary()
    if (passwd === undefined) throw new Error(privateMosquittoMissing({ needsPasswords: true }))
    const file = join(dir, 'passwd')
    writeFileSync(file, '', { mode: 0o600 })
    // -b: the password from the command line; each call hashes one entry into the file.
    for (const user of users) await run(passwd, ['-b', file, user.username, user.password])
    lines.push(`password_file ${file}`)
  }
  if (options.acl !== undefined) {
    const file = join(dir, 'acl')
    writeFileSync(file, `${options.acl.join('\n')}\n`, { mode: 0o600 })
    lines.push(`acl_file ${file}`)
  }
  lines.push(...(options.config ?? []))
  const configFile = join(dir, 'mosquitto.conf')
  writeFileSync(configFile, `${lines.join('\n')}\n`)

  let child: ChildProcess | undefined
  let stderr = ''
  const start = async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) return
    stderr = ''
    const started = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    started.stderr!.on('data', (d) => (stderr += d))
    child = started
    // A bound against a hang, not an expectation of speed.
    const end = Date.now() + 20_000
    while (Date.now() < end) {
      if (started.exitCode !== null)
        throw new Error(`mosquitto exited ${started.exitCode}: ${stderr}${readLog()}`)
      if (await portOpen(port)) return
      await sleep(50)
    }
    started.kill('SIGKILL')
    throw new Error(`mosquitto did not listen on ${port} within 20 s: ${stderr}${readLog()}`)
  }
  const readLog = () => {
    try {
      return readFileSync(join(dir, 'mosquitto.log'), 'utf8')
    } catch {
      return ''
    }
  }
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill(signal)
    await exited
  }
  await start()
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop,
    log: () => `${stderr}${readLog()}`,
    async destroy() {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
