import { type Kysely, sql } from 'kysely'

/**
 * Issue 12: devices.protocol is any protocol of the registry (drivers/protocols.ts), which the
 * API checks on every write; the database keeps only the shape of a protocol name. A CHECK
 * listing the names would need a migration per protocol, and rewriting it from the registry
 * at start would let an older hub, started during a rolling upgrade, refuse the rows of a
 * newer one (docs/decisions/0012-protocol-registry.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // 0001 wrote the list inline, so PostgreSQL named it <table>_<column>_check.
  await sql`alter table devices drop constraint if exists devices_protocol_check`.execute(db)
  await sql`alter table devices add constraint devices_protocol_name check (protocol ~ '^[a-z][a-z0-9-]{0,63}$')`.execute(
    db,
  )
}
