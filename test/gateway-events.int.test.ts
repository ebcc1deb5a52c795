import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { Value } from 'typebox/value'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBacnetSim } from '../drivers/sim/bacnet-device-sim.ts'
import { startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'
import { type GatewayConfig, GatewayConfigSchema } from '../gateway/config/gateway-config.ts'
import { parseBatch, type UplinkBatch } from '../gateway/contract/batch-schema.ts'
import { ALL_BATCHES_FILTER } from '../gateway/contract/topics.ts'
import { startGateway } from '../gateway/runtime/gateway-process.ts'

describe('state points raise events when they change', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  let url = ''
  /** Every batch a stand-in hub received, from every gateway of this file. */
  const batches: UplinkBatch[] = []
  beforeAll(async () => {
    const broker = await Aedes.createBroker({ drainTimeout: 1000 })
    const server = createServer(broker.handle)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise((resolve) => server.close(resolve))
    })
    url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`
    const hub = await mqtt.connectAsync(url, { clientId: 'events-hub' })
    cleanups.push(() => hub.endAsync(true))
    await hub.subscribeAsync(ALL_BATCHES_FILTER, { qos: 1 })
    hub.on('message', (_topic, payload) => {
      const parsed = parseBatch(payload)
      if (parsed.ok) batches.push(parsed.batch)
    })
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })
  const readingsOf = (gateway: string, point: string) =>
    batches.filter((b) => b.gateway === gateway).flatMap((b) => b.readings.filter((r) => r.p === point))
  /** Waits for what the stand-in hub received, not for a span of wall-clock time. */
  const until = async (what: string, ok: () => boolean, timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('a coil configured as a tamper contact raises one event per change, not per poll', async () => {
    const sim = await startModbusTcpSim({ port: 0, meters: 1 })
    cleanups.push(() => sim.close())

    const config = Value.Default(GatewayConfigSchema, {
      gateway: { id: 'gw-events', secret: '0123456789abcdef', hubUrl: url },
      outbox: { dir: join(mkdtempSync(join(tmpdir(), 'estatehub-events-')), 'outbox') },
      http: { port: 0 },
      schedule: { stateIntervalMs: 150 },
      devices: [
        {
          code: 'cabinet',
          protocol: 'modbus-tcp',
          connection: { host: '127.0.0.1', port: sim.port, unitId: 1 },
          points: [
            {
              code: 'door',
              table: 'coil',
              register: 0,
              dataType: 'bool',
              kind: 'state',
              event: { type: 'tamper' },
            },
          ],
        },
      ],
    }) as GatewayConfig
    const gateway = await startGateway(config, () => {})
    cleanups.push(() => gateway.close())

    // Each step waits for polls the hub received, so a slow poll on a busy machine is no failure.
    const door = () => readingsOf('gw-events', 'cabinet/door')
    await until('several polls, state unchanged', () => door().filter((r) => r.v === false).length >= 3)
    sim.meter(1).writeCoils(0, [true])
    await until('the open door polled twice', () => door().filter((r) => r.v === true).length >= 2)
    const beforeClose = door().length
    sim.meter(1).writeCoils(0, [false])
    await until(
      'the closed door polled twice',
      () =>
        door()
          .slice(beforeClose)
          .filter((r) => r.v === false).length >= 2,
    )

    const events = batches.filter((b) => b.gateway === 'gw-events').flatMap((b) => b.events)
    expect(events.map((e) => [e.s, e.type, e.d.to])).toEqual([
      ['cabinet/door', 'tamper', true],
      ['cabinet/door', 'tamper', false],
    ])
  })

  it('a BACnet point with cov: true reports its changes without being polled', async () => {
    const ahu = await startBacnetSim({
      port: 47981,
      deviceInstance: 2001,
      objects: [{ type: 'analog-input', instance: 1, value: 20 }],
    })
    cleanups.push(() => ahu.close())

    const config = Value.Default(GatewayConfigSchema, {
      gateway: { id: 'gw-cov', secret: '0123456789abcdef', hubUrl: url },
      outbox: { dir: join(mkdtempSync(join(tmpdir(), 'estatehub-cov-')), 'outbox') },
      http: { port: 0 },
      bacnet: { port: 47980 },
      devices: [
        {
          code: 'ahu',
          protocol: 'bacnet-ip',
          connection: { host: '127.0.0.1', port: 47981, deviceInstance: 2001 },
          points: [
            { code: 'supply-temp', objectType: 'analog-input', instance: 1, kind: 'gauge', cov: true },
          ],
        },
      ],
    }) as GatewayConfig
    const gateway = await startGateway(config, () => {})
    cleanups.push(() => gateway.close())
    const supply = () => readingsOf('gw-cov', 'ahu/supply-temp').map((r) => r.v)
    await until('the subscription reported the first value', () => supply().includes(20))
    ahu.setValue('analog-input', 1, 23.5)
    await until('the change reported', () => supply().includes(23.5))
    const values = supply()
    expect(values).toContain(20)
    expect(values).toContain(23.5)
  })
})
