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
}

export interface Store {
  readonly db: Kysely<Database>
  readonly backend: 'pglite' | 'postgres'
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
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
          if (oid === OID.date || oid === OID.numeric) return identity
          if (oid === OID.int8) return Number
          return pg.types.getTypeParser(oid, format)
        }) as typeof pg.types.getTypeParser,
      },
    })
    // Fail now with the server's reason rather than on the first request.
    const client = await pool.connect()
    client.release()
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins })
    return { db, backend: 'postgres', close: () => db.destroy() }
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
    close: async () => {
      await db.destroy()
      await pglite.close()
      unlock()
    },
  }
}
