import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { type Kysely, sql } from 'kysely'
import type { Database } from '../store/database-schema.ts'
import type { HubJob, JobContext } from './hub-module.ts'

/*
 * Background jobs run once across N hubs sharing one database (issue 14).
 *
 * Each job name has a lease row (`job_leases`, migration 0012): the hub named in it runs the job
 * until `expires_at`; it renews the row every third of the TTL, and a hub that dies stops
 * renewing, so another hub takes the row over once it has expired. Times are the database's
 * (`now()`), so hubs with skewed clocks agree; a hub only trusts its own answer for a third of
 * the TTL, measured on its monotonic clock.
 *
 * Why a row and not a PostgreSQL advisory lock: `pg_try_advisory_lock` belongs to one database
 * session, and the pool hands each query any connection: the lock would be taken on one,
 * "held" while the job's queries run on others, and silently freed whenever the pool ends that
 * connection (idle timeout, a restart of the server); unlocking needs that same connection. An
 * advisory lock per transaction (`pg_advisory_xact_lock`) would pin a connection and an open
 * transaction for a whole run (one connection is all PGlite has). The row survives connection
 * churn, works on PGlite and PostgreSQL alike, and shows an operator who runs what
 * (`select * from job_leases`). The price: a dead holder's jobs wait for its TTL.
 */

/** How long a lease lasts without renewal: how long a dead hub's jobs wait for another hub. */
export const DEFAULT_LEASE_TTL_MS = 30_000

export interface JobLeaseTable {
  name: string
  holder: string
  acquiredAt: Date
  renewedAt: Date
  expiresAt: Date
}

export interface JobDoneTable {
  job: string
  key: string
  doneAt: Date
  doneBy: string
}

declare module '../store/database-schema.ts' {
  interface Database {
    jobLeases: JobLeaseTable
    jobDone: JobDoneTable
  }
}

/** This process's name among the hubs: host, pid and a random part (a pid is reused after a restart). */
export function newHubId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
}

export interface LeaseLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

export interface LeaseOptions {
  readonly ttlMs?: number
  readonly log?: LeaseLog
}

const quiet: LeaseLog = { info() {}, warn() {} }

/** The lease of one job name, as one hub sees it. */
export class JobLease {
  readonly name: string
  readonly holder: string
  readonly ttlMs: number
  readonly #db: Kysely<Database>
  readonly #log: LeaseLog
  /** Monotonic time until which this hub may act as holder without asking again. */
  #heldUntil = 0
  /** Monotonic time of the next question to the database (a renewal, or a try to take it). */
  #nextAsk = 0
  #asking: Promise<boolean> | undefined

  constructor(db: Kysely<Database>, name: string, holder: string, options: LeaseOptions = {}) {
    this.#db = db
    this.name = name
    this.holder = holder
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS
    this.#log = options.log ?? quiet
  }

  /** How often the holder renews (and others look whether it is free). */
  get renewEveryMs(): number {
    return Math.max(1, Math.floor(this.ttlMs / 3))
  }

  /** Whether this hub held the lease at its last answer, still valid now. */
  get held(): boolean {
    return performance.now() < this.#heldUntil
  }

