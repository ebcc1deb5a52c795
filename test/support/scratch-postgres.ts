import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A PostgreSQL server of a test's own (initdb + pg_ctl in a temporary directory), which the
 * test may stop and start again: the shared test server must never be stopped.
 */
export interface ScratchPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string
  readonly port: number
  /** Stops the server the way an operator or a failover does ('fast': ends every connection). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /** Stops it if running and deletes its directory. */
  destroy(): Promise<void>
}

/** Where initdb and pg_ctl are: ESTATEHUB_PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
export function postgresBinDir(): string | undefined {
  const given = process.env.ESTATEHUB_PG_BIN
  if (given) return existsSync(join(given, 'initdb')) ? given : undefined
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : undefined
}

/** Why a scratch server cannot run here, or undefined when it can. */
export function scratchPostgresMissing(): string | undefined {
  if (postgresBinDir() === undefined)
    return 'no initdb (set ESTATEHUB_PG_BIN or install PostgreSQL server binaries in /usr/lib/postgresql/<n>/bin)'
  if (process.getuid?.() === 0 && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser'))
    return 'running as root, and no runuser to run initdb as the postgres user (PostgreSQL refuses root)'
  return undefined
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The uid and gid of the postgres user: PostgreSQL will not run as root. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

export async function startScratchPostgres(): Promise<ScratchPostgres> {
  const missing = scratchPostgresMissing()
  if (missing) throw new Error(`cannot start a scratch PostgreSQL: ${missing}`)
  const bin = postgresBinDir()!
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-scratch-pg-'))
  if (asRoot) {
    const { uid, gid } = await postgresUser()
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  const port = await freePort()
  // As root: the same command through runuser, as the postgres user.
  const pgCommand = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args)
  const withLog = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action()
    } catch (error) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2_000) : ''
      throw new Error(`scratch PostgreSQL ${what} failed: ${(error as Error).message}\n${tail}`)
    }
  }
  await withLog('initdb', () =>
    pgCommand('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]),
  )
  // The unix socket in the test's directory: no clash with a system server's /var/run/postgresql.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`
  let running = false
  const start = async () => {
    await withLog('start', () =>
      pgCommand('pg_ctl', ['-D', data, '-l', log, '-o', serverOptions, '-w', 'start']),
    )
    running = true
  }
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await withLog('stop', () => pgCommand('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']))
    running = false
  }
  try {
    await start()
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async destroy() {
      if (running) await stop('immediate').catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
