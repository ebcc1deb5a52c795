import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ackTopic, batchTopic, parseAck, type UplinkBatch } from '../gateway/contract/index.ts'
import { type RunningIngest, startIngest } from '../hub/ingest/start-ingest.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * Two hubs consume one gateway's batches from an external broker (Mosquitto) through an MQTT 5
 * shared subscription: each batch is committed once, by one of them, and every seq is acked.
 */
const url = process.env.ESTATEHUB_TEST_MQTT_URL
if (!url && process.env.CI === 'true')
  throw new Error('ESTATEHUB_TEST_MQTT_URL is not set: the external-broker ingest needs Mosquitto in CI')
// Without it, test/support/environment-notice.ts says so once per run.
const backend = storeBackends().at(-1)!

describe.skipIf(!url)(`two hubs sharing an external broker (${backend.name})`, () => {
  let store: Store
  let site: Site
  const hubs: RunningIngest[] = []
  const registries = [new Registry(), new Registry()]
  const group = `eh-test-${randomBytes(4).toString('hex')}`

  beforeAll(async () => {
    store = await backend.open()
    site = await seedSite(store.db, {
      code: 'EXT',
      points: [{ device: 'm1', point: 'energy', kind: 'counter' }],
    })
    for (const n of [1, 2]) {
      hubs.push(
        await startIngest({
          db: store.db,
          config: {
            mqtt: {
              mode: 'external',
              host: '127.0.0.1',
              port: 0,
              url: url!,
              clientId: `${group}-hub${n}`,
              shareGroup: group,
            },
            ingest: { maxFutureMinutes: 10, maxAgeDays: 400 },
          },
          registry: registries[n - 1]!,
          log: captureLog(),
        }),
      )
    }
  })
  afterAll(async () => {
    for (const hub of hubs) await hub.close()
    await store?.close()
  })

  it('commits each batch once and acks every seq', async () => {
    const gateway = await mqtt.connectAsync(url!, { clientId: site.gatewayCode, reconnectPeriod: 0 })
    const acks: number[] = []
    gateway.on('message', (_topic, payload) => {
      const parsed = parseAck(payload)
      if (parsed.ok) acks.push(parsed.ack.seq)
    })
    await gateway.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
    const first = Date.now()
    const t = Date.now() - 60_000
    const count = 40
    for (let i = 0; i < count; i++) {
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: first + i,
        oldest: first,
        sentAt: Date.now(),
        historical: false,
        readings: [{ p: 'm1/energy', t: t + i, v: 100 + i, q: 'good' }],
        events: [{ s: 'm1', t: t + i, type: 'state_change', d: { i } }],
      }
      await gateway.publishAsync(batchTopic(site.gatewayCode), JSON.stringify(batch), { qos: 1 })
    }
    const end = Date.now() + 15_000
    while (!acks.includes(first + count - 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    await gateway.endAsync()
    expect(Math.max(...acks)).toBe(first + count - 1)
    for (const hub of hubs) await hub.service.idle()
    const readings = await store.db.selectFrom('readings').select('value').execute()
    expect(readings).toHaveLength(count)
    // Events have no natural key: a batch committed by both hubs would show twice.
    expect(await store.db.selectFrom('deviceEvents').select('id').execute()).toHaveLength(count)
    // The broker split the load: both hubs committed some of the batches.
    for (const registry of registries) {
      const metric = await registry.getSingleMetric('estatehub_ingest_batches_total')!.get()
      const committed = metric.values.find((v) => v.labels.result === 'committed')?.value ?? 0
      expect(committed).toBeGreaterThan(0)
    }
  })
})
