import { type RawBuilder, sql } from 'kysely'

/**
 * A value for a jsonb column. Needed for arrays: node-postgres would send a JS array as a
 * PostgreSQL array literal ('{}'), which jsonb refuses; objects work either way.
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`cast(${JSON.stringify(value)} as jsonb)`
}
