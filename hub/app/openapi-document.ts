import type { FastifyInstance } from 'fastify'
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import type { Database } from '../store/database-schema.ts'
import { buildApp } from './build-app.ts'

/**
 * The hub's app over a store that never connects: routes, schemas and hooks are all there, a
 * query would answer no rows. Enough to read the OpenAPI document without starting PGlite.
 */
export async function buildAppWithoutStore(): Promise<FastifyInstance> {
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  })
  return buildApp({
    store: { db, backend: 'postgres', onConnectionLost: () => {}, close: () => db.destroy() },
  })
}

/** What @fastify/swagger answers (its JSON form). */
export type OpenApiDocument = Exclude<ReturnType<FastifyInstance['swagger']>, string>

/** The OpenAPI 3 document the hub serves at /docs/json, built from the routes' TypeBox schemas. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  const app = await buildAppWithoutStore()
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
  }
}
