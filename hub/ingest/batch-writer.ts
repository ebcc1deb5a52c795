import { type Kysely, sql } from 'kysely'
import type { UplinkBatch, WireEvent, WireReading } from '../../gateway/contract/index.ts'
import type { Database, Quality } from '../store/database-schema.ts'
import type { GatewayEntry, KnownPoint } from './point-directory.ts'
import {
  escapeText,
  eventProblem,
  eventText,
  rangeProblem,
  readingProblem,
  storesAsNumber,
} from './reading-fit.ts'
import type { ReadingPartitions } from './reading-partitions.ts'

export interface CommitLimits {
  /** A reading stamped further ahead of the hub's clock is not stored as a reading. */
  readonly maxFutureMs: number
  /** Nor one older than this (a gateway clock reset to 1970). */
  readonly maxAgeMs: number
}

/**
 * What a transaction that moved a gateway's committed mark did, for work that must commit or
 * fail with it (alarm state, the live relay's NOTIFY). `batch` is absent when a refused
 * payload's seq was settled (a dead letter): the mark may still move past parked batches.
 */
export interface MarkMove {
  readonly gateway: Pick<GatewayEntry, 'id' | 'code' | 'estateId' | 'devices'>
  readonly seq: number
  /** The committed mark before this transaction, and after it (contiguous seqs all committed). */
  readonly markBefore: number
  readonly markAfter: number
  readonly batch?: UplinkBatch
  readonly stored: readonly StoredReading[]
  readonly storedEvents: readonly WireEvent[]
}

/**
 * Called inside the batch's transaction after its rows and seq are written, with the gateway's
 * link row locked (so calls for one gateway never overlap, whichever hub runs them). A throw
 * rolls the batch back (it is not acked and comes again).
 */
export type InCommitHook = (trx: Kysely<Database>, move: MarkMove) => Promise<void>

export const defaultCommitLimits: CommitLimits = { maxFutureMs: 10 * 60_000, maxAgeMs: 400 * 86_400_000 }

/** A reading stored in `readings`, with the point it belongs to (for the InfluxDB copy). */
export interface StoredReading {
  readonly point: KnownPoint
  readonly name: string
  readonly wire: WireReading
}

export interface CommitResult {
  readonly duplicate: boolean
  /** The gateway's committed mark after this batch: ack this. */
  readonly committedSeq: number
  readonly stored: readonly StoredReading[]
  /** Readings and events set aside in unmatched_readings (the ingest problems). */
  readonly unmatched: number
  readonly events: number
  /** The batch's events that were stored (the others are among the unmatched). */
  readonly storedEvents: readonly WireEvent[]
}

