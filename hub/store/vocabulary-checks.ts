/**
 * Database CHECKs that list a vocabulary's values (`column in (…)`), written from the lists
 * instead of by hand: which CHECK comes from which list is the app's to say
 * (hub/app/vocabulary-checks.ts, since the lists live in the domains); this file reads the live
 * CHECKs and rewrites the ones that differ.
 */
import { type Kysely, sql } from 'kysely'

/** `column in (values)` on a table; the constraint is named `<table>_<column>_check` (PostgreSQL's default). */
export interface VocabularyCheck {
  readonly table: string
  readonly column: string
  /** Read when the CHECK is written: registries (fee kinds) may have grown by then. */
  values(): readonly string[]
}

/** A CHECK with another shape, e.g. a rule over two columns, written whole. */
export interface WholeCheck {
  readonly table: string
  readonly name: string
  /** The expression inside `check (…)`, read when the CHECK is written. */
  expression(): string
  /** Every value the expression may name (its list): a live CHECK naming another is newer code's. */
  values(): readonly string[]
}

export interface SyncOptions {
  /**
   * Only ever add values, as the hub does at every start: a CHECK naming a value its list lacks
   * was written by newer code (a newer hub beside this one, or rolled back), so it stays.
   */
  readonly widenOnly?: boolean
}

const quoted = (value: string) => `'${value.replaceAll("'", "''")}'`

/** The values each live `<table>_<column>_check` lists, by `<table>.<column>` (PostgreSQL's own text). */
export async function liveVocabularyChecks(db: Kysely<unknown>): Promise<Map<string, string[]>> {
  const rows = await sql<{ table: string; name: string; definition: string }>`
    select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as definition
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where c.contype = 'c' and n.nspname = current_schema() and c.conrelid <> 0`.execute(db)
  const live = new Map<string, string[]>()
  for (const row of rows.rows) {
    // e.g. CHECK ((kind = ANY (ARRAY['area'::text, 'fixed'::text])))
    const m = /^CHECK \(\((\w+) = ANY \(ARRAY\[(.*)\]\)\)\)$/.exec(row.definition)
    if (!m || row.name !== `${row.table}_${m[1]}_check`) continue
    const values = [...m[2]!.matchAll(/'((?:[^']|'')*)'::text/g)].map((v) => v[1]!.replaceAll("''", "'"))
    live.set(`${row.table}.${m[1]}`, values)
  }
  return live
}

/** The quoted names in a CHECK's definition, in order: `'area'::text` → area. */
const namesIn = (definition: string) => [...definition.matchAll(/'(\w+)'/g)].map((m) => m[1]!)

/**
 * Rewrites every vocabulary CHECK whose live values differ from its list, and every whole check
 * whose names differ from its expression's. Migrations call it, and the hub at every start with
 * `widenOnly`, so a list that grew (a fee kind added or registered) needs no migration of its
 * own. CHECKs that already match are left alone: no table is scanned for nothing.
 */
export async function syncVocabularyChecks(
  db: Kysely<unknown>,
  checks: readonly VocabularyCheck[],
  wholeChecks: readonly WholeCheck[] = [],
  options: SyncOptions = {},
): Promise<void> {
  const live = await liveVocabularyChecks(db)
  for (const { table, column, values } of checks) {
    const wanted = values()
    const now = live.get(`${table}.${column}`)
    if (now !== undefined && now.length === wanted.length && now.every((v, i) => v === wanted[i])) continue
    if (options.widenOnly && now !== undefined) {
      const lacking = now.some((v) => !wanted.includes(v))
      if (lacking || wanted.every((v) => now.includes(v))) continue
    }
    const name = `${table}_${column}_check`
    await sql
      .raw(
        `alter table ${table} drop constraint if exists ${name}, add constraint ${name} check (${column} in (${wanted.map(quoted).join(', ')}))`,
      )
      .execute(db)
  }
  for (const { table, name, expression, values } of wholeChecks) {
    const wanted = expression()
    const { rows } = await sql<{ definition: string }>`
      select pg_get_constraintdef(oid) as definition from pg_constraint
      where conname = ${name} and conrelid = ${table}::regclass`.execute(db)
    const now = rows[0] === undefined ? undefined : namesIn(rows[0].definition)
    if (now !== undefined && now.join() === namesIn(wanted).join()) continue
    if (options.widenOnly && now?.some((v) => !values().includes(v))) continue
    await sql
      .raw(`alter table ${table} drop constraint if exists ${name}, add constraint ${name} check (${wanted})`)
      .execute(db)
  }
}
