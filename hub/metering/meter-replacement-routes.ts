import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { invalid } from '../kernel/api-error.ts'
import { decimalString } from '../kernel/estate-resource.ts'
import { errorReplies } from '../kernel/schema-parts.ts'
import type { Database } from '../store/database-schema.ts'
import { meterReplacementResource, replacementCreate } from './meter-replacement-resource.ts'

interface ReplacementBody {
  meterId: string
  replacedAt: string
  oldFinalReading: string | number
  newStartReading: string | number
  newSerialNumber?: string | null
  newMultiplier?: string | number
  newRegisterCapacity?: string | number | null
  reason?: string | null
}

const CLOCK_SKEW_MS = 5 * 60_000

export function registerMeterReplacementRoutes(app: FastifyInstance, db: Kysely<Database>) {
  app.post(
    '/api/v1/meter-replacements',
    {
      config: {
        access: {
          estate: { from: 'body.meterId', record: { table: 'meters', label: 'meter' } },
          permission: 'meters.write',
        },
      },
      schema: {
        tags: ['metering'],
        summary: 'Record a meter replacement (换表); the meter takes the new serial and multiplier',
        security: [{ bearerAuth: [] }],
        body: replacementCreate,
        response: { 201: meterReplacementResource.record, ...errorReplies },
      },
    },
    async (request, reply) => {
      const body = request.body as ReplacementBody
      const estateId = request.estateId
      const replacedAt = new Date(body.replacedAt)
      if (replacedAt.getTime() > Date.now() + CLOCK_SKEW_MS)
        throw invalid('body.replacedAt', 'is in the future', 'date.inFuture')
      const oldFinalReading = decimalString(body.oldFinalReading, 3, 'body.oldFinalReading')
      const newStartReading = decimalString(body.newStartReading, 3, 'body.newStartReading')
      const row = await db.transaction().execute(async (trx) => {
        const meter = await trx
          .selectFrom('meters')
          .select(['id', 'serialNumber', 'multiplier', 'registerCapacity', 'installedOn'])
          .where('id', '=', body.meterId)
          .forUpdate()
          .executeTakeFirstOrThrow()
        const last = await trx
          .selectFrom('meterReplacements')
          .select('replacedAt')
          .where('meterId', '=', meter.id)
          .orderBy('replacedAt', 'desc')
          .executeTakeFirst()
        if (last && last.replacedAt >= replacedAt) {
          throw invalid(
            'body.replacedAt',
            `must be after the previous replacement (${last.replacedAt.toISOString()})`,
            'replacement.beforePrevious',
            { previous: last.replacedAt.toISOString() },
          )
        }
        if (meter.installedOn && body.replacedAt.slice(0, 10) < meter.installedOn) {
          throw invalid(
            'body.replacedAt',
            `is before the meter was installed (${meter.installedOn})`,
            'replacement.beforeInstall',
            { installedOn: String(meter.installedOn) },
          )
        }
        if (meter.registerCapacity !== null && Number(oldFinalReading) >= Number(meter.registerCapacity)) {
          throw invalid(
            'body.oldFinalReading',
            `must be below the register capacity ${meter.registerCapacity}`,
            'reading.atCapacity',
            { capacity: String(meter.registerCapacity) },
          )
        }
        const newMultiplier =
          body.newMultiplier === undefined
            ? meter.multiplier
            : decimalString(body.newMultiplier, 4, 'body.newMultiplier')
        const newCapacity =
          body.newRegisterCapacity === undefined
            ? meter.registerCapacity
            : body.newRegisterCapacity === null
              ? null
              : decimalString(body.newRegisterCapacity, 3, 'body.newRegisterCapacity')
        if (newCapacity !== null && Number(newStartReading) >= Number(newCapacity)) {
          throw invalid(
            'body.newStartReading',
            `must be below the new meter's register capacity ${newCapacity}`,
            'reading.atCapacity',
            { capacity: String(newCapacity) },
          )
        }
        const inserted = await trx
          .insertInto('meterReplacements')
          .values({
            estateId,
            meterId: meter.id,
            replacedAt,
            oldFinalReading,
            newStartReading,
            oldSerialNumber: meter.serialNumber,
            newSerialNumber: body.newSerialNumber ?? null,
            oldMultiplier: meter.multiplier,
            newMultiplier,
            oldRegisterCapacity: meter.registerCapacity,
            newRegisterCapacity: newCapacity,
            reason: body.reason ?? null,
            recordedBy: request.scope.userId,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
        await trx
          .updateTable('meters')
          .set({
            serialNumber: body.newSerialNumber ?? null,
            multiplier: newMultiplier,
            registerCapacity: newCapacity,
            updatedAt: new Date(),
          })
          .where('id', '=', meter.id)
          .execute()
        return inserted
      })
      return reply.status(201).send(row)
    },
  )
}
