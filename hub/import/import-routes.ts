import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { ApiError, detail } from '../kernel/api-error.ts'
import { errorReplies, Id, OneOf } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { type ImportKind, importKinds } from './import-columns.ts'
import { importPermission, importSpreadsheet } from './import-spreadsheet.ts'
import { MAX_IMPORT_BYTES, type SheetFormat } from './read-sheet.ts'

const CSV = 'text/csv'
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const unsupported = (got: string | undefined) =>
  new ApiError(
    'EH_ERR_UNSUPPORTED_MEDIA',
    `send the spreadsheet itself as the body with Content-Type ${CSV} or ${XLSX}${got ? `, not ${got}` : ''}`,
    [
      detail('headers.content-type', `must be ${CSV} or ${XLSX}`, 'import.mediaType', {
        allowed: `${CSV}, ${XLSX}`,
      }),
    ],
  )

const ImportParams = Type.Object(
  { estateId: Id, kind: OneOf(importKinds, 'what the file holds') },
  { additionalProperties: false },
)
const ImportQuery = Type.Object(
  {
    dryRun: Type.Optional(
      Type.Boolean({ default: false, description: 'check every row, then roll back even when all are fine' }),
    ),
  },
  { additionalProperties: false },
)
const ImportResult = Type.Object(
  {
    kind: OneOf(importKinds),
    rows: Type.Integer({ description: 'data rows in the file' }),
    created: Type.Integer({ description: 'records created (0 on a dry run)' }),
    dryRun: Type.Boolean(),
  },
  { title: 'ImportResult' },
)

/** The format from the Content-Type header, parameters (`; charset=utf-8`) ignored. */
function formatOf(contentType: string | undefined): SheetFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase()
  return type === CSV ? 'csv' : type === XLSX ? 'xlsx' : undefined
}

export function registerImportRoutes(app: FastifyInstance, db: Kysely<Database>) {
  // Encapsulated: the raw-file parsers apply to this route only, other routes keep JSON.
  app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers()
    const asBuffer = { parseAs: 'buffer' as const }
    scoped.addContentTypeParser(CSV, asBuffer, (_request, body, done) => done(null, body))
    scoped.addContentTypeParser(XLSX, asBuffer, (_request, body, done) => done(null, body))
    // Anything else is read too (up to the body limit) and refused in the handler, after the
    // access checks: a caller without access learns nothing from a 415.
    scoped.addContentTypeParser('*', asBuffer, (_request, _body, done) => done(null, undefined))

    scoped.post(
      '/api/v1/estates/:estateId/imports/:kind',
      {
        // The upload as sent (an XLSX compressed): its unpacked size and rows are bounded while reading.
        bodyLimit: MAX_IMPORT_BYTES,
        config: {
          access: {
            estate: { from: 'params.estateId' },
            permission: (request) => importPermission((request.params as { kind: ImportKind }).kind),
          },
        },
        schema: {
          tags: ['import'],
          summary: 'Import buildings, units, customers or meters from a CSV or XLSX file, all or nothing',
          description:
            'The body is the file itself (CSV in UTF-8, or the first sheet of an XLSX workbook), at most 10 MiB, ' +
            'an XLSX at most 32 MiB unpacked, at most 20,000 data rows and 2,000 characters a cell; row 1 holds the ' +
            'headers, in English or Chinese (房号, 面积, …). Codes of buildings, units and parent meters refer to ' +
            'this estate. When any row is wrong nothing is imported and the 422 reply lists every bad row: ' +
            '`details[]` with `row`, `column` (the header as written) and `message`.',
          security: [{ bearerAuth: [] }],
          consumes: [CSV, XLSX],
          // Documents the body only: an empty schema accepts the raw Buffer the parsers give.
          body: Type.Unknown({ description: 'the spreadsheet file' }),
          params: ImportParams,
          querystring: ImportQuery,
          response: {
            200: ImportResult,
            ...errorReplies,
            413: Type.Ref('ErrorResponse'),
            415: Type.Ref('ErrorResponse'),
            422: Type.Ref('ErrorResponse'),
          },
        },
      },
      async (request) => {
        const { kind } = request.params as { estateId: string; kind: ImportKind }
        const { dryRun = false } = request.query as { dryRun?: boolean }
        const estateId = request.estateId
        const format = formatOf(request.headers['content-type'])
        if (!format || !Buffer.isBuffer(request.body)) throw unsupported(request.headers['content-type'])
        return importSpreadsheet(db, {
          scope: request.scope,
          estateId,
          kind,
          data: request.body,
          format,
          dryRun,
        })
      },
    )
  })
}
