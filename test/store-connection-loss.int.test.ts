import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../hub/store/open-store.ts'
import { storeBackends } from './support/store-backends.ts'

// What a PostgreSQL restart, failover, idle timeout or proxy does to the hub's connections,
// done with pg_terminate_backend. Before, pg-pool's unheard 'error' made Node exit with code 1.
// PGlite has no server to end a connection, so only the PostgreSQL backend applies.
const postgres = storeBackends().find((b) => b.name === 'postgres')

describe.runIf(postgres)('the store when PostgreSQL ends its connections', () => {
  let store: Store
  let admin: pg.Client
  const lost: Error[] = []

  /** Ends every connection of the store's database but the admin's own. */
  async function terminateAll(): Promise<number> {
    const database = await sql<{ name: string }>`select current_database() as name`.execute(store.db)
    const ended = await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database.rows[0]!.name],
    )
    return ended.rowCount ?? 0
  }

  async function until(check: () => boolean, what: string) {
    // Only a hang bound: on a busy machine the pool can hear of an ended connection late.
    const end = Date.now() + 20_000
    while (!check()) {
      if (Date.now() > end) throw new Error(`not within 20 s: ${what}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  beforeAll(async () => {
    store = await postgres!.open()
    store.onConnectionLost((error) => lost.push(error))
    admin = new pg.Client({ connectionString: process.env.ESTATEHUB_TEST_PG_URL })
    await admin.connect()
  })
  afterAll(async () => {
    await admin?.end()
    await store?.close()
  })

  it('hears an idle connection ended, and the next query opens a new one', async () => {
    // Several idle connections in the pool.
    await Promise.all([1, 2, 3].map(() => sql`select pg_sleep(0.05)`.execute(store.db)))
    const before = lost.length
    const ended = await terminateAll()
    expect(ended).toBeGreaterThan(1)
    // Each ended connection is told once, however many of pg's listeners hear it.
    await until(() => lost.length - before === ended, `the pool reports all ${ended} ended connections`)
    await new Promise((r) => setTimeout(r, 100))
    expect(lost.length - before).toBe(ended)
    expect(lost.slice(before).map((e) => (e as { code?: string }).code)).toEqual(Array(ended).fill('57P01'))
    const answer = await sql<{ one: number }>`select 1 as one`.execute(store.db)
    expect(answer.rows).toEqual([{ one: 1 }])
  })

  it('fails only the transaction whose connection was ended, and serves the next one', async () => {
    let inside = () => {}
    const holding = new Promise<void>((resolve) => {
      inside = resolve
    })
    let resume = () => {}
    const resumed = new Promise<void>((resolve) => {
      resume = resolve
    })
    // A transaction that holds its connection between two queries, as a bill run does.
    const transaction = store.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx)
      inside()
      await resumed
      await sql`select 2`.execute(trx)
    })
    const outcome = transaction.then(
      () => 'committed',
      (error: Error) => error.message,
    )
    await holding
    const before = lost.length
    const ended = await terminateAll()
    await until(() => lost.length - before === ended, 'the checked-out connection reports its end too')
    resume()
    expect(await outcome).not.toBe('committed')
    const answer = await sql<{ two: number }>`select 2 as two`.execute(store.db)
    expect(answer.rows).toEqual([{ two: 2 }])
  })
})
