import fc from 'fast-check'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ackTopic, batchTopic, parseAck, statusTopic } from '../gateway/contract/index.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * The hub's real ingest (embedded broker) fed what a broken or hostile gateway might send,
 * each followed by a good batch: the good one is acked and stored, the bad one ends as a dead
 * letter or an ingest problem (or is refused by the broker), and nothing it carried is stored
 * as a reading. fast-check draws the garbage from a fixed seed, so a run is repeatable.
 */
const SEED = 20_261_207
const POISON = 666.25 // the value every refused batch carries: it must never be stored
const ACK_WITHIN_MS = 15_000 // a bound for a hung ingest, not a timing expectation

type Outcome =
  /** Reaches the ingest and ends in dead_letters. */
  | 'dead-letter'
  /** Reaches the ingest; ends in dead_letters or unmatched_readings. */
  | 'problem'
  /** The broker refuses it (its ACL ends the connection); nothing reaches the ingest. */
  | 'refused'

interface HostileCase {
  readonly name: string
  readonly outcome: Outcome
  /** Topic relative to the site (defaults to its batch topic). */
  topic?(site: Site, other: Site): string
  payload(site: Site, seq: number): Buffer
}

const wireBatch = (site: Site, seq: number, parts: Record<string, unknown> = {}) => ({
  v: 1,
  gateway: site.gatewayCode,
  session: 'hostile',
  seq,
  oldest: seq,
  sentAt: Date.now(),
  historical: false,
  readings: [{ p: 'm1/energy', t: Date.now() - 60_000, v: POISON, q: 'good' }],
  events: [],
  ...parts,
})
const json = (value: unknown) => Buffer.from(JSON.stringify(value))
/** A batch's JSON with one byte sequence spliced into its point code (for invalid UTF-8). */
const withBytesInPoint = (site: Site, seq: number, bytes: number[]) => {
  const [head, tail] = JSON.stringify(
    wireBatch(site, seq, { readings: [{ p: 'm1/XX', t: Date.now(), v: POISON, q: 'good' }] }),
  ).split('XX') as [string, string]
  return Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)])
}

const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 8_192 }), { seed: SEED, numRuns: 4 })
const randomJson = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: SEED, numRuns: 4 })

