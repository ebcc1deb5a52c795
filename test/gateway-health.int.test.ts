/**
 * The running gateway's /healthz lists every configured device of every protocol (Modbus,
 * BACnet, access controllers, disabled ones) with its state, last good read and last error;
 * a BACnet device configured with the wrong instance reads bad, says why once in the log and
 * in /healthz. Real sockets throughout: Modbus TCP and BACnet/IP simulators, an access
 * controller posting over HTTP, an MQTT broker taking the batches.
 * BACnet ports 47960–47962.
 */
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { Value } from 'typebox/value'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccessControllerSim } from '../drivers/sim/access-controller-sim.ts'
import { startBacnetSim } from '../drivers/sim/bacnet-device-sim.ts'
import { startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'
import { type GatewayConfig, GatewayConfigSchema } from '../gateway/config/gateway-config.ts'
import { parseBatch, type UplinkBatch } from '../gateway/contract/batch-schema.ts'
import { ALL_BATCHES_FILTER } from '../gateway/contract/topics.ts'
import type { DeviceStatus } from '../gateway/runtime/device-status.ts'
import { type RunningGateway, startGateway } from '../gateway/runtime/gateway-process.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function freeTcpPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('gateway /healthz', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  const batches: UplinkBatch[] = []
  const log: string[] = []
  let gateway: RunningGateway
  let accessPort = 0
  const token = 'health-test-token-0123456789'

  const health = async () =>
    (await fetch(`http://127.0.0.1:${gateway.healthPort}/healthz`).then((r) => r.json())) as {
      devices: DeviceStatus[]
    }
  const polls = async (device: string) => {
    const text = await fetch(`http://127.0.0.1:${gateway.healthPort}/metrics`).then((r) => r.text())
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`estatehub_gateway_polls_total{device="${device}"}`))
    return line ? Number(line.split(' ')[1]) : 0
  }

  beforeAll(async () => {
    const broker = await Aedes.createBroker({ drainTimeout: 1000 })
    const server = createServer(broker.handle)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise((resolve) => server.close(resolve))
    })
    const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`
    const hub = await mqtt.connectAsync(url, { clientId: 'health-hub' })
    cleanups.push(() => hub.endAsync(true))
    await hub.subscribeAsync(ALL_BATCHES_FILTER, { qos: 1 })
    hub.on('message', (_topic, payload) => {
      const parsed = parseBatch(payload)
      if (parsed.ok) batches.push(parsed.batch)
    })

    const modbus = await startModbusTcpSim({ port: 0, meters: 1 })
    cleanups.push(() => modbus.close())
    const objects = [{ type: 'analog-input' as const, instance: 1, value: 20.5 }]
    for (const [port, deviceInstance] of [
      [47961, 3001],
      [47962, 3002],
    ] as const) {
      const sim = await startBacnetSim({ port, deviceInstance, objects })
      cleanups.push(() => sim.close())
    }
    accessPort = await freeTcpPort()
    const bacnetPoint = { code: 'supply-temp', objectType: 'analog-input', instance: 1, kind: 'gauge' }
    const config = Value.Default(GatewayConfigSchema, {
      gateway: { id: 'gw-health', secret: '0123456789abcdef', hubUrl: url },
      outbox: { dir: join(mkdtempSync(join(tmpdir(), 'estatehub-health-')), 'outbox') },
      http: { port: 0 },
      schedule: { gaugeIntervalMs: 200 },
      bacnet: { port: 47960 },
      access: { host: '127.0.0.1', port: accessPort, controllers: [{ id: 'ctl-1', token, device: 'doors' }] },
      devices: [
        {
          code: 'meter',
          protocol: 'modbus-tcp',
          connection: { host: '127.0.0.1', port: modbus.port, unitId: 1, timeoutMs: 300, retries: 0 },
          points: [
            { code: 'voltage', table: 'input-register', register: 0, dataType: 'float32', kind: 'gauge' },
          ],
        },
        {
          code: 'ahu',
          protocol: 'bacnet-ip',
          connection: { host: '127.0.0.1', port: 47961, deviceInstance: 3001 },
          points: [bacnetPoint],
        },
        {
          // The controller at 47962 is device 3002.
          code: 'ahu-typo',
          protocol: 'bacnet-ip',
          connection: { host: '127.0.0.1', port: 47962, deviceInstance: 3009 },
          points: [bacnetPoint],
        },
        { code: 'doors', protocol: 'access-webhook', connection: { controllerId: 'ctl-1' } },
        {
          code: 'spare',
          protocol: 'modbus-tcp',
          enabled: false,
          connection: { host: '127.0.0.1', port: modbus.port, unitId: 2 },
          points: [{ code: 'v', table: 'input-register', register: 0, dataType: 'float32', kind: 'gauge' }],
        },
      ],
    }) as GatewayConfig
    gateway = await startGateway(config, (line) => log.push(line))
    cleanups.push(() => gateway.close())
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it('lists every device of every protocol with its state, last good read and last error', async () => {
    const before = (await health()).devices
    expect(before.map((d) => [d.code, d.family])).toEqual([
      ['meter', 'modbus'],
      ['ahu', 'bacnet'],
      ['ahu-typo', 'bacnet'],
      ['doors', 'access'],
      ['spare', 'modbus'],
    ])
    expect(before.find((d) => d.code === 'doors')).toMatchObject({ state: 'waiting', lastEventAt: null })
    expect(before.find((d) => d.code === 'spare')).toMatchObject({ state: 'disabled', online: null })

    const controller = createAccessControllerSim({
      url: `http://127.0.0.1:${accessPort}`,
      controllerId: 'ctl-1',
      token,
    })
    await controller.granted('east')
    // Several polls of every device (a state is told once, not per poll).
    for (let i = 0; i < 100 && (await polls('ahu-typo')) < 4; i++) await sleep(50)
    expect(await polls('ahu-typo')).toBeGreaterThanOrEqual(4)

    const byCode = new Map((await health()).devices.map((d) => [d.code, d]))
    expect(byCode.get('meter')).toMatchObject({ state: 'ok', online: true, lastError: null })
    expect(byCode.get('meter')!.lastGoodAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(byCode.get('ahu')).toMatchObject({
      protocol: 'bacnet-ip',
      state: 'ok',
      online: true,
      lastError: null,
    })
    expect(byCode.get('ahu')!.lastGoodAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    const identity =
      'EH_ERR_BACNET_IDENTITY: configured device instance 3009, but the device at 127.0.0.1:47962 is device 3002'
    expect(byCode.get('ahu-typo')).toMatchObject({
      state: 'failed',
      online: false,
      lastGoodAt: null,
      lastError: { reason: identity },
    })
    expect(byCode.get('doors')).toMatchObject({ state: 'ok', family: 'access' })
    expect(byCode.get('doors')!.lastEventAt).toMatch(/^\d{4}-\d\d-\d\dT/)

    // Its readings leave the gateway, none of them good.
    await gateway.pollNow()
    const typoReadings = () =>
      batches.flatMap((b) => b.readings).filter((r) => r.p === 'ahu-typo/supply-temp')
    for (let i = 0; i < 100 && typoReadings().length === 0; i++) await sleep(50)
    const typo = typoReadings()
    expect(typo.length).toBeGreaterThan(0)
    expect(typo.every((r) => r.q === 'bad' && r.v === null)).toBe(true)
    // Told once in the log, whatever the number of polls; the healthy devices not at all.
    expect(log.filter((l) => l.startsWith('device '))).toEqual([
      `device ahu-typo (bacnet-ip): failed: ${identity}`,
    ])
  })
})
