import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { lockDataDir } from './data-dir-lock.ts'
import type { Database } from './database-schema.ts'
import { PGliteDialect } from './pglite-dialect.ts'

export interface StoreOptions {
  /** PostgreSQL connection URL; absent means the embedded PGlite store. */
  readonly url?: string | undefined
  /** PGlite data directory, or 'memory://' for a throw-away store. */
  readonly dataDir?: string
  readonly poolMax?: number
  /** How long a query waits for a connection before it fails as "store unavailable" (ms). */
  readonly connectTimeoutMs?: number
}

/**
 * Without a limit a request during an outage waits for a connection for as long as the
 * operating system tries to connect (a dropped network: minutes); with it, it answers 503.
 */
export const STORE_CONNECT_TIMEOUT_MS = 5_000

/**
 * pg's Client with a limit on opening its connection. Set on the client, not the pool: the
 * pool's own connectionTimeoutMillis also limits the wait for a free connection, so a busy
 * pool (a bill run, a hub starting on a loaded machine) would fail queries as if the store
 * were down.
 */
function clientWithConnectTimeout(timeoutMs: number): new () => pg.ClientBase {
  return class extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: timeoutMs })
    }
  }
}

export interface Store {
  readonly db: Kysely<Database>
  readonly backend: 'pglite' | 'postgres'
  /**
   * Tells `listener` when the server ended one of the pool's connections (a restart, failover,
   * idle timeout, `pg_terminate_backend`). The pool drops that connection and opens another on
   * the next query; a query that was running on it fails by itself. PGlite never calls it.
   */
  onConnectionLost(listener: (error: Error) => void): void
  close(): Promise<void>
}

// Both drivers return the same JS shapes: dates as 'YYYY-MM-DD' (no time-zone shift),
// numerics as exact strings, int8 (counts) as numbers.
const OID = { int8: 20, date: 1082, numeric: 1700 } as const
const identity = (value: string) => value

export async function openStore(options: StoreOptions): Promise<Store> {
  const plugins = [new CamelCasePlugin()]
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? 10,
      Client: clientWithConnectTimeout(options.connectTimeoutMs ?? STORE_CONNECT_TIMEOUT_MS),
      // TCP keep-alive after 10 s idle: a firewall or NAT does not silently drop an idle pooled
      // connection, and one whose server vanished without closing it (a cut link) is found by
      // the kernel's probes rather than by the next query.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
          if (oid === OID.date || oid === OID.numeric) return identity
          if (oid === OID.int8) return Number
          return pg.types.getTypeParser(oid, format)
        }) as typeof pg.types.getTypeParser,
      },
    })
    // pg emits 'error' on an idle pooled client (through the pool) and on a checked-out one
    // that is between queries (on the client) when the server ends the connection; with no
    // listener Node exits. Both are heard here: the store is unavailable for a moment, not dead.
    const listeners = new Set<(error: Error) => void>()
    // An idle client's error reaches both listeners (the pool passes it on): told once.
    const reported = new WeakSet<object>()
    const lost = (error: Error, client: object) => {
      if (reported.has(client)) return
      reported.add(client)
      for (const listener of listeners) listener(error)
    }
    pool.on('error', (error, client) => lost(error, client))
    pool.on('connect', (client) => client.on('error', (error) => lost(error, client)))
    // Fail now with the server's reason rather than on the first request.
    const client = await pool.connect()
    client.release()
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins })
    return {
      db,
      backend: 'postgres',
      onConnectionLost: (listener) => listeners.add(listener),
      close: () => db.destroy(),
    }
  }
  const dataDir = options.dataDir ?? './data/hub'
  let unlock = () => {}
  if (!dataDir.includes('://')) {
    mkdirSync(dataDir, { recursive: true })
    unlock = lockDataDir(dataDir)
  }
  const pglite = new PGlite(dataDir, {
    parsers: { [OID.date]: identity, [OID.numeric]: identity, [OID.int8]: Number },
  })
  try {
    await pglite.waitReady
  } catch (error) {
    unlock()
    throw error
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), plugins })
  return {
    db,
    backend: 'pglite',
    onConnectionLost: () => {},
    close: async () => {
      await db.destroy()
      await pglite.close()
      unlock()
    },
  }
}
