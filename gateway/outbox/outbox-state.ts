import { readFile } from 'node:fs/promises'
import type { OutboxOptions } from './outbox-types.ts'

export const JOURNAL_FILE = 'journal.log'
export const STATE_FILE = 'state.json'

export type CheckedOptions = OutboxOptions &
  Required<Pick<OutboxOptions, 'compactMinBytes' | 'firstSeq' | 'now'>>

export function checkOptions(o: OutboxOptions): CheckedOptions {
  const opts = { compactMinBytes: 1024 * 1024, firstSeq: Date.now(), now: Date.now, ...o }
  for (const [key, min] of [
    ['maxBatches', 1],
    ['maxBytes', 1],
    ['compactMinBytes', 0],
    ['firstSeq', 1],
  ] as const)
    if (!Number.isSafeInteger(opts[key]) || opts[key] < min)
      throw new RangeError(`outbox ${key} must be an integer ≥ ${min}, got ${opts[key]}`)
  return opts
}

/**
 * An unreadable state file (a disk fault: it is only ever replaced by rename) is treated as
 * "nothing acked": every batch in the journal is sent again and the hub drops the duplicates.
 */
export async function readState(
  path: string,
): Promise<{ acked: number; lastSeq: number; existed: boolean; unreadable: boolean }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { acked: 0, lastSeq: 0, existed: false, unreadable: false }
    throw error
  }
  try {
    const s = JSON.parse(text) as { acked?: unknown; lastSeq?: unknown }
    if (Number.isSafeInteger(s.acked) && Number.isSafeInteger(s.lastSeq))
      return { acked: s.acked as number, lastSeq: s.lastSeq as number, existed: true, unreadable: false }
  } catch {}
  return { acked: 0, lastSeq: 0, existed: true, unreadable: true }
}
