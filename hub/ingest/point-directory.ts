import type { Kysely } from 'kysely'
import type { Database, PointKind } from '../store/database-schema.ts'

/** What the ingest needs to know about one configured point, by its wire name `<device>/<point>`. */
export interface KnownPoint {
  readonly id: string
  readonly deviceId: string
  readonly kind: PointKind
  /** The plausible range (exact decimals); a reading outside it is stored `bad` with the reason. */
  readonly plausibleMin: string | null
  readonly plausibleMax: string | null
}

export interface GatewayEntry {
  readonly id: string
  readonly code: string
  readonly estateId: string
  readonly enabled: boolean
  readonly secretHash: string
  readonly points: ReadonlyMap<string, KnownPoint>
  readonly devices: ReadonlyMap<string, string>
}

/**
 * The gateways and their points as the hub's records say, cached per gateway. A name the
 * cache does not know triggers one reload (at most every `reloadAfterMissMs`), so a point
 * configured while gateways are running is picked up without a restart.
 */
export class PointDirectory {
  readonly #db: Kysely<Database>
  readonly #entries = new Map<string, { entry: GatewayEntry | undefined; loadedAt: number }>()
  readonly #reloadAfterMissMs: number
  readonly #maxAgeMs: number
  readonly #now: () => number

  constructor(
    db: Kysely<Database>,
    options: { reloadAfterMissMs?: number; maxAgeMs?: number; now?: () => number } = {},
  ) {
    this.#db = db
    this.#reloadAfterMissMs = options.reloadAfterMissMs ?? 5_000
    this.#maxAgeMs = options.maxAgeMs ?? 60_000
    this.#now = options.now ?? Date.now
  }

  /** The gateway by code; undefined when no such gateway is configured. */
  async gateway(code: string): Promise<GatewayEntry | undefined> {
    const cached = this.#entries.get(code)
    if (cached && this.#now() - cached.loadedAt < this.#maxAgeMs) return cached.entry
    return this.#load(code)
  }

  /**
   * The gateway with every name in `names` resolved if the records have it: reloads once when
   * some name is unknown to a cache older than reloadAfterMissMs.
   */
  async gatewayFor(code: string, names: Iterable<string>): Promise<GatewayEntry | undefined> {
    const entry = await this.gateway(code)
    if (entry === undefined) return undefined
    const cached = this.#entries.get(code)
    const stale = cached !== undefined && this.#now() - cached.loadedAt >= this.#reloadAfterMissMs
    if (!stale) return entry
    for (const name of names) if (!entry.points.has(name)) return this.#load(code)
    return entry
  }

  /** Forget a gateway (its secret or points changed). */
  invalidate(code?: string) {
    if (code === undefined) this.#entries.clear()
    else this.#entries.delete(code)
  }

  async #load(code: string): Promise<GatewayEntry | undefined> {
    const gateway = await this.#db
      .selectFrom('gateways')
      .select(['id', 'code', 'estateId', 'enabled', 'secretHash'])
      .where('code', '=', code)
      .executeTakeFirst()
    if (gateway === undefined) {
      this.#entries.set(code, { entry: undefined, loadedAt: this.#now() })
      return undefined
    }
    const rows = await this.#db
      .selectFrom('devices')
      .leftJoin('points', 'points.deviceId', 'devices.id')
      .select([
        'devices.id as deviceId',
        'devices.code as deviceCode',
        'points.id as pointId',
        'points.code as pointCode',
        'points.kind',
        'points.plausibleMin',
        'points.plausibleMax',
      ])
      .where('devices.gatewayId', '=', gateway.id)
      .execute()
    const points = new Map<string, KnownPoint>()
    const devices = new Map<string, string>()
    for (const row of rows) {
      devices.set(row.deviceCode, row.deviceId)
      if (row.pointId !== null && row.pointCode !== null && row.kind !== null)
        points.set(`${row.deviceCode}/${row.pointCode}`, {
          id: row.pointId,
          deviceId: row.deviceId,
          kind: row.kind,
          plausibleMin: row.plausibleMin,
          plausibleMax: row.plausibleMax,
        })
    }
    const entry: GatewayEntry = { ...gateway, points, devices }
    this.#entries.set(code, { entry, loadedAt: this.#now() })
    return entry
  }
}
