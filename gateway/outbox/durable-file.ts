import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { OutboxLockedError } from './outbox-errors.ts'

/**
 * A rename is only durable once the directory entry is: fsync the directory after creating or
 * renaming a file in it (POSIX leaves it to the application; ext4 without it can lose the new
 * name after a power cut). Windows cannot open a directory for fsync; there it is a no-op.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Writes the whole buffer: FileHandle.write may write less than asked. */
export async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done)
    done += bytesWritten
  }
}

/** Replace `path` atomically: write a temporary file, fsync it, rename it over, fsync the directory. */
export async function replaceFileDurably(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await writeAll(fh, data)
    await fh.datasync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  await fsyncDir(dirname(path))
}

// Two writers on one outbox would hand out the same seq twice, and the hub would drop the
// second as a duplicate: a loss. So an outbox directory is locked to one Outbox at a time.
const heldHere = new Set<string>()

async function bootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()
  } catch {
    return undefined
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A lock file holding the pid and (on Linux) the boot id. A lock left by a killed process, or by
 * any process before a reboot (pids are reused after one), is stale and taken over: a gateway
 * must come back by itself after a power cut.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const key = resolve(dir)
  const path = `${key}/LOCK`
  if (heldHere.has(key)) throw new OutboxLockedError(dir, process.pid)
  const boot = await bootId()
  try {
    const held = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; boot?: unknown }
    const sameBoot = boot === undefined || held.boot === boot
    if (typeof held.pid === 'number' && held.pid !== process.pid && sameBoot && alive(held.pid))
      throw new OutboxLockedError(dir, held.pid)
  } catch (error) {
    if (error instanceof OutboxLockedError) throw error
    // Missing or unreadable lock file: nobody holds it.
  }
  heldHere.add(key)
  try {
    await replaceFileDurably(path, Buffer.from(JSON.stringify({ pid: process.pid, boot })))
  } catch (error) {
    heldHere.delete(key)
    throw error
  }
  return async () => {
    heldHere.delete(key)
    await rm(path, { force: true })
  }
}
