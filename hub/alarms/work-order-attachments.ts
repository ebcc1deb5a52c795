import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { ApiError, conflict, invalid, notFound, type RuleRef, ruleRef } from '../kernel/api-error.ts'
import { errorReplies, Id, IdParams } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { jsonb } from '../store/jsonb.ts'

/** An attachment's largest size: a phone photo or a scanned report. */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

/** The types an attachment may have, and the first bytes a file of each type starts with. */
export const attachmentTypes: Record<
  string,
  { readonly label: string; readonly matches: (b: Buffer) => boolean }
> = {
  'image/jpeg': {
    label: 'JPEG',
    matches: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  'image/png': {
    label: 'PNG',
    matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  'image/webp': {
    label: 'WebP',
    matches: (b) =>
      b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  'application/pdf': { label: 'PDF', matches: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
}
const typeList = Object.keys(attachmentTypes).join(', ')

const unsupported = (message: string, rule: RuleRef) =>
  new ApiError('EH_ERR_UNSUPPORTED_MEDIA', `headers.content-type: ${message}`, [
    { field: 'headers.content-type', ...rule, message },
  ])

/** RFC 5987 / 6266 `filename*` value: UTF-8, percent-encoded (no quotes, so nothing to escape). */
function filenameStar(name: string): string {
  return `UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`
}

const metadataColumns = [
  'id',
  'workOrderId',
  'fileName',
  'contentType',
  'sizeBytes',
  'sha256',
  'uploadedBy',
  'uploadedAt',
] as const

/** An order's attachments without their content, oldest first. */
export async function listAttachments(db: Kysely<Database>, workOrderId: string) {
  const rows = await db
    .selectFrom('workOrderAttachments')
    .select(metadataColumns)
    .where('workOrderId', '=', workOrderId)
    .orderBy('uploadedAt')
    .orderBy('id')
    .execute()
  return rows.map((r) => ({ ...r, uploadedAt: new Date(r.uploadedAt).toISOString() }))
}

export const Attachment = Type.Object(
  {
    id: Id,
    workOrderId: Id,
    fileName: Type.String(),
    contentType: Type.String(),
    sizeBytes: Type.Integer(),
    sha256: Type.String({ description: 'hex SHA-256 of the content' }),
    uploadedBy: Type.Union([Id, Type.Null()]),
    uploadedAt: Type.String({ format: 'date-time' }),
  },
  { title: 'WorkOrderAttachment' },
)

/**
 * Photos and documents of a work order (the damage before, the repair after, a report):
 * uploaded as the raw body of one JPEG, PNG, WebP or PDF up to 10 MiB, checked against its
 * declared type by its first bytes, kept in the store with its size and SHA-256, and served
 * back as a download. Only the upload route parses those types (a plugin of its own), with
 * its own body limit; every other route still takes JSON only.
 */
export function registerWorkOrderAttachmentRoutes(app: FastifyInstance, db: Kysely<Database>) {
  const tags = ['work orders']
  const security = [{ bearerAuth: [] }]
  const orderRule = { table: 'workOrders' as const, label: 'work order' }

  app.register(async (upload) => {
    upload.addContentTypeParser(
      Object.keys(attachmentTypes),
      { parseAs: 'buffer', bodyLimit: MAX_ATTACHMENT_BYTES },
      (_request, body, done) => done(null, body),
    )
    upload.post(
      '/api/v1/work-orders/:id/attachments',
      {
        config: {
          access: { estate: { from: 'params.id', record: orderRule }, permission: 'workOrders.manage' },
        },
        bodyLimit: MAX_ATTACHMENT_BYTES,
        schema: {
          tags,
          summary: `Attach a photo or document to a work order: the raw body, of type ${typeList}, up to 10 MiB`,
          description:
            'The body is the file itself (not JSON, not multipart), with its type in Content-Type; its first bytes must match that type. Not on a closed or cancelled order. Each upload is on the timeline.',
          security,
          params: IdParams,
          querystring: Type.Object(
            {
              name: Type.String({
                minLength: 1,
                maxLength: 200,
                description: 'the file name to download it as',
              }),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Attachment,
            ...errorReplies,
            413: Type.Ref('ErrorResponse'),
            415: Type.Ref('ErrorResponse'),
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const { name } = request.query as { name: string }
        const fileName = name.trim()
        // A name for a download, not a path: no directories, no control characters.
        const control = [...fileName].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
        if (fileName === '' || control || /[/\\]/.test(fileName))
          throw invalid(
            'query.name',
            'must be a file name without slashes or control characters',
            'attachment.fileName',
          )
        const declared = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
        const body = request.body
        // JSON and text bodies reach here parsed by the app's own parsers: not a file.
        if (!Buffer.isBuffer(body) || !Object.hasOwn(attachmentTypes, declared))
          throw unsupported(
            `must be one of ${typeList}, with the file as the raw body`,
            ruleRef('attachment.mediaType', { allowed: typeList }),
          )
        if (body.length === 0)
          throw invalid('body', 'is empty: send the file as the body', 'attachment.empty')
        const type = attachmentTypes[declared]!
        if (!type.matches(body))
          throw unsupported(
            `the body is not a ${type.label} file (its first bytes do not match ${declared})`,
            ruleRef('attachment.contentMismatch', { type: type.label }),
          )
        const sha256 = createHash('sha256').update(body).digest('hex')
        const row = await db.transaction().execute(async (trx) => {
          // Locked so a close or cancel cannot slip in between the check and the insert.
          const order = await trx
            .selectFrom('workOrders')
            .select('status')
            .where('id', '=', id)
            .forUpdate()
            .executeTakeFirstOrThrow()
          if (order.status === 'closed' || order.status === 'cancelled')
            throw conflict(
              'params.id',
              `the work order is ${order.status}: nothing more can be attached`,
              'workOrder.closedForAttachments',
              { status: order.status },
            )
          const inserted = await trx
            .insertInto('workOrderAttachments')
            .values({
              workOrderId: id,
              fileName,
              contentType: declared,
              sizeBytes: body.length,
              sha256,
              content: body,
              uploadedBy: request.scope.userId,
            })
            .returning(metadataColumns)
            .executeTakeFirstOrThrow()
          await trx
            .insertInto('workOrderEvents')
            .values({
              workOrderId: id,
              by: request.scope.userId,
              action: 'attachment',
              fromStatus: order.status,
              toStatus: order.status,
              note: fileName,
              data: jsonb({
                attachmentId: inserted.id,
                fileName,
                contentType: declared,
                sizeBytes: body.length,
                sha256,
              }),
            })
            .execute()
          return inserted
        })
        return reply.status(201).send({ ...row, uploadedAt: new Date(row.uploadedAt).toISOString() })
      },
    )
  })

  app.get(
    '/api/v1/work-orders/:id/attachments',
    {
      config: { access: { estate: { from: 'params.id', record: orderRule } } },
      schema: {
        tags,
        summary: 'A work order’s attachments: name, type, size and SHA-256, without the content',
        security,
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Attachment) }), ...errorReplies },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string }
      return { items: await listAttachments(db, id) }
    },
  )

  app.get(
    '/api/v1/work-orders/:id/attachments/:attachmentId',
    {
      config: { access: { estate: { from: 'params.id', record: orderRule } } },
      schema: {
        tags,
        summary: 'Download an attachment: its content with its type, as a file (never shown inline)',
        security,
        params: Type.Object({ id: Id, attachmentId: Id }, { additionalProperties: false }),
        response: { ...errorReplies },
      },
    },
    async (request, reply) => {
      const { id, attachmentId } = request.params as { id: string; attachmentId: string }
      const row = await db
        .selectFrom('workOrderAttachments')
        .select(['fileName', 'contentType', 'content'])
        .where('id', '=', attachmentId)
        .where('workOrderId', '=', id)
        .executeTakeFirst()
      if (!row) throw notFound('attachment', 'params.attachmentId')
      // PGlite gives a Uint8Array, node-postgres a Buffer.
      const content = Buffer.from(row.content.buffer, row.content.byteOffset, row.content.byteLength)
      return reply
        .header('content-type', row.contentType)
        .header('content-disposition', `attachment; filename*=${filenameStar(row.fileName)}`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .send(content)
    },
  )
}
