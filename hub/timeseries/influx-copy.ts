import type { CommittedBatch } from '../ingest/ingest-service.ts'
import type { InfluxWriter, SeriesReading } from './influx-writer.ts'
import type { SeriesTagDirectory } from './series-tags.ts'

/**
 * The ingest's after-commit hook that copies a batch's readings to InfluxDB with their place in
 * the estate as tags. Returns at once: the tag lookup and the write happen off the ingest path.
 */
export function influxCopy(
  tags: SeriesTagDirectory,
  writer: Pick<InfluxWriter, 'enqueue'>,
  warn: (message: string) => void,
): (committed: CommittedBatch) => void {
  return ({ stored }) => {
    if (stored.length === 0) return
    void tags
      .tagsFor(stored.map((s) => s.point.id))
      .then((byPoint) => {
        const rows: SeriesReading[] = []
        for (const { point, wire } of stored) {
          const t = byPoint.get(point.id)
          if (t) rows.push({ ...t, at: wire.t, value: wire.v, quality: wire.q })
        }
        writer.enqueue(rows)
      })
      .catch((error: unknown) => warn(`influx: tag lookup failed: ${(error as Error).message}`))
  }
}
