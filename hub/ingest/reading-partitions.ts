import { type Kysely, sql } from 'kysely'
import type { Database } from '../store/database-schema.ts'

/** The two series classes of `readings` (migration 0002): counters are kept, the rest ages out. */
const parents = { counter: 'readings_counter', other: 'readings_other' } as const
type SeriesClass = keyof typeof parents

/** UTC month index (year × 12 + month) of an epoch-ms instant. */
export function monthIndex(ms: number): number {
  const d = new Date(ms)
  return d.getUTCFullYear() * 12 + d.getUTCMonth()
}

function monthStart(index: number): string {
  const year = Math.floor(index / 12)
  const month = (index % 12) + 1
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01 00:00:00+00`
}

export function partitionName(cls: SeriesClass, index: number): string {
  const year = Math.floor(index / 12)
  const month = (index % 12) + 1
  return `${parents[cls]}_y${year}m${String(month).padStart(2, '0')}`
}

/**
 * Creates monthly partitions on demand. Known ones are cached, so the common case is a set
 * lookup; the DDL runs once per class and month (and tolerates another hub creating the same
 * partition at the same moment).
 */
export class ReadingPartitions {
  readonly #db: Kysely<Database>
  readonly #known = new Set<string>()

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  /** Loads the partitions that exist, so a restarted hub issues no DDL for them. */
  async load(): Promise<void> {
    const result = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent
      where p.relname in ('readings_counter', 'readings_other')`.execute(this.#db)
    for (const row of result.rows) this.#known.add(row.name)
  }

  /** Forgets what is known (another process may have dropped partitions). */
  forget() {
    this.#known.clear()
  }

  /** Makes sure the partitions for every (class, month) in `instants` exist. */
  async ensure(entries: Iterable<{ counter: boolean; ts: number }>): Promise<void> {
    const wanted = new Map<string, { cls: SeriesClass; index: number }>()
    for (const { counter, ts } of entries) {
      const cls: SeriesClass = counter ? 'counter' : 'other'
      const index = monthIndex(ts)
      const name = partitionName(cls, index)
      if (!this.#known.has(name)) wanted.set(name, { cls, index })
    }
    for (const [name, { cls, index }] of wanted) await this.#create(name, cls, index)
  }

  async #create(name: string, cls: SeriesClass, index: number): Promise<void> {
    // Names and bounds come from integers computed above, never from input text.
    const ddl = `create table if not exists ${name} partition of ${parents[cls]} for values from ('${monthStart(index)}') to ('${monthStart(index + 1)}')`
    try {
      await sql.raw(ddl).execute(this.#db)
    } catch (error) {
      // Another hub won the race: 42P07 duplicate_table; anything else is real.
      if ((error as { code?: string }).code !== '42P07') throw error
    }
    this.#known.add(name)
  }

  /**
   * Drops gauge and state partitions that end before `before` (counters are never dropped:
   * bills come from them). Returns the names dropped.
   */
  async dropOtherBefore(before: number): Promise<string[]> {
    await this.load()
    const limit = monthIndex(before)
    const dropped: string[] = []
    for (const name of [...this.#known]) {
      const match = /^readings_other_y(\d+)m(\d{2})$/.exec(name)
      if (!match) continue
      const index = Number(match[1]) * 12 + Number(match[2]) - 1
      // The partition covers [index, index + 1): drop it only when all of it is older.
      if (index + 1 > limit) continue
      await sql.raw(`drop table if exists ${name}`).execute(this.#db)
      this.#known.delete(name)
      dropped.push(name)
    }
    return dropped
  }
}
