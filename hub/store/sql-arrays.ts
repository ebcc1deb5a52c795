import { type RawBuilder, sql } from 'kysely'

/**
 * `any($1::uuid[])`: a set of ids as ONE array parameter, for `.where(col, '=', anyUuid(ids))`.
 * Kysely's `in` with a list binds one parameter per element, and PostgreSQL's Bind message counts
 * parameters in 16 bits: past 65,535 it wraps into a confusing error (the field notes). An
 * empty array matches nothing, where `in ()` would be a syntax error.
 */
export function anyUuid(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`any(${[...ids]}::uuid[])`
}

/** `any($1::text[])`: as anyUuid, for codes and other text keys. */
export function anyText(values: readonly string[]): RawBuilder<string> {
  return sql<string>`any(${[...values]}::text[])`
}
