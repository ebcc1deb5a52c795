import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { Registry } from 'prom-client'
import { hashPassword } from '../../hub/auth/password.ts'
import type { IngestLog } from '../../hub/ingest/ingest-service.ts'
import { type RunningIngest, startIngest } from '../../hub/ingest/start-ingest.ts'
import { createOrgChain } from '../../hub/org/org-chain.ts'
import type { Database, PointKind } from '../../hub/store/database-schema.ts'

export interface SitePoint {
  readonly device: string
  readonly point: string
  readonly kind: PointKind
}

export interface Site {
  readonly estateId: string
  readonly buildingId: string
  readonly gatewayId: string
  readonly gatewayCode: string
  readonly secret: string
  /** point id by `<device>/<point>` */
  readonly pointIds: Map<string, string>
  readonly deviceIds: Map<string, string>
}

/** Inserts an estate, a building, a gateway with a known secret, and the given devices/points. */
export async function seedSite(
  db: Kysely<Database>,
  options: { code: string; points: readonly SitePoint[]; timezone?: string },
): Promise<Site> {
  const suffix = randomBytes(3).toString('hex')
  const { estateId } = await createOrgChain(db, {
    group: { code: `G-${options.code}-${suffix}` },
    company: { code: `C-${options.code}-${suffix}` },
    estate: { code: `${options.code}-${suffix}`, timezone: options.timezone ?? 'Asia/Shanghai' },
  })
  const building = await db
    .insertInto('buildings')
    .values({ estateId, code: 'B1', name: '1栋', floorsAbove: 6, floorsBelow: 0 })
    .returning('id')
    .executeTakeFirstOrThrow()
  const secret = randomBytes(18).toString('base64url')
  const gatewayCode = `gw-${options.code}-${suffix}`
  const gateway = await db
    .insertInto('gateways')
    .values({
      estateId,
      code: gatewayCode,
      name: gatewayCode,
      secretHash: await hashPassword(secret),
      enabled: true,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  const deviceIds = new Map<string, string>()
  const pointIds = new Map<string, string>()
  for (const p of options.points) {
    let deviceId = deviceIds.get(p.device)
    if (deviceId === undefined) {
      deviceId = (
        await db
          .insertInto('devices')
          .values({
            estateId,
            gatewayId: gateway.id,
            code: p.device,
            name: p.device,
            protocol: 'modbus-tcp',
            connection: { host: '127.0.0.1', port: 502, unitId: 1 },
            buildingId: building.id,
            enabled: true,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
      deviceIds.set(p.device, deviceId)
    }
    const point = await db
      .insertInto('points')
      .values({
        estateId,
        deviceId,
        code: p.point,
        name: p.point,
        address: { table: 'holding-register', register: 0 },
        dataType: 'uint32',
        byteOrder: 'ABCD',
        scale: '0.01',
        kind: p.kind,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    pointIds.set(`${p.device}/${p.point}`, point.id)
  }
  return {
    estateId,
    buildingId: building.id,
    gatewayId: gateway.id,
    gatewayCode,
    secret,
    pointIds,
    deviceIds,
  }
}

export interface CapturedLog extends IngestLog {
  readonly lines: { level: string; fields: object; message: string }[]
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = []
  const push = (level: string) => (fields: object, message: string) =>
    void lines.push({ level, fields, message })
  return { lines, info: push('info'), warn: push('warn'), error: push('error') }
}

/** The hub's ingest on an embedded broker on a free port. */
export async function startTestIngest(
  db: Kysely<Database>,
  log: IngestLog = captureLog(),
  options: {
    port?: number
    onCommitted?: Parameters<typeof startIngest>[0]['onCommitted']
    inCommit?: Parameters<typeof startIngest>[0]['inCommit']
  } = {},
): Promise<RunningIngest & { registry: Registry }> {
  const registry = new Registry()
  const ingest = await startIngest({
    db,
    config: {
      mqtt: {
        mode: 'embedded',
        host: '127.0.0.1',
        port: options.port ?? 0,
        clientId: 'estatehub-hub',
        shareGroup: 'estatehub',
      },
      ingest: { maxFutureMinutes: 10, maxAgeDays: 400 },
    },
    registry,
    log,
    ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}),
    ...(options.inCommit ? { inCommit: options.inCommit } : {}),
  })
  return Object.assign(ingest, { registry })
}
