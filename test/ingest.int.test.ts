import { sql } from 'kysely'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ackTopic,
  batchTopic,
  encodeStatus,
  parseAck,
  statusTopic,
  type UplinkBatch,
} from '../gateway/contract/index.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

const waitUntil = async (what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

let seqBase = Date.now()
function batch(site: Site, overrides: Partial<UplinkBatch> & { seq: number }): UplinkBatch {
  return {
    v: 1,
    gateway: site.gatewayCode,
    session: 'test-session',
    oldest: overrides.seq,
    sentAt: Date.now(),
    historical: false,
    readings: [],
    events: [],
    ...overrides,
  }
}

/** A gateway as the hub sees it: an MQTT client with the gateway's code and secret. */
async function connectGateway(url: string, site: Site, password = site.secret, clientId = site.gatewayCode) {
  const client = await mqtt.connectAsync(url, {
    clientId,
    username: site.gatewayCode,
    password,
    reconnectPeriod: 0,
    protocolVersion: 4,
  })
  const acks: number[] = []
  client.on('message', (topic, payload) => {
    if (topic !== ackTopic(site.gatewayCode)) return
    const parsed = parseAck(payload)
    if (parsed.ok) acks.push(parsed.ack.seq)
  })
  await client.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
  return { client, acks }
}

for (const backend of storeBackends()) {
  describe(`hub ingest over the embedded broker (${backend.name})`, () => {
    let store: Store
    let site: Site
    let other: Site
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    const log = captureLog()
    let gw: { client: MqttClient; acks: number[] }

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, {
        code: 'ING',
        points: [
          { device: 'm1', point: 'energy', kind: 'counter' },
          { device: 'm1', point: 'power', kind: 'gauge' },
          { device: 'door1', point: 'open', kind: 'state' },
        ],
      })
      other = await seedSite(store.db, {
        code: 'OTH',
        points: [{ device: 'm9', point: 'energy', kind: 'counter' }],
      })
      ingest = await startTestIngest(store.db, log)
      gw = await connectGateway(ingest.url, site)
    })
    afterAll(async () => {
      await gw?.client.endAsync()
      await ingest?.close()
      await store?.close()
    })

    const count = async (
      table: 'readings' | 'latestValues' | 'deadLetters' | 'unmatchedReadings' | 'deviceEvents',
    ) =>
      Number(
        (
          await store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )

    it('commits readings, latest values and events, then acks the seq', async () => {
      const t = Date.now() - 60_000
      const seq = ++seqBase
      const b = batch(site, {
        seq,
        readings: [
          { p: 'm1/energy', t, v: 1000.01, q: 'good' },
          { p: 'm1/energy', t: t + 1000, v: '18446744073709551.615', q: 'good' },
          { p: 'm1/power', t, v: 3.5, q: 'uncertain', r: 'CT not calibrated' },
          { p: 'door1/open', t, v: true, q: 'good' },
        ],
        events: [{ s: 'door1/main', t, type: 'forced', d: { door: 'main' } }],
      })
      gw.client.publish(batchTopic(site.gatewayCode), JSON.stringify(b), { qos: 1 })
      await waitUntil('ack', () => gw.acks.includes(seq))
      const rows = await store.db
        .selectFrom('readings')
        .select(['pointId', 'value', 'valueText', 'quality', 'reason', 'counter', 'historical'])
        .orderBy('ts')
        .execute()
      const energy = site.pointIds.get('m1/energy')!
      expect(rows.filter((r) => r.pointId === energy).map((r) => r.value)).toEqual([
        '1000.01',
        '18446744073709551.615',
      ])
      expect(rows.find((r) => r.pointId === site.pointIds.get('m1/power'))).toMatchObject({
        value: '3.5',
        quality: 'uncertain',
        reason: 'CT not calibrated',
        counter: false,
      })
      expect(rows.find((r) => r.pointId === site.pointIds.get('door1/open'))?.value).toBe('1')
      const latest = await store.db
        .selectFrom('latestValues')
        .selectAll()
        .where('pointId', '=', energy)
        .executeTakeFirstOrThrow()
      expect(latest.value).toBe('18446744073709551.615')
      expect(latest.lastGoodAt?.getTime()).toBe(t + 1000)
      const events = await store.db.selectFrom('deviceEvents').selectAll().execute()
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({
        type: 'forced',
        source: 'door1/main',
        deviceId: site.deviceIds.get('door1'),
        data: { door: 'main' },
      })
    })

    it('stores a resent batch once and acks it again', async () => {
      const before = await count('readings')
      const seq = ++seqBase
      const b = batch(site, {
        seq,
        readings: [{ p: 'm1/energy', t: Date.now() - 50_000, v: 1001, q: 'good' }],
      })
      for (let i = 0; i < 3; i++)
        gw.client.publish(batchTopic(site.gatewayCode), JSON.stringify(b), { qos: 1 })
      await waitUntil('three acks', () => gw.acks.filter((a) => a === seq).length === 3)
      expect(await count('readings')).toBe(before + 1)
    })

    it('acks only the contiguous mark when batches arrive out of order', async () => {
      const s1 = ++seqBase
      const s2 = ++seqBase
      const s3 = ++seqBase
      const t = Date.now() - 40_000
      const mk = (seq: number, i: number) =>
        batch(site, { seq, oldest: s1, readings: [{ p: 'm1/energy', t: t + i, v: 2000 + i, q: 'good' }] })
      gw.acks.length = 0
      gw.client.publish(batchTopic(site.gatewayCode), JSON.stringify(mk(s3, 3)), { qos: 1 })
      gw.client.publish(batchTopic(site.gatewayCode), JSON.stringify(mk(s1, 1)), { qos: 1 })
      await waitUntil('two acks', () => gw.acks.length === 2)
      // s3 committed but s2 missing: the mark stays at s1.
      expect(gw.acks).toEqual([s1 - 1, s1])
      gw.client.publish(batchTopic(site.gatewayCode), JSON.stringify(mk(s2, 2)), { qos: 1 })
      await waitUntil('ack over the gap', () => gw.acks.includes(s3))
      const link = await store.db
        .selectFrom('gatewayLinks')
        .selectAll()
        .where('gatewayId', '=', site.gatewayId)
        .executeTakeFirstOrThrow()
      expect(link.committedSeq).toBe(s3)
      // Rows at or below the mark are pruned: the table keeps only gaps.
      expect(
        await store.db
          .selectFrom('ingestedBatches')
          .selectAll()
          .where('gatewayId', '=', site.gatewayId)
          .execute(),
      ).toEqual([])
    })

    it('keeps readings of unknown points and implausible times as unmatched, not dropped', async () => {
      const seq = ++seqBase
      const now = Date.now()
      gw.client.publish(
        batchTopic(site.gatewayCode),
        JSON.stringify(
          batch(site, {
            seq,
            readings: [
              { p: 'm1/nosuch', t: now, v: 1, q: 'good' },
              { p: 'm1/energy', t: now + 86_400_000, v: 5, q: 'good' },
              { p: 'm1/energy', t: now - 1000, v: 2100, q: 'good' },
            ],
          }),
        ),
        { qos: 1 },
      )
      await waitUntil('ack', () => gw.acks.includes(seq))
      const unmatched = await store.db
        .selectFrom('unmatchedReadings')
        .selectAll()
        .where('gatewaySeq', '=', seq)
        .orderBy('id')
        .execute()
      expect(unmatched.map((u) => [u.name, u.value, u.reason])).toEqual([
        ['m1/nosuch', '1', expect.stringMatching(/^unknown point/)],
        ['m1/energy', '5', expect.stringMatching(/ahead of the hub clock/)],
      ])
      expect(
        await ingest.registry.getSingleMetricAsString('estatehub_ingest_unmatched_readings_total'),
      ).toMatch(/ 2$/m)
    })

    it('dead-letters malformed payloads with the reason and bytes, and keeps ingesting', async () => {
      const before = await count('deadLetters')
      const badSeq = seqBase + 1
      const bad = [
        Buffer.from('{"v":1,"gateway":'),
        Buffer.from(
          JSON.stringify({
            ...batch(site, { seq: ++seqBase }),
            readings: [{ p: 'm1/energy', t: 1, v: 1, q: 'excellent' }],
          }),
        ),
        Buffer.from(JSON.stringify(batch(other, { seq: ++seqBase }))), // names another gateway
      ]
      for (const payload of bad) gw.client.publish(batchTopic(site.gatewayCode), payload, { qos: 1 })
      const seq = ++seqBase
      gw.client.publish(
        batchTopic(site.gatewayCode),
        JSON.stringify(
          // oldest = badSeq: the gateway still holds the refused ones; the ack must cross them.
          batch(site, {
            seq,
            oldest: badSeq,
            readings: [{ p: 'm1/energy', t: Date.now(), v: 2200, q: 'good' }],
          }),
        ),
        { qos: 1 },
      )
      await waitUntil('ack after the bad ones', () => gw.acks.includes(seq))
      const letters = await store.db
        .selectFrom('deadLetters')
        .selectAll()
        .orderBy('id')
        .offset(before)
        .execute()
      expect(letters).toHaveLength(3)
      expect(Buffer.from(letters[0]!.payload).toString()).toBe('{"v":1,"gateway":')
      expect(letters[1]!.reason).toMatch(/\/readings\/0\/q/)
      expect(letters[2]!.reason).toMatch(/does not match the topic/)
      const metric = await ingest.registry.getSingleMetric('estatehub_ingest_dead_letters_total')!.get()
      expect(Object.fromEntries(metric.values.map((v) => [v.labels.reason, v.value]))).toEqual({
        invalid: 2,
        gateway_mismatch: 1,
      })
      // The refused batches that named a seq are settled (kept as dead letters): the mark moved
      // past them, so the gateway's outbox does not resend them forever.
      const link = await store.db
        .selectFrom('gatewayLinks')
        .select('committedSeq')
        .where('gatewayId', '=', site.gatewayId)
        .executeTakeFirstOrThrow()
      expect(link.committedSeq).toBe(seq)
      expect(
        letters.every((l) => l.gatewayCode === site.gatewayCode && l.topic === batchTopic(site.gatewayCode)),
      ).toBe(true)
    })

    it('marks replayed batches historical', async () => {
      const seq = ++seqBase
      const t = Date.now() - 30 * 86_400_000
      gw.client.publish(
        batchTopic(site.gatewayCode),
        JSON.stringify(
          batch(site, { seq, historical: true, readings: [{ p: 'm1/power', t, v: 1, q: 'good' }] }),
        ),
        { qos: 1 },
      )
      await waitUntil('ack', () => gw.acks.includes(seq))
      const row = await store.db
        .selectFrom('readings')
        .select('historical')
        .where('ts', '=', new Date(t))
        .executeTakeFirstOrThrow()
      expect(row.historical).toBe(true)
    })

    it('refuses a wrong secret, and a gateway publishing or subscribing under another gateway', async () => {
      const refused = await mqtt
        .connectAsync(ingest.url, {
          clientId: site.gatewayCode,
          username: site.gatewayCode,
          password: 'wrong-secret',
          reconnectPeriod: 0,
        })
        .then(
          (c) => c.endAsync().then(() => 'connected'),
          (error: Error) => error.message,
        )
      expect(refused).toMatch(/Bad username or password/i)

      // Gateway A (site) subscribing to B's acks gets a SUBACK failure.
      await expect(gw.client.subscribeAsync(ackTopic(other.gatewayCode), { qos: 1 })).rejects.toThrow(
        /Subscribe error/,
      )

      // Gateway A publishing a batch under B's prefix: refused, disconnected, nothing stored.
      const spoof = await connectGateway(ingest.url, site, site.secret)
      const closed = new Promise<void>((resolve) => spoof.client.once('close', () => resolve()))
      const before = await count('readings')
      spoof.client.publish(
        batchTopic(other.gatewayCode),
        JSON.stringify(
          batch(other, { seq: ++seqBase, readings: [{ p: 'm9/energy', t: Date.now(), v: 1, q: 'good' }] }),
        ),
        { qos: 1 },
      )
      await closed
      await spoof.client.endAsync(true)
      await ingest.service.idle()
      expect(await count('readings')).toBe(before)
      expect(
        log.lines.some(
          (l) =>
            /publish refused/.test(l.message) &&
            (l.fields as { topic?: string }).topic === batchTopic(other.gatewayCode),
        ),
      ).toBe(true)

      // A client id other than its own code is refused too (no session takeover).
      const takeover = await mqtt
        .connectAsync(ingest.url, {
          clientId: other.gatewayCode,
          username: site.gatewayCode,
          password: site.secret,
          reconnectPeriod: 0,
        })
        .then(
          (c) => c.endAsync().then(() => 'connected'),
          (error: Error) => error.message,
        )
      expect(takeover).toMatch(/Not authorized/i)
      // No secret ever reaches the log.
      expect(JSON.stringify(log.lines)).not.toContain(site.secret)
    })

    it('tracks gateway presence from its status and last will', async () => {
      const presence = await connectGatewayWithWill(ingest.url, other)
      presence.publish(
        statusTopic(other.gatewayCode),
        encodeStatus({ state: 'online', ts: Date.now(), session: 's1' }),
        { qos: 1, retain: true },
      )
      const state = async () =>
        (
          await store.db
            .selectFrom('gatewayLinks')
            .select('status')
            .where('gatewayId', '=', other.gatewayId)
            .executeTakeFirst()
        )?.status
      await waitUntil('online', async () => (await state()) === 'online')
      // Drop the connection without DISCONNECT: the broker publishes the will.
      ;(presence as unknown as { stream: { destroy(): void } }).stream.destroy()
      await waitUntil('offline', async () => (await state()) === 'offline')
    })
  })
}