  /**
   * Whether this hub holds the lease now. Asks the database (renewing its own lease, or taking
   * a free or expired one) when a third of the TTL has passed since it last asked; in between
   * it answers from the last answer. Throws when the database cannot be asked.
   */
  async hold(): Promise<boolean> {
    if (performance.now() < this.#nextAsk) return this.held
    return this.renew()
  }

  /** Asks the database now (one question in flight at a time). */
  renew(): Promise<boolean> {
    this.#asking ??= this.#ask().finally(() => {
      this.#asking = undefined
    })
    return this.#asking
  }

  async #ask(): Promise<boolean> {
    const askedAt = performance.now()
    const wasHeld = this.held
    let taken: { previous: string | null; previousExpiresAt: Date | null } | undefined
    try {
      // One statement: insert the row, or take it over when it is ours or has expired. The
      // CTE sees the row as it was before, so the log can name whom it was taken from.
      const result = await sql<{ previous: string | null; previousExpiresAt: Date | null }>`
        with before as (select holder, expires_at from job_leases where name = ${this.name})
        insert into job_leases as l (name, holder, acquired_at, renewed_at, expires_at)
        values (${this.name}, ${this.holder}, now(), now(),
          now() + ${this.ttlMs}::double precision * interval '1 millisecond')
        on conflict (name) do update set
          holder = excluded.holder,
          acquired_at = case when l.holder = excluded.holder then l.acquired_at else excluded.acquired_at end,
          renewed_at = excluded.renewed_at,
          expires_at = excluded.expires_at
        where l.holder = excluded.holder or l.expires_at <= now()
        returning (select holder from before) as previous, (select expires_at from before) as "previousExpiresAt"`.execute(
        this.#db,
      )
      taken = result.rows[0]
    } catch (error) {
      this.#nextAsk = 0 // ask again at the next chance; the old answer runs out by itself
      throw error
    }
    this.#nextAsk = askedAt + this.renewEveryMs
    if (taken === undefined) {
      this.#heldUntil = 0
      if (wasHeld) {
        const now = await this.#db
          .selectFrom('jobLeases')
          .select('holder')
          .where('name', '=', this.name)
          .executeTakeFirst()
        this.#log.warn(
          { job: this.name, hubId: this.holder, holder: now?.holder ?? null },
          `job lease lost: ${this.name} now runs on ${now?.holder ?? 'no hub'} (this hub did not renew in time)`,
        )
      }
      return false
    }
    // Counted from before the question was sent, and with a third of the TTL to spare for a
    // slow answer and clocks that run at different rates.
    this.#heldUntil = askedAt + this.ttlMs - this.renewEveryMs
    if (!wasHeld && taken.previous !== this.holder) {
      if (taken.previous === null)
        this.#log.info(
          { job: this.name, hubId: this.holder },
          `job lease taken: ${this.name} runs on this hub`,
        )
      else
        this.#log.warn(
          {
            job: this.name,
            hubId: this.holder,
            previous: taken.previous,
            previousExpiresAt: taken.previousExpiresAt,
          },
          `job lease taken over: ${this.name} runs on this hub; ${taken.previous} stopped renewing (or released it)`,
        )
    }
    return true
  }

  /** Gives the lease up (a hub that stops cleanly): another hub may take it at once. */
  async release(): Promise<void> {
    await this.#asking?.catch(() => undefined)
    const wasHeld = this.held
    this.#heldUntil = 0
    this.#nextAsk = 0
    const result = await this.#db
      .updateTable('jobLeases')
      .set({ expiresAt: sql<Date>`now()`, renewedAt: sql<Date>`now()` })
      .where('name', '=', this.name)
      .where('holder', '=', this.holder)
      .where('expiresAt', '>', sql<Date>`now()`)
      .executeTakeFirst()
    if (wasHeld || Number(result.numUpdatedRows) > 0)
      this.#log.info({ job: this.name, hubId: this.holder }, `job lease released: ${this.name}`)
  }
}

/** What a hub's jobs share: its id, the TTL of its leases, and cadences given at start (tests). */
export interface JobLeaseSettings {
  readonly hubId: string
  readonly ttlMs?: number
  /** A job's cadence by job name, instead of the job's own default. */
  readonly everyMs?: Readonly<Record<string, number>>
}

/** The lease part of a JobContext for one hub. */
export function jobLeases(
  db: Kysely<Database>,
  log: LeaseLog,
  settings: JobLeaseSettings,
): Pick<JobContext, 'hubId' | 'lease' | 'everyMs'> {
  return {
    hubId: settings.hubId,
    lease: (name) =>
      new JobLease(db, name, settings.hubId, { ttlMs: settings.ttlMs ?? DEFAULT_LEASE_TTL_MS, log }),
    everyMs: (name, fallback) => settings.everyMs?.[name] ?? fallback,
  }
}

