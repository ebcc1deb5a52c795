import { checkLedger } from '../billing/ledger-check.ts'
import { loadHubConfig } from '../config/hub-config.ts'
import { openMigratedStore } from './open-hub-store.ts'

/** `estatehub ledger check`: per estate, debits = credits and every balance matches its entries. */
export async function runLedgerCheck(configFile: string | undefined, estateCode?: string): Promise<void> {
  const config = loadHubConfig(configFile)
  const store = await openMigratedStore(config)
  let failed = false
  try {
    let estateIds: string[] | undefined
    if (estateCode !== undefined) {
      const estate = await store.db
        .selectFrom('orgNodes')
        .select('id')
        .where('code', '=', estateCode)
        .where('kind', '=', 'estate')
        .executeTakeFirst()
      if (!estate) throw new Error(`--estate: no estate with code ${estateCode}`)
      estateIds = [estate.id]
    }
    for (const result of await checkLedger(store.db, estateIds)) {
      const status = result.problems.length === 0 ? 'ok' : 'FAILED'
      console.log(
        `${result.estateCode}: ${status}  journals ${result.journals}, debits ${result.debits}, credits ${result.credits}`,
      )
      for (const problem of result.problems) console.log(`  ${problem}`)
      if (result.problems.length > 0) failed = true
    }
  } finally {
    await store.close()
  }
  if (failed) process.exitCode = 1
}
