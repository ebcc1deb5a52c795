import { type Kysely, sql } from 'kysely'

/**
 * Issue 13: a point may say which values are physically plausible (a room at 1e300 °C is a
 * decoding fault, not a reading). Both bounds are optional and exact decimals with at most 10
 * places, like scale and offset; the ingest stores a reading outside them with quality `bad`
 * and the reason (docs/protocol.md § Values the hub stores).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table points
    add column plausible_min numeric check (scale(plausible_min) <= 10),
    add column plausible_max numeric check (scale(plausible_max) <= 10),
    add constraint points_plausible_range check (plausible_min < plausible_max)`.execute(db)
}