export interface LeasedJobSpec {
  /** The job's name: its lease's name, and the key of its cadence. */
  readonly name: string
  /** The job's default cadence (JobContext.everyMs may replace it). */
  readonly everyMs: number
  /** Also run right at start (when the lease is ours). */
  readonly atStart?: boolean
  /**
   * One run. `signal` aborts when the lease was lost meanwhile (this hub stalled past its TTL
   * and another took over): a run over many estates stops between two of them.
   */
  run(signal: AbortSignal): Promise<void>
}

export interface LeasedJob extends HubJob {
  readonly lease: JobLease
  /** Runs once now if this hub holds (or can take) the lease; false when another hub holds it. */
  tick(): Promise<boolean>
  /** Stops without giving up the lease: a hub that dies (tests). */
  halt(): Promise<void>
}

/**
 * A job that runs on one hub at a time: every `everyMs` each hub asks for the lease and the
 * holder runs; a heartbeat every third of the TTL renews it (also while a long run goes on)
 * or, on the other hubs, takes it when its holder has gone. Never two runs at once on one hub.
 */
export function leasedJob(context: JobContext, spec: LeasedJobSpec): LeasedJob {
  const lease = context.lease(spec.name)
  const everyMs = context.everyMs(spec.name, spec.everyMs)
  let timer: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let running: Promise<boolean> | undefined
  let controller: AbortController | undefined
  let stopped = false

  const tick = (): Promise<boolean> => {
    if (stopped) return Promise.resolve(false)
    // A slow run is not started twice by this hub.
    running ??= (async () => {
      if (!(await lease.hold())) return false
      controller = new AbortController()
      await spec.run(controller.signal)
      return true
    })()
      .catch((error: unknown) => {
        context.log.warn({ job: spec.name, err: (error as Error).message }, `${spec.name}: run failed`)
        return false
      })
      .finally(() => {
        running = undefined
        controller = undefined
      })
    return running
  }

  const beat = async () => {
    try {
      if (!(await lease.renew())) controller?.abort(new Error(`lease of ${spec.name} lost`))
    } catch (error) {
      context.log.warn(
        { job: spec.name, err: (error as Error).message },
        `${spec.name}: lease not renewed (database unreachable)`,
      )
    }
  }

  const halt = async () => {
    stopped = true
    clearInterval(timer)
    clearInterval(heartbeat)
    await running
  }

  return {
    name: spec.name,
    lease,
    tick,
    halt,
    start() {
      stopped = false
      timer = setInterval(() => void tick(), everyMs)
      timer.unref()
      heartbeat = setInterval(() => void beat(), lease.renewEveryMs)
      heartbeat.unref()
      if (spec.atStart) void tick()
    },
    async stop() {
      await halt()
      await lease
        .release()
        .catch((error: unknown) =>
          context.log.warn(
            { job: spec.name, err: (error as Error).message },
            `${spec.name}: lease not released`,
          ),
        )
    },
  }
}

/**
 * Work done once per key across hubs and restarts (a meter-read phase of a period for an
 * estate, a night judged by a rule), recorded in `job_done`.
 */
export async function doneKeys(
  db: Kysely<Database>,
  job: string,
  keys: readonly string[],
): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  const rows = await db
    .selectFrom('jobDone')
    .select('key')
    .where('job', '=', job)
    .where(sql<boolean>`key = any(${[...keys]}::text[])`)
    .execute()
  return new Set(rows.map((r) => r.key))
}

/** Records a key as done (a second record of it is ignored). */
export async function markDone(
  db: Kysely<Database>,
  job: string,
  key: string,
  doneBy: string,
): Promise<void> {
  await db
    .insertInto('jobDone')
    .values({ job, key, doneAt: sql<Date>`now()`, doneBy })
    .onConflict((oc) => oc.columns(['job', 'key']).doNothing())
    .execute()
}

/** Forgets a job's keys done longer than `ageMs` ago (past the job's horizon), by the database's clock. */
export async function forgetDoneOlderThan(db: Kysely<Database>, job: string, ageMs: number): Promise<void> {
  await db
    .deleteFrom('jobDone')
    .where('job', '=', job)
    .where('doneAt', '<', sql<Date>`now() - ${ageMs}::double precision * interval '1 millisecond'`)
    .execute()
}
