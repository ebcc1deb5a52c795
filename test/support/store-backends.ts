import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { openStore, type Store } from '../../hub/store/open-store.ts'

/**
 * The store backends a suite runs against, the way Kysely loops one suite over its dialects:
 * PGlite always; PostgreSQL when ESTATEHUB_TEST_PG_URL is set. Each `open()` gives a fresh,
 * migrated store (PostgreSQL: a database of its own, dropped on close).
 */
export interface StoreBackend {
  readonly name: 'pglite' | 'postgres'
  open(): Promise<Store>
}

const pgUrl = process.env.ESTATEHUB_TEST_PG_URL
const inCi = process.env.CI === 'true'

const pglite: StoreBackend = {
  name: 'pglite',
  async open() {
    const store = await openStore({ dataDir: 'memory://' })
    await migrateHub(store.db)
    return store
  },
}

function postgres(url: string): StoreBackend {
  return {
    name: 'postgres',
    async open() {
      const admin = new pg.Client({ connectionString: url })
      try {
        await admin.connect()
      } catch (error) {
        throw new Error(
          `ESTATEHUB_TEST_PG_URL is set but PostgreSQL does not answer at ${url}: ${(error as Error).message}`,
        )
      }
      const name = `eh_test_${randomBytes(6).toString('hex')}`
      await admin.query(`create database ${name}`)
      await admin.end()
      const dbUrl = new URL(url)
      dbUrl.pathname = `/${name}`
      const store = await openStore({ url: dbUrl.toString(), poolMax: 5 })
      await migrateHub(store.db)
      return {
        ...store,
        async close() {
          await store.close()
          const dropper = new pg.Client({ connectionString: url })
          await dropper.connect()
          // pg-pool's end() resolves before its idle connections are gone; a forced drop would
          // kill them and their pool would raise an error no one listens for. Wait for them.
          for (let i = 0; i < 100; i++) {
            const open = await dropper.query('select 1 from pg_stat_activity where datname = $1', [name])
            if (open.rowCount === 0) break
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          await dropper.query(`drop database if exists ${name} with (force)`)
          await dropper.end()
        },
      }
    },
  }
}

export function storeBackends(): StoreBackend[] {
  if (!pgUrl) {
    if (inCi)
      throw new Error('CI=true but ESTATEHUB_TEST_PG_URL is not set: the PostgreSQL suites would not run')
    return [pglite] // said once per run by test/support/environment-notice.ts
  }
  return [pglite, postgres(pgUrl)]
}
