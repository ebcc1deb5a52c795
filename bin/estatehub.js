#!/usr/bin/env node
// The sources are TypeScript run through tsx, so `npm ci && npm start` needs no build step.
import { register } from 'tsx/esm/api'

register()
await import('../hub/cli/main.ts')
