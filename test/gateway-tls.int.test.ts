import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:tls'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { Value } from 'typebox/value'
import { afterAll, describe, expect, it } from 'vitest'
import { startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'
import { type GatewayConfig, GatewayConfigSchema } from '../gateway/config/gateway-config.ts'
import { parseBatch } from '../gateway/contract/batch-schema.ts'
import { ALL_BATCHES_FILTER } from '../gateway/contract/topics.ts'
import { startGateway } from '../gateway/runtime/gateway-process.ts'
import { selfSignedCert } from './support/self-signed-cert.ts'

describe('gateway uplink over TLS with its credentials', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it('connects with mqtts://, trusts the configured CA, and logs in as itself', async () => {
    const { dir, key, cert } = selfSignedCert()

    const logins: { clientId: string; username: string | undefined; password: string }[] = []
    const broker = await Aedes.createBroker({
      drainTimeout: 1000,
      authenticate: (client, username, password, done) => {
        logins.push({ clientId: client.id, username, password: password?.toString() ?? '' })
        done(null, true)
      },
    })
    const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, broker.handle)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise((resolve) => server.close(resolve))
    })
    const port = (server.address() as { port: number }).port
    const sim = await startModbusTcpSim({ port: 0, meters: 1 })
    cleanups.push(() => sim.close())

    const hub = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      clientId: 'tls-hub',
      ca: readFileSync(cert),
    })
    cleanups.push(() => hub.endAsync(true))
    await hub.subscribeAsync(ALL_BATCHES_FILTER, { qos: 1 })
    const received = new Promise<string>((resolve) =>
      hub.on('message', (_t, payload) => {
        const parsed = parseBatch(payload)
        if (parsed.ok && parsed.batch.readings.length > 0) resolve(parsed.batch.readings[0]!.p)
      }),
    )

    const config = Value.Default(GatewayConfigSchema, {
      gateway: {
        id: 'gw-tls',
        secret: 'tls-secret-0123456789',
        hubUrl: `mqtts://127.0.0.1:${port}`,
        caFile: cert,
      },
      outbox: { dir: join(dir, 'outbox') },
      http: { port: 0 },
      devices: [
        {
          code: 'm1',
          protocol: 'modbus-tcp',
          connection: { host: '127.0.0.1', port: sim.port, unitId: 1 },
          points: [
            {
              code: 'energy',
              table: 'holding-register',
              register: 0,
              dataType: 'uint32',
              byteOrder: 'ABCD',
              scale: '0.01',
              kind: 'counter',
            },
          ],
        },
      ],
    }) as GatewayConfig
    const gateway = await startGateway(config, () => {})
    cleanups.push(() => gateway.close())

    expect(await received).toBe('m1/energy')
    expect(logins).toContainEqual({
      clientId: 'gw-tls',
      username: 'gw-tls',
      password: 'tls-secret-0123456789',
    })
  })
})
