import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import type { Kysely } from 'kysely'
import { Value } from 'typebox/value'
import { startModbusTcpSim } from '../../drivers/sim/modbus-tcp-sim.ts'
import { type GatewayConfig, GatewayConfigSchema } from '../../gateway/config/gateway-config.ts'
import { startGateway } from '../../gateway/runtime/gateway-process.ts'
import type { Database } from '../store/database-schema.ts'
import { DEMO_MODBUS_PORT } from './seed-demo.ts'

export interface DemoEdge {
  readonly gatewayHealthUrl: string
  readonly brokerUrl: string
  readonly meters: number
  close(): Promise<void>
}

/**
 * The demo's site: simulated meters on a Modbus TCP line, the demo gateway polling them as the
 * hub's records describe, and a local MQTT broker it publishes to. The hub's own ingest of
 * those batches comes with the ingest work; until then the gateway's /healthz and /metrics
 * show it running.
 */
export async function startDemoEdge(db: Kysely<Database>, outboxDir: string): Promise<DemoEdge> {
  const rows = await db
    .selectFrom('devices')
    .innerJoin('gateways', 'gateways.id', 'devices.gatewayId')
    .innerJoin('points', 'points.deviceId', 'devices.id')
    .select([
      'devices.code as device',
      'devices.connection',
      'points.code as point',
      'points.address',
      'points.dataType',
      'points.byteOrder',
      'points.scale',
      'points.unit',
      'points.kind',
    ])
    .where('gateways.code', '=', 'demo-gw-1')
    .orderBy('devices.code')
    .execute()
  const devices = new Map<
    string,
    {
      code: string
      protocol: 'modbus-tcp'
      connection: Record<string, unknown>
      points: Record<string, unknown>[]
    }
  >()
  for (const row of rows) {
    const device = devices.get(row.device) ?? {
      code: row.device,
      protocol: 'modbus-tcp',
      connection: row.connection,
      points: [],
    }
    device.points.push({
      code: row.point,
      ...row.address,
      dataType: row.dataType,
      ...(row.byteOrder ? { byteOrder: row.byteOrder } : {}),
      scale: row.scale,
      ...(row.unit ? { unit: row.unit } : {}),
      kind: row.kind,
    })
    devices.set(row.device, device)
  }

  const sim = await startModbusTcpSim({ port: DEMO_MODBUS_PORT, meters: Math.max(devices.size, 1) })
  const broker = await Aedes.createBroker({ drainTimeout: 2_000 })
  const server = createServer(broker.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const brokerUrl = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`
  const config = Value.Default(GatewayConfigSchema, {
    gateway: { id: 'demo-gw-1', secret: randomBytes(18).toString('base64url'), hubUrl: brokerUrl },
    outbox: { dir: outboxDir },
    http: { port: 0 },
    schedule: { counterIntervalMs: 60_000 },
    devices: [...devices.values()],
  }) as GatewayConfig
  const gateway = await startGateway(config, () => {})
  return {
    gatewayHealthUrl: `http://127.0.0.1:${gateway.healthPort}/healthz`,
    brokerUrl,
    meters: devices.size,
    async close() {
      await gateway.close()
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise((resolve) => server.close(resolve))
      await sim.close()
    },
  }
}
