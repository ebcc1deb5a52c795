import type { Kysely, Migration } from 'kysely'
import type { HubModule } from '../kernel/hub-module.ts'
import * as jobLeases from '../kernel/migrations/0012-job-leases.ts'
import type { Database } from '../store/database-schema.ts'
import { type MigrationReport, migrateToLatest } from '../store/migrate.ts'
import { migrations as sharedHistory } from '../store/migrations/index.ts'
import { hubModules } from './hub-modules.ts'
import { vocabularyChecksMigration, widenVocabularyChecks } from './vocabulary-checks.ts'

/**
 * Every migration of the hub in one name order: the shared history written before domains
 * were modules (hub/store/migrations), then what each module brings. Two with one name are a
 * programming error, refused before anything runs.
 */
export function hubMigrations(modules: readonly HubModule[] = hubModules()): Record<string, Migration> {
  // The vocabulary CHECKs are written from every domain's lists, so the app holds that migration;
  // the job leases are the kernel's (hub/kernel/job-lease.ts), which has no module to bring them.
  const all: Record<string, Migration> = {
    ...sharedHistory,
    '0008-vocabulary-checks': vocabularyChecksMigration,
    '0012-job-leases': jobLeases,
  }
  for (const module of modules) {
    for (const [name, migration] of Object.entries(module.migrations ?? {})) {
      if (all[name]) throw new Error(`migration ${name} of module ${module.name} is named twice`)
      all[name] = migration
    }
  }
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * Brings the database to the latest schema of every hub module, then its vocabulary CHECKs up
 * to the lists (a value added to a list, e.g. a fee kind, needs no migration of its own).
 */
export async function migrateHub(db: Kysely<Database>): Promise<MigrationReport> {
  const report = await migrateToLatest(db, hubMigrations())
  await widenVocabularyChecks(db as Kysely<unknown>)
  return report
}
