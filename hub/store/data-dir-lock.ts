import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/**
 * One process per PGlite data directory: a second one (say `estatehub user add` while the
 * hub runs) would write to files the first holds in memory and corrupt the store. The lock
 * file holds the owner's pid; a lock left by a dead process is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'estatehub.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(path, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(readFileSync(path, 'utf8').trim())
      if (owner && isAlive(owner)) {
        throw new Error(
          `database.dataDir: ${dataDir} is in use by process ${owner}; stop it first (one process per embedded store)`,
        )
      }
      rmSync(path, { force: true })
    }
  }
  throw new Error(`database.dataDir: could not lock ${dataDir}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
