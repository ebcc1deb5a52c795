import { createServer } from 'node:net'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../store/open-store.ts'
import { isStoreUnreachable } from './database-error.ts'

/** A port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (error: unknown) => error,
  )

// The errors come from the real drivers, so a change in how pg words or codes them shows here.
describe('which store errors mean "unreachable"', () => {
  const pglite = new PGlite('memory://')
  afterAll(() => pglite.close())

  it('a refused connection, by address and by a name with several addresses', async () => {
    const port = await closedPort()
    for (const host of ['127.0.0.1', 'localhost']) {
      const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres' })
      const error = await failure(client.connect())
      expect(isStoreUnreachable(error), `${host}: ${String(error)}`).toBe(true)
    }
  })

  it("the store's pool when no connection opens within its connect timeout", async () => {
    // Accepts and never answers, like a server behind a cut link.
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as { port: number }).port
    try {
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`
      const error = await failure(openStore({ url, connectTimeoutMs: 200 }))
      expect(isStoreUnreachable(error), String(error)).toBe(true)
    } finally {
      silent.close()
    }
  })

  it('not a query the store refuses (PGlite answers with PostgreSQL SQLSTATEs)', async () => {
    const error = await failure(pglite.query('select * from no_such_table'))
    expect((error as { code?: string }).code).toBe('42P01')
    expect(isStoreUnreachable(error)).toBe(false)
    expect(isStoreUnreachable(new Error('boom'))).toBe(false)
    expect(isStoreUnreachable(undefined)).toBe(false)
  })
})
