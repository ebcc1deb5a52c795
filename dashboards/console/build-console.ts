import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = import.meta.dirname
/** What the build reads: a change to any of these makes dist/ stale. */
const sources = ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json', '../../package-lock.json']

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

/** Why dist/ needs building, or undefined when it is newer than every source. */
export function consoleStaleness(): string | undefined {
  const index = join(root, 'dist', 'index.html')
  if (!existsSync(index)) return 'not built yet'
  const built = statSync(index).mtimeMs
  const changed = sources.filter((s) => newestMtime(join(root, s)) > built)
  return changed.length > 0 ? `changed since the last build: ${changed.join(', ')}` : undefined
}

/**
 * Builds the web console into dashboards/console/dist (what the hub serves at /). With
 * `ifStale`, only when dist is missing or older than its sources. Vite is a dev dependency:
 * without it (an install that omitted them) this says so and leaves the console unbuilt.
 */
export async function buildConsole(options: { ifStale?: boolean; log?: (line: string) => void } = {}) {
  const log = options.log ?? ((line: string) => console.log(line))
  const stale = consoleStaleness()
  if (options.ifStale && !stale) return { built: false as const }
  let vite: typeof import('vite')
  try {
    vite = await import('vite')
  } catch {
    log('  Web console not built: vite is not installed (npm ci installs it); the hub answers 503 at /.')
    return { built: false as const }
  }
  log(`  Building the web console (${stale ?? 'asked to'})…`)
  const started = Date.now()
  await vite.build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  log(`  Web console built in ${seconds} s (dashboards/console/dist).`)
  return { built: true as const, seconds: Number(seconds) }
}