/** Numeric column and text column of one wire value. */
function columns(v: WireReading['v']): [string | null, string | null] {
  if (v === null) return [null, null]
  if (typeof v === 'boolean') return [v ? '1' : '0', null]
  // String(n) is the shortest round-trip decimal of the double the gateway sent (docs 0009).
  if (typeof v === 'number') return [String(v), null]
  return storesAsNumber(v) ? [v, null] : [null, v]
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** The last instant PostgreSQL reads back from an ISO string: later ones print as "+010000-…". */
const LAST_ISO_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** A set-aside row's time, when it can be stored at all (the reason names the raw value). */
const storableIso = (ms: number): string | null => (ms <= LAST_ISO_MS ? iso(ms) : null)

interface SetAside {
  readonly name: string
  readonly t: number
  readonly v: string | null
  readonly q: Quality
  readonly reason: string
}

function timeProblem(t: number, now: number, limits: CommitLimits): string | undefined {
  if (t > now + limits.maxFutureMs) return `timestamp ${iso(t)} is ahead of the hub clock`
  if (t < now - limits.maxAgeMs) return `timestamp ${iso(t)} is older than the accepted age`
  return undefined
}

interface Placed {
  readonly accepted: StoredReading[]
  readonly unmatched: SetAside[]
}

/**
 * Sorts readings into those stored and those set aside (docs/protocol.md § Values the hub
 * stores). A reading of a known point that is storable but outside the point's plausible range
 * is stored with quality bad and the reason, its value unchanged.
 */
function place(
  gateway: GatewayEntry,
  readings: readonly WireReading[],
  now: number,
  limits: CommitLimits,
): Placed {
  const accepted: StoredReading[] = []
  const unmatched: SetAside[] = []
  for (const wire of readings) {
    const point = gateway.points.get(wire.p)
    let reason: string | undefined
    if (point === undefined) reason = 'unknown point: no such device/point on this gateway'
    else if (point.kind === 'event') reason = 'point is configured as an event point, not a reading'
    else reason = timeProblem(wire.t, now, limits) ?? readingProblem(point, wire)
    if (reason === undefined && point !== undefined) {
      const range = rangeProblem(point, wire.v)
      accepted.push({ point, name: wire.p, wire: range === undefined ? wire : flagged(wire, range) })
    } else
      unmatched.push({
        name: escapeText(wire.p, 200),
        t: wire.t,
        v: wire.v === null ? null : escapeText(String(wire.v)),
        q: wire.q,
        reason: reason ?? 'unknown point',
      })
  }
  return { accepted, unmatched }
}

/** The reading as stored when its value is implausible: bad, with why (and the device's own why). */
function flagged(wire: WireReading, range: string): WireReading {
  const r = wire.r === undefined ? range : `${range}; device: ${wire.r}`
  return { ...wire, q: 'bad', r: r.slice(0, 500) }
}

/** Events stored as sent, and those set aside with the reason (kept as ingest problems). */
function placeEvents(events: readonly WireEvent[], now: number, limits: CommitLimits) {
  const kept: WireEvent[] = []
  const unmatched: SetAside[] = []
  for (const event of events) {
    const problem = timeProblem(event.t, now, limits) ?? eventProblem(event)
    if (problem === undefined) kept.push(event)
    else
      unmatched.push({
        name: escapeText(event.s, 200),
        t: event.t,
        v: eventText(event),
        q: 'bad',
        reason: `event ${event.type}: ${problem}`,
      })
  }
  return { kept, unmatched }
}

/**
 * Commits one batch the way docs/protocol.md § Acknowledgements says: de-duplicates by
 * (gateway, seq), writes readings, latest values, events and leftovers in one transaction
 * with the seq, and moves the committed mark. Rows go in as arrays through `unnest`, one
 * statement per table whatever the batch size (a multi-row VALUES would hit PostgreSQL's
 * 65,535-parameter limit at 5,000 readings × 8 columns).
 */
export async function commitBatch(
  db: Kysely<Database>,
  partitions: ReadingPartitions,
  gateway: GatewayEntry,
  batch: UplinkBatch,
  options: { now?: number; limits?: CommitLimits; inCommit?: InCommitHook } = {},
): Promise<CommitResult> {
  const now = options.now ?? Date.now()
  const limits = options.limits ?? defaultCommitLimits
  const placed = place(gateway, batch.readings, now, limits)
  const events = placeEvents(batch.events, now, limits)
  const accepted = placed.accepted
  const unmatched = [...placed.unmatched, ...events.unmatched]
  // DDL outside the transaction: a partition is needed whether or not this batch commits.
  const months = accepted.map((r) => ({ counter: r.point.kind === 'counter', ts: r.wire.t }))
  await partitions.ensure(months)
  try {
    return await commitPlaced(db, gateway, batch, accepted, events.kept, unmatched, now, options.inCommit)
  } catch (error) {
    // 23514: no partition for a row. Another hub's retention dropped a month this hub still
    // had cached: forget the cache, create what is missing, try once more.
    if ((error as { code?: string }).code !== '23514') throw error
    partitions.forget()
    await partitions.ensure(months)
    return commitPlaced(db, gateway, batch, accepted, events.kept, unmatched, now, options.inCommit)
  }
}

function commitPlaced(
  db: Kysely<Database>,
  gateway: GatewayEntry,
  batch: UplinkBatch,
  accepted: readonly StoredReading[],
  events: readonly WireEvent[],
  unmatched: readonly SetAside[],
  now: number,
  inCommit: InCommitHook | undefined,
): Promise<CommitResult> {
  return db.transaction().execute(async (trx) => {
    const link = await lockLink(trx, gateway.id)
    if (await alreadySeen(trx, gateway.id, batch.seq, link.committedSeq))
      return {
        duplicate: true,
        committedSeq: link.committedSeq,
        stored: [],
        unmatched: 0,
        events: 0,
        storedEvents: [],
      }

    await insertReadings(trx, accepted, batch.historical)
    await upsertLatest(trx, accepted)
    await insertEvents(trx, gateway, batch, events)
    if (unmatched.length > 0) {
      await trx
        .insertInto('unmatchedReadings')
        .values(
          unmatched.map((u) => ({
            gatewayId: gateway.id,
            gatewaySeq: batch.seq,
            name: u.name,
            ts: storableIso(u.t),
            value: u.v,
            quality: u.q,
            reason: u.reason,
          })),
        )
        .execute()
    }
    const committedSeq = await recordSeq(
      trx,
      gateway.id,
      link.committedSeq,
      batch.seq,
      batch.oldest,
      now,
      batch.sentAt,
    )
    await inCommit?.(trx, {
      gateway,
      seq: batch.seq,
      markBefore: link.committedSeq,
      markAfter: committedSeq,
      batch,
      stored: accepted,
      storedEvents: events,
    })
    return {
      duplicate: false,
      committedSeq,
      stored: accepted,
      unmatched: unmatched.length,
      events: events.length,
      storedEvents: events,
    }
  })
}

/**
 * A payload of this gateway that failed validation but names its seq: once it is in the
 * dead-letter table, its seq counts as settled, so the committed mark (and the gateway's
 * outbox) does not wait for it forever. Returns the mark to ack.
 */
export async function settleDeadLetter(
  db: Kysely<Database>,
  gateway: Pick<GatewayEntry, 'id' | 'code' | 'estateId' | 'devices'>,
  seq: number,
  oldest: number,
  options: { now?: number; inCommit?: InCommitHook } = {},
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const link = await lockLink(trx, gateway.id)
    if (await alreadySeen(trx, gateway.id, seq, link.committedSeq)) return link.committedSeq
    const now = options.now ?? Date.now()
    const mark = await recordSeq(
      trx,
      gateway.id,
      link.committedSeq,
      seq,
      Math.min(oldest, seq),
      now,
      undefined,
    )
    await options.inCommit?.(trx, {
      gateway,
      seq,
      markBefore: link.committedSeq,
      markAfter: mark,
      stored: [],
      storedEvents: [],
    })
    return mark
  })
}

