import { migrateHub } from '../app/hub-migrations.ts'
import { loadHubConfig } from '../config/hub-config.ts'
import { openStore } from '../store/open-store.ts'
import { describeStore } from './open-hub-store.ts'

export async function runMigrate(configFile: string | undefined) {
  const config = loadHubConfig(configFile)
  const store = await openStore({
    url: config.database.url,
    dataDir: config.database.dataDir,
    poolMax: config.database.poolMax,
  })
  try {
    const { applied } = await migrateHub(store.db)
    console.log(
      applied.length === 0
        ? `${describeStore(config)}: up to date`
        : `${describeStore(config)}: applied ${applied.join(', ')}`,
    )
  } finally {
    await store.close()
  }
}
