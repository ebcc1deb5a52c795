import { migrateHub } from '../app/hub-migrations.ts'
import type { HubConfig } from '../config/hub-config.ts'
import { openStore, type Store } from '../store/open-store.ts'

/** Opens the configured store and brings its schema up to date. */
export async function openMigratedStore(config: HubConfig): Promise<Store> {
  const store = await openStore({
    url: config.database.url,
    dataDir: config.database.dataDir,
    poolMax: config.database.poolMax,
  })
  try {
    await migrateHub(store.db)
  } catch (error) {
    await store.close()
    throw error
  }
  return store
}

/** Where the store lives, for messages; never prints a password in a URL. */
export function describeStore(config: HubConfig): string {
  if (!config.database.url) return `PGlite in ${config.database.dataDir}`
  const url = new URL(config.database.url)
  if (url.password) url.password = '***'
  return `PostgreSQL at ${url.toString()}`
}