async function connectGatewayWithWill(url: string, site: Site): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: site.gatewayCode,
    username: site.gatewayCode,
    password: site.secret,
    reconnectPeriod: 0,
    will: {
      topic: statusTopic(site.gatewayCode),
      payload: encodeStatus({ state: 'offline', ts: Date.now(), session: 's1' }),
      qos: 1,
      retain: true,
    },
  })
}

describe('reading partitions', () => {
  it('creates months on demand and drops only gauge months past retention', async () => {
    const backend = storeBackends()[0]!
    const store = await backend.open()
    try {
      const site = await seedSite(store.db, {
        code: 'RET',
        points: [
          { device: 'm1', point: 'energy', kind: 'counter' },
          { device: 'm1', point: 'power', kind: 'gauge' },
        ],
      })
      const { PointDirectory } = await import('../hub/ingest/point-directory.ts')
      const { ReadingPartitions } = await import('../hub/ingest/reading-partitions.ts')
      const { commitBatch } = await import('../hub/ingest/batch-writer.ts')
      const gateway = (await new PointDirectory(store.db).gateway(site.gatewayCode))!
      const partitions = new ReadingPartitions(store.db)
      const jan = Date.parse('2026-01-15T00:00:00Z')
      const mar = Date.parse('2026-03-15T00:00:00Z')
      const readings = [jan, mar].flatMap((t) => [
        { p: 'm1/energy', t, v: 1, q: 'good' as const },
        { p: 'm1/power', t, v: 2, q: 'good' as const },
      ])
      const b = {
        v: 1 as const,
        gateway: site.gatewayCode,
        session: 's',
        seq: 1,
        oldest: 1,
        sentAt: mar,
        historical: true,
        readings,
        events: [],
      }
      await commitBatch(store.db, partitions, gateway, b, { now: mar })
      // Everything before March 1st is past retention: January's gauges go, its counters stay.
      const dropped = await partitions.dropOtherBefore(Date.parse('2026-03-01T00:00:00Z'))
      expect(dropped).toEqual(['readings_other_y2026m01'])
      const left = await store.db
        .selectFrom('readings')
        .select(['counter', 'ts'])
        .orderBy('ts')
        .orderBy('counter')
        .execute()
      expect(left.map((r) => [r.counter, r.ts.toISOString().slice(0, 7)])).toEqual([
        [true, '2026-01'],
        [false, '2026-03'],
        [true, '2026-03'],
      ])
      // A January gauge arriving late recreates its month rather than failing the batch, even
      // through a writer that still believed the month existed (another hub dropped it).
      const stale = new ReadingPartitions(store.db)
      await stale.ensure([{ counter: false, ts: jan }])
      await sql`drop table readings_other_y2026m01`.execute(store.db)
      await commitBatch(
        store.db,
        stale,
        gateway,
        { ...b, seq: 2, oldest: 2, readings: [{ p: 'm1/power', t: jan + 1, v: 3, q: 'good' }] },
        { now: mar },
      )
      expect(
        await store.db.selectFrom('readings').select('value').where('counter', '=', false).execute(),
      ).toHaveLength(2)
    } finally {
      await store.close()
    }
  })
})

