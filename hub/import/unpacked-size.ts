import yauzl from 'yauzl'
import { ApiError, cutText, ruleRef } from '../kernel/api-error.ts'

/**
 * An XLSX file is a zip: 67 KB of upload can unpack to gigabytes (one cell of 60 MB of the
 * same letter compresses a thousandfold). Before exceljs reads a workbook, its entries are
 * inflated here once, counting the bytes as they come and stopping at the limit, so neither
 * the sizes the zip declares nor exceljs's own reading decide how much memory an upload
 * takes. docs/decisions/0014-bounded-spreadsheet-import.md says why this way.
 */

/** The whole workbook unpacked: a 20,000-row import of this hub's kinds is a few MB of XML. */
export const MAX_UNPACKED_BYTES = 32 * 1024 * 1024
/** A workbook has a dozen parts; thousands of entries are not a spreadsheet. */
export const MAX_ZIP_ENTRIES = 1000

const rejected = (message: string, rule: ReturnType<typeof ruleRef>) =>
  new ApiError('EH_ERR_IMPORT_REJECTED', message, [{ field: 'file', ...rule, message }])

const tooLarge = () =>
  rejected(
    `the workbook is larger than ${MAX_UNPACKED_BYTES} bytes when unpacked; split it into several files`,
    ruleRef('import.unpackedTooLarge', { limit: MAX_UNPACKED_BYTES }),
  )

export const unreadable = (reason: string) =>
  rejected(
    `the file is not a readable .xlsx workbook: ${cutText(reason)}`,
    ruleRef('import.xlsxUnreadable', { reason }),
  )

/** Inflates one entry into nothing, adding its bytes to `total`; rejects once over the limit. */
async function countEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, total: { bytes: number }): Promise<void> {
  const stream = await zip.openReadStreamPromise(entry)
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      total.bytes += chunk.length
      if (total.bytes > MAX_UNPACKED_BYTES) {
        stream.destroy()
        reject(tooLarge())
      }
    })
    stream.on('end', resolve)
    stream.on('error', reject)
  })
}

/** Refuses a workbook whose entries unpack to more than MAX_UNPACKED_BYTES, or that is no zip. */
export async function checkUnpackedSize(data: Buffer): Promise<void> {
  let zip: yauzl.ZipFile
  try {
    // validateEntrySizes: an entry inflating past its declared size is an error, not more data.
    zip = await yauzl.fromBufferPromise(data, { lazyEntries: true, validateEntrySizes: true })
  } catch (error) {
    throw unreadable((error as Error).message)
  }
  try {
    if (zip.entryCount > MAX_ZIP_ENTRIES)
      throw unreadable(`${zip.entryCount} zip entries; a workbook has at most ${MAX_ZIP_ENTRIES}`)
    const total = { bytes: 0 }
    for await (const entry of zip.eachEntry()) {
      // The declared sizes refuse an honest big file before inflating anything.
      if (total.bytes + entry.uncompressedSize > MAX_UNPACKED_BYTES) throw tooLarge()
      if (entry.fileName.endsWith('/')) continue
      await countEntry(zip, entry, total)
    }
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw unreadable((error as Error).message)
  } finally {
    zip.close()
  }
}