const cases: HostileCase[] = [
  // Not JSON
  { name: 'truncated JSON', outcome: 'dead-letter', payload: () => Buffer.from('{"v":1,"gateway":') },
  { name: 'empty payload', outcome: 'dead-letter', payload: () => Buffer.alloc(0) },
  {
    name: 'JSON with a raw NUL byte',
    outcome: 'dead-letter',
    payload: (s, q) => Buffer.from(JSON.stringify(wireBatch(s, q)).replace('hostile', 'ho\u0000stile')),
  },
  ...garbage.map((bytes, i) => ({
    name: `binary garbage #${i} (${bytes.length} bytes)`,
    outcome: 'dead-letter' as const,
    payload: () => Buffer.from(bytes),
  })),
  ...randomJson.map((value, i) => ({
    name: `JSON that is no batch #${i}`,
    outcome: 'dead-letter' as const,
    payload: () => json(value),
  })),
  {
    name: 'deeply nested JSON',
    outcome: 'dead-letter',
    payload: () => Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`),
  },
  // NUL and unpaired surrogates inside strings (valid JSON escapes)
  {
    name: 'NUL in a point code',
    outcome: 'problem',
    payload: (s, q) =>
      json(wireBatch(s, q, { readings: [{ p: 'm1/ener\u0000gy', t: Date.now(), v: POISON, q: 'good' }] })),
  },
  {
    name: 'NUL in the session',
    outcome: 'problem',
    payload: (s, q) => json(wireBatch(s, q, { session: 'a\u0000b' })),
  },
  {
    name: 'NUL in an event type and payload',
    outcome: 'problem',
    payload: (s, q) =>
      json(
        wireBatch(s, q, {
          readings: [],
          events: [{ s: 'm1', t: Date.now(), type: 'for\u0000ced', d: { 'k\u0000': 'v\u0000' } }],
        }),
      ),
  },
  {
    name: 'NUL in a reading reason',
    outcome: 'problem',
    payload: (s, q) =>
      json(
        wireBatch(s, q, { readings: [{ p: 'm9/none', t: Date.now(), v: null, q: 'bad', r: 'x\u0000y' }] }),
      ),
  },
  {
    name: 'unpaired surrogate in a point code',
    outcome: 'problem',
    payload: (s, q) =>
      json(wireBatch(s, q, { readings: [{ p: 'm1/\ud800', t: Date.now(), v: POISON, q: 'good' }] })),
  },
  // Invalid UTF-8 inside a string
  {
    name: 'invalid UTF-8 (0xFF) in a point code',
    outcome: 'problem',
    payload: (s, q) => withBytesInPoint(s, q, [0xff, 0xfe]),
  },
  {
    name: 'UTF-8-encoded surrogate in a point code',
    outcome: 'problem',
    payload: (s, q) => withBytesInPoint(s, q, [0xed, 0xa0, 0x80]),
  },
  {
    name: 'overlong UTF-8 NUL in a point code',
    outcome: 'problem',
    payload: (s, q) => withBytesInPoint(s, q, [0xc0, 0x80]),
  },
  // Too big
  {
    name: '20 MB payload',
    outcome: 'dead-letter',
    payload: (s, q) =>
      Buffer.from(JSON.stringify(wireBatch(s, q, { session: 'x'.repeat(20 * 1024 * 1024) }))),
  },
  // Wrong wire versions and shapes
  ...[0, 2, '1', null, 1.5, -1].map((v) => ({
    name: `wire version ${JSON.stringify(v)}`,
    outcome: 'dead-letter' as const,
    payload: (s: Site, q: number) => json(wireBatch(s, q, { v })),
  })),
  {
    name: 'wire version 1e400',
    outcome: 'dead-letter',
    payload: (s, q) => Buffer.from(JSON.stringify(wireBatch(s, q)).replace('"v":1,', '"v":1e400,')),
  },
  {
    name: 'no wire version',
    outcome: 'dead-letter',
    payload: (s, q) => json({ ...wireBatch(s, q), v: undefined }),
  },
  {
    name: 'seq as a huge number',
    outcome: 'dead-letter',
    payload: (s) => Buffer.from(JSON.stringify(wireBatch(s, 1)).replace('"seq":1', '"seq":1e400')),
  },
  {
    name: 'readings not an array',
    outcome: 'dead-letter',
    payload: (s, q) => json(wireBatch(s, q, { readings: { p: 'm1/energy' } })),
  },
  {
    name: 'a value that is an object',
    outcome: 'dead-letter',
    payload: (s, q) =>
      json(wireBatch(s, q, { readings: [{ p: 'm1/energy', t: Date.now(), v: { x: POISON }, q: 'good' }] })),
  },
  // Wrong topics
  {
    name: "another gateway's batch topic",
    outcome: 'refused',
    topic: (_s, o) => batchTopic(o.gatewayCode),
    payload: (s, q) => json(wireBatch(s, q)),
  },
  {
    name: 'its own ack topic',
    outcome: 'refused',
    topic: (s) => ackTopic(s.gatewayCode),
    payload: (s, q) => json(wireBatch(s, q)),
  },
  {
    name: 'a v2 topic',
    outcome: 'refused',
    topic: (s) => `estatehub/v2/gw/${s.gatewayCode}/batch`,
    payload: (s, q) => json(wireBatch(s, q)),
  },
  {
    name: 'a sub-topic of its batch topic',
    outcome: 'refused',
    topic: (s) => `${batchTopic(s.gatewayCode)}/x`,
    payload: (s, q) => json(wireBatch(s, q)),
  },
  {
    name: 'a 60 kB topic',
    outcome: 'refused',
    topic: (s) => `${batchTopic(s.gatewayCode)}/${'x'.repeat(60_000)}`,
    payload: (s, q) => json(wireBatch(s, q)),
  },
  {
    name: 'garbage on its status topic',
    outcome: 'dead-letter',
    topic: (s) => statusTopic(s.gatewayCode),
    payload: () => Buffer.from(garbage[0]!),
  },
]

interface Connection {
  client: MqttClient
  highestAck(): number
  closed: Promise<void>
}

async function connectGateway(url: string, site: Site): Promise<Connection> {
  const client = await mqtt.connectAsync(url, {
    clientId: site.gatewayCode,
    username: site.gatewayCode,
    password: site.secret,
    reconnectPeriod: 0,
  })
  let highest = 0
  client.on('message', (_topic, payload) => {
    const parsed = parseAck(payload)
    if (parsed.ok && parsed.ack.seq > highest) highest = parsed.ack.seq
  })
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  await client.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
  return { client, highestAck: () => highest, closed }
}

for (const backend of storeBackends()) {
  describe(`hostile gateway payloads at the hub's ingest (${backend.name})`, () => {
    let store: Store
    let site: Site
    let other: Site
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    let seq = Date.now()

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, {
        code: 'HOS',
        points: [{ device: 'm1', point: 'energy', kind: 'gauge' }],
      })
      other = await seedSite(store.db, {
        code: 'OTH',
        points: [{ device: 'm9', point: 'energy', kind: 'gauge' }],
      })
      ingest = await startTestIngest(store.db, captureLog())
    })
    afterAll(async () => {
      await ingest?.close()
      await store?.close()
    })

    const problems = async () => {
      const count = async (table: 'deadLetters' | 'unmatchedReadings') =>
        Number(
          (
            await store.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      return { deadLetters: await count('deadLetters'), unmatched: await count('unmatchedReadings') }
    }

    it('acks and stores every good batch after each bad payload; the bad ones are problems, never readings', {
      timeout: 300_000,
    }, async () => {
      const failures: string[] = []
      for (const hostile of cases) {
        const before = await problems()
        let connection = await connectGateway(ingest.url, site)
        const topic = hostile.topic?.(site, other) ?? batchTopic(site.gatewayCode)
        try {
          // Not awaited: a refused publish may never be acknowledged, only disconnected.
          connection.client.publish(topic, hostile.payload(site, ++seq), { qos: 1 }, () => {})
        } catch (error) {
          failures.push(`${hostile.name}: the client would not send it (${(error as Error).message})`)
          continue
        }
        if (hostile.outcome === 'refused') {
          await connection.closed
          connection = await connectGateway(ingest.url, site)
        }
        // The good batch: a reading of its own, acked within a bound and stored.
        const good = ++seq
        const t = Date.now() - 1_000
        connection.client.publish(
          batchTopic(site.gatewayCode),
          json(wireBatch(site, good, { readings: [{ p: 'm1/energy', t, v: good % 1_000_000, q: 'good' }] })),
          { qos: 1 },
        )
        const end = Date.now() + ACK_WITHIN_MS
        while (connection.highestAck() < good && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
        await connection.client.endAsync(true)
        if (connection.highestAck() < good) {
          failures.push(
            `${hostile.name}: the good batch after it was not acked (highest ack ${connection.highestAck()})`,
          )
          continue
        }
        const stored = await store.db
          .selectFrom('readings')
          .select('value')
          .where('pointId', '=', site.pointIds.get('m1/energy')!)
          .where('ts', '=', new Date(t))
          .execute()
        if (stored.length !== 1)
          failures.push(`${hostile.name}: the good batch's reading is stored ${stored.length} times`)
        await ingest.service.idle()
        const after = await problems()
        const letters = after.deadLetters - before.deadLetters
        const unmatched = after.unmatched - before.unmatched
        if (hostile.outcome === 'dead-letter' && letters < 1) failures.push(`${hostile.name}: no dead letter`)
        if (hostile.outcome === 'problem' && letters + unmatched < 1)
          failures.push(`${hostile.name}: neither a dead letter nor an unmatched reading`)
        if (hostile.outcome === 'refused' && letters + unmatched > 0)
          failures.push(
            `${hostile.name}: reached the ingest (${letters} dead letters, ${unmatched} unmatched)`,
          )
      }
      const poisoned = await store.db
        .selectFrom('readings')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('value', '=', String(POISON))
        .executeTakeFirstOrThrow()
      if (Number(poisoned.n) > 0) failures.push(`${poisoned.n} readings of refused batches were stored`)
      if (failures.length > 0) console.log(`[hostile-mqtt ${backend.name}]\n${failures.join('\n')}`)
      expect(failures).toEqual([])
    })
  })
}
