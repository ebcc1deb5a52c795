#!/usr/bin/env node
// Builds the web console (dashboards/console/dist). `--if-stale`: only when dist is missing or
// older than its sources; `npm start` runs it that way before starting the demo.
import { register } from 'tsx/esm/api'

register()
const { buildConsole } = await import('../dashboards/console/build-console.ts')
try {
  await buildConsole({ ifStale: process.argv.includes('--if-stale') })
} catch (error) {
  console.error(`Building the web console failed: ${error instanceof Error ? error.message : error}`)
  process.exit(1)
}
