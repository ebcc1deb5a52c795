#!/usr/bin/env node
// npm run bench: every benchmark under test/bench, one after another, through tsx.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { register } from 'tsx/esm/api'

register()
const dir = join(import.meta.dirname, '..', 'test', 'bench')
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('-bench.ts'))
  .sort()) {
  console.log(`== ${file}`)
  await import(join(dir, file))
}
