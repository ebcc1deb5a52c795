import { readFileSync } from 'node:fs'
import mqtt from 'mqtt'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { ackTopic, batchTopic, parseAck } from '../gateway/contract/index.ts'
import { type RunningIngest, startIngest } from '../hub/ingest/start-ingest.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, seedSite } from './support/ingest-fixture.ts'
import { selfSignedCert } from './support/self-signed-cert.ts'
import { storeBackends } from './support/store-backends.ts'

describe('the hub’s embedded broker over TLS', () => {
  let store: Store | undefined
  let ingest: RunningIngest | undefined
  afterAll(async () => {
    await ingest?.close()
    await store?.close()
  })

  it('serves mqtts:// with the configured certificate to gateways that trust it', async () => {
    const { key, cert } = selfSignedCert()
    store = await storeBackends()[0]!.open()
    const site = await seedSite(store.db, {
      code: 'TLS',
      points: [{ device: 'm1', point: 'energy', kind: 'counter' }],
    })
    ingest = await startIngest({
      db: store.db,
      config: {
        mqtt: { mode: 'embedded', host: '127.0.0.1', port: 0, clientId: 'hub', shareGroup: 'estatehub' },
        ingest: { maxFutureMinutes: 10, maxAgeDays: 400 },
      },
      registry: new Registry(),
      log: captureLog(),
      tls: { cert: readFileSync(cert), key: readFileSync(key) },
    })
    expect(ingest.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/)

    // A gateway that does not trust the hub's certificate does not connect.
    await expect(
      mqtt.connectAsync(ingest.url, {
        clientId: site.gatewayCode,
        username: site.gatewayCode,
        password: site.secret,
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/self[- ]signed/i)

    const gateway = await mqtt.connectAsync(ingest.url, {
      clientId: site.gatewayCode,
      username: site.gatewayCode,
      password: site.secret,
      ca: readFileSync(cert),
      reconnectPeriod: 0,
    })
    const acked = new Promise<number>((resolve) =>
      gateway.on('message', (_t, payload) => {
        const parsed = parseAck(payload)
        if (parsed.ok) resolve(parsed.ack.seq)
      }),
    )
    await gateway.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
    const seq = Date.now()
    await gateway.publishAsync(
      batchTopic(site.gatewayCode),
      JSON.stringify({
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq,
        oldest: seq,
        sentAt: seq,
        historical: false,
        readings: [{ p: 'm1/energy', t: seq - 1000, v: 12.5, q: 'good' }],
        events: [],
      }),
      { qos: 1 },
    )
    expect(await acked).toBe(seq)
    await gateway.endAsync()
    const row = await store.db.selectFrom('readings').select('value').executeTakeFirstOrThrow()
    expect(row.value).toBe('12.5')
  })
})
