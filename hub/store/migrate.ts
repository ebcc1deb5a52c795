import { type Kysely, type Migration, type MigrationResultSet, Migrator } from 'kysely'
import type { Database } from './database-schema.ts'

export interface MigrationReport {
  readonly applied: readonly string[]
}

/**
 * Applies every pending migration in name order; throws with the failing migration's name.
 * The hub's list is wave 1's history (./migrations) plus each module's (hub/app/hub-migrations.ts).
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  migrations: Readonly<Record<string, Migration>>,
): Promise<MigrationReport> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  })
  const result: MigrationResultSet = await migrator.migrateToLatest()
  const failed = result.results?.find((r) => r.status === 'Error')
  if (result.error || failed) {
    const cause = result.error instanceof Error ? result.error.message : String(result.error)
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${cause}`, {
      cause: result.error,
    })
  }
  return { applied: (result.results ?? []).map((r) => r.migrationName) }
}
