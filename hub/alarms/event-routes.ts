import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../store/database-schema.ts'

export function registerEventRoutes(_app: FastifyInstance, _db: Kysely<Database>) {}
