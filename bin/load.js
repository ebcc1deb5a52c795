#!/usr/bin/env node
// npm run load: the group-scale load run (test/load/fleet-load.ts) through tsx; flags after `--`.
import { join } from 'node:path'
import { register } from 'tsx/esm/api'

register()
await import(join(import.meta.dirname, '..', 'test', 'load', 'fleet-load.ts'))