/** The gateway's link row, locked: serialises batches of one gateway across hubs. */
async function lockLink(trx: Kysely<Database>, gatewayId: string) {
  await trx
    .insertInto('gatewayLinks')
    .values({ gatewayId })
    .onConflict((oc) => oc.column('gatewayId').doNothing())
    .execute()
  return trx
    .selectFrom('gatewayLinks')
    .select('committedSeq')
    .where('gatewayId', '=', gatewayId)
    .forUpdate()
    .executeTakeFirstOrThrow()
}

async function alreadySeen(
  trx: Kysely<Database>,
  gatewayId: string,
  seq: number,
  mark: number,
): Promise<boolean> {
  if (seq <= mark) return true
  const row = await trx
    .selectFrom('ingestedBatches')
    .select('seq')
    .where('gatewayId', '=', gatewayId)
    .where('seq', '=', seq)
    .executeTakeFirst()
  return row !== undefined
}

/** Records `seq` and moves the committed mark (docs/protocol.md § Ack, steps 2-4). */
async function recordSeq(
  trx: Kysely<Database>,
  gatewayId: string,
  committed: number,
  seq: number,
  oldest: number,
  now: number,
  sentAt: number | undefined,
): Promise<number> {
  await trx.insertInto('ingestedBatches').values({ gatewayId, seq }).execute()
  let mark = Math.max(committed, oldest - 1)
  const above = await trx
    .selectFrom('ingestedBatches')
    .select('seq')
    .where('gatewayId', '=', gatewayId)
    .where('seq', '>', mark)
    .orderBy('seq')
    .limit(10_000)
    .execute()
  for (const row of above) {
    if (row.seq !== mark + 1) break
    mark = row.seq
  }
  await trx
    .deleteFrom('ingestedBatches')
    .where('gatewayId', '=', gatewayId)
    .where('seq', '<=', mark)
    .execute()
  await trx
    .updateTable('gatewayLinks')
    .set({
      committedSeq: mark,
      lastBatchAt: new Date(now),
      ...(sentAt === undefined ? {} : { lastBatchSentAt: new Date(sentAt) }),
      updatedAt: new Date(now),
    })
    .where('gatewayId', '=', gatewayId)
    .execute()
  return mark
}

async function insertReadings(trx: Kysely<Database>, rows: readonly StoredReading[], historical: boolean) {
  if (rows.length === 0) return
  const pointIds: string[] = []
  const ts: string[] = []
  const counter: boolean[] = []
  const value: (string | null)[] = []
  const text: (string | null)[] = []
  const quality: string[] = []
  const reason: (string | null)[] = []
  for (const { point, wire } of rows) {
    const [num, txt] = columns(wire.v)
    pointIds.push(point.id)
    ts.push(iso(wire.t))
    counter.push(point.kind === 'counter')
    value.push(num)
    text.push(txt)
    quality.push(wire.q)
    reason.push(wire.r ?? null)
  }
  // A reading already stored for (point, instant) is a resend through another path: keep the first.
  await sql`insert into readings (point_id, ts, counter, value, value_text, quality, reason, historical)
    select p, t, c, v, x, q, r, ${historical}
    from unnest(${pointIds}::uuid[], ${ts}::timestamptz[], ${counter}::boolean[], ${value}::numeric[],
                ${text}::text[], ${quality}::text[], ${reason}::text[]) as u(p, t, c, v, x, q, r)
    on conflict do nothing`.execute(trx)
}

