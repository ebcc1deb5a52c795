import type { Kysely } from 'kysely'
import type { Database } from '../store/database-schema.ts'
import { anyUuid } from '../store/sql-arrays.ts'

/** Where a point sits in the estate, as codes: the InfluxDB tags of its readings. */
export interface SeriesTags {
  readonly estate: string
  readonly building?: string
  readonly unit?: string
  readonly meter?: string
  readonly device: string
  readonly point: string
}

/**
 * Point id → tags, cached; misses are loaded in one query per batch. Runs after the commit,
 * off the ingest's path, so a slow lookup delays only the InfluxDB copy.
 */
export class SeriesTagDirectory {
  readonly #db: Kysely<Database>
  readonly #tags = new Map<string, SeriesTags>()

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async tagsFor(pointIds: Iterable<string>): Promise<Map<string, SeriesTags>> {
    const wanted = new Set(pointIds)
    const missing = [...wanted].filter((id) => !this.#tags.has(id))
    if (missing.length > 0) {
      const rows = await this.#db
        .selectFrom('points')
        .innerJoin('devices', 'devices.id', 'points.deviceId')
        .innerJoin('orgNodes', 'orgNodes.id', 'points.estateId')
        .leftJoin('buildings', 'buildings.id', 'devices.buildingId')
        .leftJoin('units', 'units.id', 'devices.unitId')
        .leftJoin('meters', 'meters.pointId', 'points.id')
        .select([
          'points.id as id',
          'points.code as point',
          'devices.code as device',
          'orgNodes.code as estate',
          'buildings.code as building',
          'units.code as unit',
          'meters.code as meter',
        ])
        .where('points.id', '=', anyUuid(missing))
        .execute()
      for (const row of rows) {
        this.#tags.set(row.id, {
          estate: row.estate,
          device: row.device,
          point: row.point,
          ...(row.building === null ? {} : { building: row.building }),
          ...(row.unit === null ? {} : { unit: row.unit }),
          ...(row.meter === null ? {} : { meter: row.meter }),
        })
      }
      if (this.#tags.size > 1_000_000) this.#tags.clear()
    }
    const result = new Map<string, SeriesTags>()
    for (const id of wanted) {
      const tags = this.#tags.get(id)
      if (tags !== undefined) result.set(id, tags)
    }
    return result
  }

  invalidate() {
    this.#tags.clear()
  }
}
