#!/usr/bin/env node
// Writes dashboards/console/src/api/hub-api.d.ts, the console's request and response types, from
// the hub's OpenAPI document (decision 0013). `--if-missing`: only when the file is not there yet.
import { existsSync } from 'node:fs'
import { register } from 'tsx/esm/api'

register()
const file = new URL('../dashboards/console/src/api/hub-api.d.ts', import.meta.url)
if (!(process.argv.includes('--if-missing') && existsSync(file))) {
  try {
    // Imported here so a hub file that does not compile is reported below, in one line.
    const { writeConsoleApiTypes } = await import('../hub/app/console-api-types.ts')
    const { changed } = await writeConsoleApiTypes()
    console.log(
      `  Console API types ${changed ? 'written' : 'unchanged'} (dashboards/console/src/api/hub-api.d.ts).`,
    )
  } catch (error) {
    console.error(
      `Generating the console's API types failed: ${error instanceof Error ? error.stack : error}`,
    )
    process.exit(1)
  }
}