async function upsertLatest(trx: Kysely<Database>, rows: readonly StoredReading[]) {
  if (rows.length === 0) return
  // One row per point (the newest), since one statement may not update a row twice.
  const newest = new Map<string, StoredReading>()
  const lastGood = new Map<string, number>()
  for (const row of rows) {
    const seen = newest.get(row.point.id)
    if (seen === undefined || row.wire.t >= seen.wire.t) newest.set(row.point.id, row)
    if (row.wire.q === 'good')
      lastGood.set(row.point.id, Math.max(lastGood.get(row.point.id) ?? 0, row.wire.t))
  }
  const pointIds: string[] = []
  const ts: string[] = []
  const value: (string | null)[] = []
  const text: (string | null)[] = []
  const quality: string[] = []
  const reason: (string | null)[] = []
  const good: (string | null)[] = []
  for (const [id, { wire }] of newest) {
    const [num, txt] = columns(wire.v)
    const goodAt = lastGood.get(id)
    pointIds.push(id)
    ts.push(iso(wire.t))
    value.push(num)
    text.push(txt)
    quality.push(wire.q)
    reason.push(wire.r ?? null)
    good.push(goodAt === undefined ? null : iso(goodAt))
  }
  // A replayed (older) reading must not replace a newer latest value, but may move last_good_at.
  await sql`insert into latest_values as l (point_id, ts, value, value_text, quality, reason, last_good_at, received_at)
    select p, t, v, x, q, r, g, now()
    from unnest(${pointIds}::uuid[], ${ts}::timestamptz[], ${value}::numeric[], ${text}::text[],
                ${quality}::text[], ${reason}::text[], ${good}::timestamptz[]) as u(p, t, v, x, q, r, g)
    on conflict (point_id) do update set
      value = case when excluded.ts >= l.ts then excluded.value else l.value end,
      value_text = case when excluded.ts >= l.ts then excluded.value_text else l.value_text end,
      quality = case when excluded.ts >= l.ts then excluded.quality else l.quality end,
      reason = case when excluded.ts >= l.ts then excluded.reason else l.reason end,
      ts = greatest(excluded.ts, l.ts),
      last_good_at = greatest(excluded.last_good_at, l.last_good_at),
      received_at = excluded.received_at`.execute(trx)
}

/** `d.credential` of an access event as the receiver forwards it (`{ kind, ref }`), if well-formed. */
function credentialOf(d: Record<string, unknown>): { kind: string; ref: string } | undefined {
  const c = d.credential
  if (typeof c !== 'object' || c === null) return undefined
  const { kind, ref } = c as { kind?: unknown; ref?: unknown }
  return typeof kind === 'string' && typeof ref === 'string' ? { kind, ref } : undefined
}

/**
 * Stores the batch's events in one statement, each with the customer whose credential it
 * carries when that credential is registered and active in the gateway's estate (one active
 * credential per estate, kind and ref, so the left join adds no rows). One JSON parameter through
 * jsonb_to_recordset, as in billing/receivable-issue.ts: 1,000 events are one round trip.
 */
async function insertEvents(
  trx: Kysely<Database>,
  gateway: GatewayEntry,
  batch: UplinkBatch,
  events: readonly WireEvent[],
) {
  if (events.length === 0) return
  const rows = events.map((event, n) => {
    const credential = credentialOf(event.d)
    return {
      n,
      device_id: gateway.devices.get(event.s.split('/')[0] ?? '') ?? null,
      source: event.s,
      ts: iso(event.t),
      type: event.type,
      data: event.d,
      ck: credential?.kind ?? null,
      cr: credential?.ref ?? null,
    }
  })
  // `order by n` keeps the ids in the order the gateway sent the events.
  await sql`insert into device_events (estate_id, gateway_id, device_id, source, ts, type, data, historical,
      gateway_seq, customer_id)
    select ${gateway.estateId}::uuid, ${gateway.id}::uuid, r.device_id, r.source, r.ts, r.type, r.data,
      ${batch.historical}, ${batch.seq}, c.customer_id
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(n integer, device_id uuid, source text,
      ts timestamptz, type text, data jsonb, ck text, cr text)
    left join customer_credentials c on c.estate_id = ${gateway.estateId}::uuid and c.kind = r.ck and c.ref = r.cr and c.active
    order by r.n`.execute(trx)
}
