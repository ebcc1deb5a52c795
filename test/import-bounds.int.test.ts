import { Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ZipFile } from 'yazl'
import { MAX_CELL_CHARS, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from '../hub/import/read-sheet.ts'
import { MAX_UNPACKED_BYTES } from '../hub/import/unpacked-size.ts'
import { type StoreBackend, storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
const MB = 1024 * 1024

/** A minimal workbook written part by part, so a test can make one no spreadsheet program would. */
async function rawWorkbook(sheetXml: Buffer | string, sharedStrings?: string | Readable): Promise<Buffer> {
  const zip = new ZipFile()
  const add = (name: string, text: Buffer | string) =>
    zip.addBuffer(Buffer.isBuffer(text) ? text : Buffer.from(text), name)
  const ns = 'http://schemas.openxmlformats.org'
  add(
    '[Content_Types].xml',
    `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="${ns}/package/2006/content-types">` +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' +
      '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' +
      '</Types>',
  )
  add(
    '_rels/.rels',
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">` +
      `<Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
  )
  add(
    'xl/workbook.xml',
    `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${ns}/spreadsheetml/2006/main" xmlns:r="${ns}/officeDocument/2006/relationships">` +
      '<sheets><sheet name="Big" sheetId="1" r:id="rId1"/></sheets></workbook>',
  )
  add(
    'xl/_rels/workbook.xml.rels',
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">` +
      `<Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
      `<Relationship Id="rId2" Type="${ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
      '</Relationships>',
  )
  if (sharedStrings instanceof Readable) zip.addReadStream(sharedStrings, 'xl/sharedStrings.xml')
  else add('xl/sharedStrings.xml', sharedStrings ?? `<sst xmlns="${ns}/spreadsheetml/2006/main"/>`)
  add('xl/worksheets/sheet1.xml', sheetXml)
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const sheetXml = (rows: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`

/**
 * A header row (code, name) and `rows` data rows, compactly (numbers and shared strings, as
 * Excel writes them: about 16 MB unpacked); row `longAt` holds a cell over the limit.
 */
async function manyRowsXlsx(rows: number, longAt: number): Promise<Buffer> {
  const ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
  const strings = ['code', 'name', 'n', 'y'.repeat(MAX_CELL_CHARS + 1000)]
  const sst = `<sst xmlns="${ns}">${strings.map((t) => `<si><t>${t}</t></si>`).join('')}</sst>`
  const parts = ['<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>']
  for (let n = 2; n <= rows + 1; n++)
    parts.push(
      `<row r="${n}"><c r="A${n}"><v>${n}</v></c><c r="B${n}" t="s"><v>${n === longAt ? 3 : 2}</v></c></row>`,
    )
  return rawWorkbook(sheetXml(parts.join('')), sst)
}

function manyRowsCsv(rows: number, longAt: number): Buffer {
  const lines = ['code,name']
  for (let n = 2; n <= rows + 1; n++)
    lines.push(`B${n},${n === longAt ? 'y'.repeat(MAX_CELL_CHARS + 1000) : 'n'}`)
  return Buffer.from(`${lines.join('\n')}\n`)
}

/** A hub with an estate and an admin; `upload` sends a file to its import route. */
function importFixture(backend: StoreBackend) {
  let hub: TestHub
  let root: string
  let estateId: string
  beforeAll(async () => {
    hub = await openTestHub(backend)
    root = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
    const post = async (url: string, payload: object) => {
      const response = await hub.call(root, { method: 'POST', url, payload })
      expect(response.status, JSON.stringify(response.body)).toBe(201)
      return response.body.id as string
    }
    const groupId = await post('/api/v1/org-nodes', { kind: 'group', code: 'G1', name: 'Group' })
    const companyId = await post('/api/v1/org-nodes', {
      kind: 'company',
      parentId: groupId,
      code: 'C1',
      name: 'Co',
    })
    estateId = await post('/api/v1/org-nodes', { kind: 'estate', parentId: companyId, code: 'E1', name: 'E' })
  })
  afterAll(() => hub?.close())

  const upload = async (body: Buffer, type: string, kind = 'buildings') => {
    const response = await hub.app.inject({
      method: 'POST',
      url: `/api/v1/estates/${estateId}/imports/${kind}`,
      headers: { 'content-type': type, authorization: `Bearer ${root}` },
      payload: body,
    })
    return { status: response.statusCode, size: response.body.length, body: response.json() }
  }
  const buildings = async () => {
    const row = await hub.store.db
      .selectFrom('buildings')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  return { upload, buildings }
}

// The import's bounds: the upload, the workbook unpacked, one cell, the number of rows, each
// checked while reading so that a small file cannot make the hub read (or echo) a huge one.
describe('import bounds: size, rows and cells, while reading (PGlite: the store is not reached)', () => {
  const { upload, buildings } = importFixture(storeBackends()[0]!)

  it('refuses a small XLSX that unpacks to a 60 MB cell, answering briefly and staying small', async () => {
    const ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
    // Streamed into the zip a megabyte at a time: the test itself never holds the 60 MB.
    const strings = Readable.from(
      (function* () {
        yield Buffer.from(`<sst xmlns="${ns}" count="1" uniqueCount="1"><si><t>`)
        const megabyte = Buffer.alloc(1000 * 1000, 'x')
        for (let n = 0; n < 60; n++) yield megabyte
        yield Buffer.from('</t></si></sst>')
      })(),
    )
    const file = await rawWorkbook(sheetXml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), strings)
    expect(file.length).toBeLessThan(1 * MB)
    const before = process.memoryUsage().rss
    const peakBefore = process.resourceUsage().maxRSS * 1024
    const response = await upload(file, XLSX)
    const after = process.memoryUsage().rss
    // The process's peak so far (kilobytes), this upload included: not only where it ended.
    const peak = process.resourceUsage().maxRSS * 1024
    console.log(
      `60 MB cell in a ${Math.round(file.length / 1024)} KB XLSX: answered in ${response.size} bytes; RSS ${Math.round(before / MB)} → ${Math.round(after / MB)} MB, peak ${Math.round(peakBefore / MB)} → ${Math.round(peak / MB)} MB`,
    )
    expect(response.status).toBe(422)
    expect(response.body).toMatchObject({
      error: 'EH_ERR_IMPORT_REJECTED',
      rule: 'import.unpackedTooLarge',
      params: { limit: MAX_UNPACKED_BYTES },
    })
    expect(response.size).toBeLessThan(1 * MB)
    expect(after).toBeLessThan(1024 * MB)
    expect(peak).toBeLessThan(1024 * MB)
  })

  it(`stops reading a 300,000-row XLSX at row ${MAX_IMPORT_ROWS + 1}`, async () => {
    // Row 30,000 holds a cell over the limit: reaching it would answer import.cellTooLong.
    const file = await manyRowsXlsx(300_000, 30_000)
    console.log(`300,000-row XLSX: ${Math.round(file.length / 1024)} KB`)
    const response = await upload(file, XLSX)
    expect(response.status).toBe(422)
    expect(response.body).toMatchObject({ rule: 'import.tooManyRows', params: { max: MAX_IMPORT_ROWS } })
    expect(await buildings()).toBe(0)
  })

  it(`stops reading a 300,000-row CSV at row ${MAX_IMPORT_ROWS + 1}`, async () => {
    const response = await upload(manyRowsCsv(300_000, 30_000), 'text/csv')
    expect(response.status).toBe(422)
    expect(response.body).toMatchObject({ rule: 'import.tooManyRows', params: { max: MAX_IMPORT_ROWS } })
  })

  it(`refuses a cell over ${MAX_CELL_CHARS} characters, naming sheet, row and column, the value cut`, async () => {
    const csv = await upload(manyRowsCsv(5, 4), 'text/csv')
    expect(csv.status).toBe(422)
    expect(csv.body).toMatchObject({
      rule: 'import.cellTooLong',
      params: { max: MAX_CELL_CHARS, sheet: 'CSV', row: 4, column: 'B' },
      details: [{ field: 'row 4: B', rule: 'import.cellTooLong' }],
    })
    expect(csv.body.params.got.length).toBeLessThanOrEqual(41)
    expect(csv.size).toBeLessThan(2000)

    const book = new ExcelJS.Workbook()
    const sheet = book.addWorksheet('楼栋')
    sheet.addRow(['code', 'name'])
    sheet.addRow(['B1', 'ok'])
    sheet.addRow(['B2', 'z'.repeat(5000)])
    const xlsx = await upload(Buffer.from(await book.xlsx.writeBuffer()), XLSX)
    expect(xlsx.status).toBe(422)
    expect(xlsx.body).toMatchObject({
      rule: 'import.cellTooLong',
      params: { sheet: '楼栋', row: 3, column: 'B' },
    })
  })

  it(`refuses an upload over ${MAX_IMPORT_BYTES / MB} MiB with 413 in the error shape`, async () => {
    const response = await upload(Buffer.alloc(MAX_IMPORT_BYTES + 1, 'a'), 'text/csv')
    expect(response.status).toBe(413)
    expect(response.body).toMatchObject({ error: 'EH_ERR_PAYLOAD_TOO_LARGE', rule: 'request.bodyTooLarge' })
  })
})

describe.each(storeBackends())('import rows with unstorable or long values on $name', (backend) => {
  const { upload, buildings } = importFixture(backend)

  it('refuses the rows with a NUL in a cell, naming row and column; the other rows are checked as usual', async () => {
    const file = Buffer.from('code,name,floorsAbove\nB1,One,3\nB2,T\u0000wo,4\nB3,Three,x\nB4,Four,5\n')
    const response = await upload(file, 'text/csv')
    expect(response.status).toBe(422)
    expect(response.body).toMatchObject({ rule: 'import.rowsRejected', params: { bad: 2, rows: 4 } })
    expect(response.body.details).toEqual([
      expect.objectContaining({
        row: 3,
        column: 'name',
        rule: 'text.unstorable',
        params: { character: 'NUL' },
      }),
      expect.objectContaining({ row: 4, column: 'floorsAbove', rule: 'integer.format' }),
    ])
    expect(await buildings()).toBe(0)
  })

  it('cuts a long bad value echoed in a row error', async () => {
    const long = '9x'.repeat(700)
    const response = await upload(Buffer.from(`code,name,floorsAbove\nB1,One,${long}\n`), 'text/csv')
    expect(response.status).toBe(422)
    const detail = response.body.details[0]
    expect(detail).toMatchObject({ rule: 'integer.format', row: 2 })
    expect(detail.params.got).toBe(`${long.slice(0, 200)}…`)
    expect(detail.message.length).toBeLessThanOrEqual(1001)
  })

  it('still imports a normal XLSX', async () => {
    const book = new ExcelJS.Workbook()
    const sheet = book.addWorksheet('楼栋')
    sheet.addRow(['楼栋编号', '楼栋名称', '地上层数'])
    sheet.addRow(['B1', '1号楼', 18])
    const response = await upload(Buffer.from(await book.xlsx.writeBuffer()), XLSX)
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    expect(response.body).toMatchObject({ rows: 1, created: 1 })
  })
})
