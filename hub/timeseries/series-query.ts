import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database, Quality } from '../store/database-schema.ts'

/** Bucket widths the series API offers; `raw` is the readings themselves. */
export const buckets = ['raw', '15m', '1h', '1d'] as const
export type Bucket = (typeof buckets)[number]

/** A raw listing stops here; one row more means "too many, use a bucket". */
export const RAW_LIMIT = 10_000
/** Longest `to - from` a bucketed series may span. */
export const MAX_BUCKET_SPAN_DAYS = 400

export interface RawReading {
  readonly ts: string
  readonly value: string | null
  readonly text: string | null
  readonly quality: Quality
  readonly historical: boolean
}

export interface SeriesBucket {
  /** Start of the bucket (ISO 8601 UTC). */
  readonly start: string
  readonly first: string | null
  readonly last: string | null
  readonly min: string | null
  readonly max: string | null
  /** Rounded to 6 decimal places, trailing zeros dropped. */
  readonly avg: string | null
  readonly count: number
  /** Counters only: the counter's advance in this bucket (null when empty or reset). */
  readonly consumption?: string | null
  /** Counters only, when the counter went backwards (meter replaced, register rolled over). */
  readonly note?: 'reset'
}

export interface RangeQuery {
  readonly pointId: string
  /** Inclusive. */
  readonly from: Date
  /** Exclusive. */
  readonly to: Date
}

// Readings of a point sit in the counter or the other partition, as the point's kind was when
// they were stored; asking for both keeps them all visible if a point's kind was changed, and
// still lets the (point_id, counter, ts) index serve a tight range in each partition.
const anyClass = [true, false]

/**
 * The readings of one point in [from, to), oldest first, every quality. Returns at most
 * RAW_LIMIT + 1 rows: the caller refuses the request when it gets more than RAW_LIMIT.
 */
export async function rawReadings(db: Kysely<Database>, query: RangeQuery): Promise<RawReading[]> {
  const rows = await db
    .selectFrom('readings')
    .select(['ts', 'value', 'valueText', 'quality', 'historical'])
    .where('pointId', '=', query.pointId)
    .where('counter', 'in', anyClass) // bounded: two classes
    .where('ts', '>=', query.from)
    .where('ts', '<', query.to)
    .orderBy('ts')
    .limit(RAW_LIMIT + 1)
    .execute()
  return rows.map((r) => ({
    ts: r.ts.toISOString(),
    value: r.value,
    text: r.valueText,
    quality: r.quality,
    historical: r.historical,
  }))
}

const widths: Record<Exclude<Bucket, 'raw' | '1d'>, string> = { '15m': '15 minutes', '1h': '1 hour' }

/**
 * Where a reading's bucket starts. 15m and 1h: fixed widths aligned to the Unix epoch
 * (`date_bin`, PostgreSQL 14+). 1d: local midnight in `tz`, so a day is 23 or 25 hours
 * across a daylight-saving change.
 */
function bucketStart(bucket: Exclude<Bucket, 'raw'>, tz: string, ts: RawBuilder<unknown>) {
  if (bucket === '1d') return sql`(date_trunc('day', ${ts} at time zone ${tz}) at time zone ${tz})`
  return sql`date_bin(${widths[bucket]}::interval, ${ts}, timestamptz '1970-01-01 00:00:00+00')`
}

/** Every bucket start from the one holding `from` up to (not including) `to`. */
function bucketSeries(bucket: Exclude<Bucket, 'raw'>, tz: string, from: string, to: string) {
  if (bucket === '1d') {
    // Walk local calendar days, then turn each local midnight back into an instant.
    return sql`select generate_series(
        date_trunc('day', ${from}::timestamptz at time zone ${tz}),
        ${to}::timestamptz at time zone ${tz},
        interval '1 day') at time zone ${tz} as start`
  }
  const width = widths[bucket]
  return sql`select generate_series(
      date_bin(${width}::interval, ${from}::timestamptz, timestamptz '1970-01-01 00:00:00+00'),
      ${to}::timestamptz,
      ${width}::interval) as start`
}

interface BucketRow {
  start: Date
  first: string | null
  last: string | null
  min: string | null
  max: string | null
  avg: string | null
  count: number
  consumption: string | null
  reset: boolean | null
}

/**
 * Aggregates of the good and uncertain numeric readings of one point per bucket, every
 * bucket of the range included (empty ones with count 0 and nulls). All aggregates are
 * computed in `numeric`, so they come back as exact decimal strings.
 *
 * For counters, `consumption` is the bucket's last reading minus the last reading of the
 * previous non-empty bucket in the range (the first non-empty bucket: its last minus its
 * first). The advance over a gap is thus booked to the bucket after it, and the consumptions
 * add up to the counter's total advance. A negative advance (a replaced meter, a register
 * that rolled over) gives `consumption: null, note: 'reset'`; the reads of
 * hub/metering handle replacements properly, this is a chart.
 */
export async function bucketedSeries(
  db: Kysely<Database>,
  query: RangeQuery & { bucket: Exclude<Bucket, 'raw'>; tz: string; counter: boolean },
): Promise<SeriesBucket[]> {
  const from = query.from.toISOString()
  const to = query.to.toISOString()
  const start = bucketStart(query.bucket, query.tz, sql`ts`)
  const result = await sql<BucketRow>`
    with r as (
      select ts, value, ${start} as start
      from readings
      where point_id = ${query.pointId} and counter in (true, false)
        and ts >= ${from}::timestamptz and ts < ${to}::timestamptz
        and quality <> 'bad' and value is not null
    ),
    b as (
      select start,
        (array_agg(value order by ts))[1] as first,
        (array_agg(value order by ts desc))[1] as last,
        min(value) as min,
        max(value) as max,
        trim_scale(round(avg(value), 6)) as avg,
        count(*)::integer as count
      from r
      group by start
    ),
    c as (
      select b.*, last - coalesce(lag(last) over (order by start), first) as advance
      from b
    ),
    s as (${bucketSeries(query.bucket, query.tz, from, to)})
    select s.start, c.first, c.last, c.min, c.max, c.avg, coalesce(c.count, 0) as count,
      case when c.advance >= 0 then c.advance end as consumption,
      c.advance < 0 as reset
    from s left join c on c.start = s.start
    where s.start < ${to}::timestamptz
    order by s.start`.execute(db)
  return result.rows.map((row) => {
    const bucket: SeriesBucket = {
      start: new Date(row.start).toISOString(),
      first: row.first,
      last: row.last,
      min: row.min,
      max: row.max,
      avg: row.avg,
      count: Number(row.count),
    }
    if (!query.counter) return bucket
    return row.reset
      ? { ...bucket, consumption: null, note: 'reset' }
      : { ...bucket, consumption: row.consumption }
  })
}