describe('ingest problems API', () => {
  it('reports unmatched readings and dead letters of the estate’s gateways only', async () => {
    const { openTestHub } = await import('./support/test-hub.ts')
    const hub = await openTestHub(storeBackends()[0]!)
    try {
      const site = await seedSite(hub.store.db, {
        code: 'PRB',
        points: [{ device: 'm1', point: 'energy', kind: 'counter' }],
      })
      const other = await seedSite(hub.store.db, { code: 'PRO', points: [] })
      const ingest = await startTestIngest(hub.store.db)
      const gw = await connectGateway(ingest.url, site)
      const seq = Date.now()
      gw.client.publish(
        batchTopic(site.gatewayCode),
        JSON.stringify(batch(site, { seq, readings: [{ p: 'm1/nosuch', t: Date.now(), v: 1, q: 'good' }] })),
        { qos: 1 },
      )
      gw.client.publish(batchTopic(site.gatewayCode), Buffer.from('not json'), { qos: 1 })
      await waitUntil('ack', () => gw.acks.includes(seq))
      await ingest.service.idle()
      await gw.client.endAsync()
      await ingest.close()
      const engineer = await hub.userWithGrants('prb-eng', [{ role: 'engineering', nodeId: site.estateId }])
      const mine = await hub.call(engineer, {
        method: 'GET',
        url: `/api/v1/estates/${site.estateId}/ingest-problems`,
      })
      expect(mine.status).toBe(200)
      expect(mine.body.unmatched).toEqual([
        expect.objectContaining({ gatewayCode: site.gatewayCode, name: 'm1/nosuch', count: 1 }),
      ])
      expect(mine.body.deadLetters).toEqual([
        expect.objectContaining({ gatewayCode: site.gatewayCode, payloadBytes: 8 }),
      ])
      expect(
        (
          await hub.call(engineer, {
            method: 'GET',
            url: `/api/v1/estates/${other.estateId}/ingest-problems`,
          })
        ).status,
      ).toBe(404)
    } finally {
      await hub.close()
    }
  })
})
