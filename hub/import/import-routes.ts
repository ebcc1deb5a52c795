import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../store/database-schema.ts'

// Placeholder until the spreadsheet import lands.
export function registerImportRoutes(_app: FastifyInstance, _db: Kysely<Database>) {}
