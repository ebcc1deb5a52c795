import { open } from 'node:fs/promises'
import { crc32 } from './crc32.ts'

/**
 * One journal record is one line:
 *
 *   <crc32 of "<seq> <payload>", 8 hex digits> SP <seq> SP <payload JSON> LF
 *
 * The payload is the batch exactly as it is published, and JSON never contains a raw LF, so
 * the LF is an unambiguous end of record. A record counts only when its LF is there and its
 * CRC matches: a crash mid-write leaves a tail without LF (dropped and truncated at open), a
 * damaged sector leaves a line whose CRC fails (skipped and counted). Either way nothing is
 * ever half-read. Text rather than length-prefixed binary so `tail journal.log` works on site.
 */

const LF = 0x0a
const SP = 0x20

export interface JournalRecord {
  readonly seq: number
  /** The whole line with its LF: what the record costs on disk. */
  readonly line: Buffer
  /** The published bytes (a view into `line`, not a copy). */
  readonly payload: Buffer
}

export function encodeRecord(seq: number, payload: Buffer): JournalRecord {
  const body = Buffer.concat([Buffer.from(`${seq} `, 'latin1'), payload])
  const head = Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} `, 'latin1')
  const line = Buffer.concat([head, body, Buffer.from([LF])])
  const payloadStart = line.length - 1 - payload.length
  return { seq, line, payload: line.subarray(payloadStart, line.length - 1) }
}

/** A complete line (LF included) back into a record, or undefined when it is damaged. */
export function decodeRecord(line: Buffer): JournalRecord | undefined {
  if (line.length < 12 || line[line.length - 1] !== LF || line[8] !== SP) return undefined
  const crcText = line.toString('latin1', 0, 8)
  if (!/^[0-9a-f]{8}$/.test(crcText)) return undefined
  const body = line.subarray(9, line.length - 1)
  if (crc32(body) !== Number.parseInt(crcText, 16)) return undefined
  const gap = body.indexOf(SP)
  if (gap < 1) return undefined
  const seqText = body.toString('latin1', 0, gap)
  if (!/^[1-9][0-9]{0,15}$/.test(seqText)) return undefined
  const seq = Number(seqText)
  if (!Number.isSafeInteger(seq)) return undefined
  return { seq, line, payload: body.subarray(gap + 1) }
}

export interface JournalScan {
  /** Intact records in file order (duplicates and order are the caller's concern). */
  readonly records: JournalRecord[]
  /** Offset just past the last LF: everything after it is a torn tail. */
  readonly goodBytes: number
  readonly tornBytes: number
  /** Complete lines whose CRC or framing failed. */
  readonly corrupt: number
  readonly existed: boolean
}

/**
 * Reads the journal in chunks (it can hold gigabytes during a long outage), splitting on LF.
 * `maxLineBytes` bounds the memory a garbage file without LFs can take.
 */
export async function scanJournal(path: string, maxLineBytes: number): Promise<JournalScan> {
  const records: JournalRecord[] = []
  let corrupt = 0
  let fh: Awaited<ReturnType<typeof open>>
  try {
    fh = await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { records, goodBytes: 0, tornBytes: 0, corrupt, existed: false }
    throw error
  }
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024)
    let carry: Buffer[] = []
    let carryBytes = 0
    let overlong = false
    let offset = 0
    let goodBytes = 0
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, offset)
      if (bytesRead === 0) break
      const data = chunk.subarray(0, bytesRead)
      let start = 0
      for (let lf = data.indexOf(LF); lf >= 0; lf = data.indexOf(LF, start)) {
        const piece = data.subarray(start, lf + 1)
        if (overlong) corrupt++
        else {
          const record = decodeRecord(Buffer.concat([...carry, piece]))
          if (record) records.push(record)
          else corrupt++
        }
        goodBytes = offset + lf + 1
        carry = []
        carryBytes = 0
        overlong = false
        start = lf + 1
      }
      if (start < data.length && !overlong) {
        carry.push(Buffer.from(data.subarray(start)))
        carryBytes += data.length - start
        if (carryBytes > maxLineBytes) {
          carry = []
          carryBytes = 0
          overlong = true
        }
      }
      offset += bytesRead
    }
    return { records, goodBytes, tornBytes: offset - goodBytes, corrupt, existed: true }
  } finally {
    await fh.close()
  }
}
