// Issue 13: the embedded broker throttles gateway logins per address like the API's logins (the
// same table), and counts what it refuses as Prometheus counters, with a real MQTT client.
import { sql } from 'kysely'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ackTopic, batchTopic } from '../gateway/contract/index.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

for (const backend of storeBackends()) {
  describe(`embedded broker login throttle (${backend.name})`, () => {
    let store: Store
    let site: Site
    let other: Site
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    const log = captureLog()

    /** The CONNACK's answer: 'connected' or the client's error message. */
    const connect = (password: string, clientId = site.gatewayCode) =>
      mqtt
        .connectAsync(ingest.url, {
          clientId,
          username: site.gatewayCode,
          password,
          reconnectPeriod: 0,
          protocolVersion: 4,
        })
        .then(
          (client) => client.endAsync().then(() => 'connected'),
          (error: Error) => error.message,
        )

    const refusedCount = async (action: string, reason: string) => {
      const metric = await ingest.registry.getSingleMetric('estatehub_mqtt_refused_total')?.get()
      const value = metric?.values.find((v) => v.labels.action === action && v.labels.reason === reason)
      return value?.value ?? 0
    }

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, {
        code: 'THR',
        points: [{ device: 'm1', point: 'energy', kind: 'counter' }],
      })
      other = await seedSite(store.db, { code: 'THO', points: [] })
      ingest = await startTestIngest(store.db, log)
    })
    afterAll(async () => {
      await ingest?.close()
      await store?.close()
    })

    it('delays a gateway code after repeated wrong secrets from one address, even with the right one', async () => {
      // Five free failures (mqtt-gateway-address), the sixth sets a delay.
      for (let i = 0; i < 6; i++)
        expect(await connect(`wrong-secret-${i}`), `attempt ${i + 1}`).toMatch(/Bad username or password/i)
      expect(await refusedCount('connect', 'bad_credentials')).toBe(6)
      const rows = await store.db
        .selectFrom('loginThrottle')
        .select(['kind', 'key', 'failures'])
        .where('kind', 'in', ['mqtt-gateway-address', 'mqtt-address'])
        .orderBy('kind')
        .execute()
      expect(rows).toEqual([
        { kind: 'mqtt-address', key: expect.stringMatching(/127\.0\.0\.1$/), failures: 6 },
        {
          kind: 'mqtt-gateway-address',
          key: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1 ${site.gatewayCode}$`)),
          failures: 6,
        },
      ])
      // Still within the delay (held in the table, so a slow machine cannot outlast the 1 s the
      // sixth failure set): even the right secret is refused, and counted.
      await store.db
        .updateTable('loginThrottle')
        .set({ nextAllowedAt: sql<Date>`now() + interval '1 minute'` })
        .where('kind', '=', 'mqtt-gateway-address')
        .execute()
      expect(await connect(site.secret)).toMatch(/Not authorized/i)
      expect(await refusedCount('connect', 'throttled')).toBe(1)
      expect(log.lines.some((l) => /too many failures/.test(l.message))).toBe(true)

      // Once the delay has run out the right secret connects, and clears the code's count.
      await store.db
        .updateTable('loginThrottle')
        .set({ nextAllowedAt: sql<Date>`now() - interval '1 second'` })
        .where('kind', 'in', ['mqtt-gateway-address', 'mqtt-address'])
        .execute()
      expect(await connect(site.secret)).toBe('connected')
      const left = await store.db
        .selectFrom('loginThrottle')
        .select('kind')
        .where('kind', '=', 'mqtt-gateway-address')
        .execute()
      expect(left).toEqual([])
    })

    it('counts refused client ids, publishes and subscribes', async () => {
      expect(await connect(site.secret, other.gatewayCode)).toMatch(/Not authorized/i)
      expect(await refusedCount('connect', 'client_id')).toBe(1)

      const client = await mqtt.connectAsync(ingest.url, {
        clientId: site.gatewayCode,
        username: site.gatewayCode,
        password: site.secret,
        reconnectPeriod: 0,
        protocolVersion: 4,
      })
      await expect(client.subscribeAsync(ackTopic(other.gatewayCode), { qos: 1 })).rejects.toThrow(
        /Subscribe error/,
      )
      expect(await refusedCount('subscribe', 'acl')).toBe(1)
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
      client.publish(batchTopic(other.gatewayCode), '{}', { qos: 1 })
      await closed
      await client.endAsync(true)
      expect(await refusedCount('publish', 'acl')).toBe(1)
      const exposition = await ingest.registry.metrics()
      expect(exposition).toContain('estatehub_mqtt_refused_total{action="publish",reason="acl"} 1')
    })
  })
}
