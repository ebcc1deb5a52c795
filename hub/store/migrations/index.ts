import type { Migration } from 'kysely'
import * as coreModel from './0001-core-model.ts'

/** Every migration, in order. Names sort; a new one is appended, never inserted. */
export const migrations: Record<string, Migration> = {
  '0001-core-model': coreModel,
}
