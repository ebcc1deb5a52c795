import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Kysely, Migration } from 'kysely'
import type { Database } from '../store/database-schema.ts'
import type { EstateResource } from './estate-resource.ts'
import type { JobLease } from './job-lease.ts'
import type { Permission } from './roles.ts'

/** An OpenAPI tag a module's routes use; the app lists every module's tags in the document. */
export interface ApiTag {
  readonly name: string
  readonly description: string
}

/** A background job of a running hub (not of `buildApp`, which tests use without jobs). */
export interface HubJob {
  readonly name: string
  start(): void
  /** Resolves when the job has finished what it was doing. */
  stop(): Promise<void>
}

export interface JobContext {
  readonly db: Kysely<Database>
  readonly log: FastifyBaseLogger
  /** Wakes the notification dispatcher when a job has queued a notification. */
  readonly notifications: { poke(): void }
  /** This hub's id among the hubs (hostname:pid:random): the holder of its job leases, logged at start. */
  readonly hubId: string
  /**
   * The lease of a job name for this hub: a job that must run once across hubs runs only while
   * it holds it (hub/kernel/job-lease.ts, `leasedJob` does the asking and renewing).
   */
  lease(name: string): JobLease
  /** A job's cadence: its own default unless the hub was started with another for it (tests). */
  everyMs(name: string, fallback: number): number
}

/**
 * One hub domain as the app sees it (docs/architecture.md). The app composes a list of these
 * (hub/app/hub-modules.ts); adding a domain is one line there. A module that needs options
 * from the app is a function returning its module (see `authModule`).
 */
export interface HubModule {
  readonly name: string
  /** OpenAPI tags the module's routes use, in the order the API document lists them. */
  readonly tags?: readonly ApiTag[]
  /** Estate-scoped tables served by the generic list/get/create/update routes. */
  readonly resources?: readonly EstateResource[]
  /**
   * The module's own routes. The app registers them as an encapsulated Fastify plugin, so a
   * hook or decorator added here stays inside the module.
   */
  readonly routes?: (app: FastifyInstance, db: Kysely<Database>) => void | Promise<void>
  /** Permissions the module's routes ask for (they are granted through roles, hub/kernel/roles.ts). */
  readonly permissions?: readonly Permission[]
  /** Migrations added after wave 1, named `NNNN-title` in the one global order. */
  readonly migrations?: Readonly<Record<string, Migration>>
  /** Background jobs a running hub starts (hub/cli/hub-command.ts) and stops on close. */
  readonly jobs?: (context: JobContext) => readonly HubJob[]
}
