import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ackTopic, batchTopic, parseAck, type UplinkBatch } from '../gateway/contract/index.ts'
import type { Store } from '../hub/store/open-store.ts'
import { captureLog, type Site, seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'

// Issue 13, item 2: nothing a gateway sends stops its ingest. A reading or event that cannot be
// stored is set aside as an ingest problem and the rest of its batch commits and is acked; a
// payload that is not a batch is a dead letter with its raw bytes; values that would be stored
// rounded or make no sense for their point are refused, never rounded.

const NUL = String.fromCharCode(0)
const LONE = String.fromCharCode(0xd800)

const waitUntil = async (what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

let seqBase = Date.now()

interface Gateway {
  readonly client: MqttClient
  readonly acks: number[]
  /** Publishes raw bytes on the gateway's batch topic. */
  publish(payload: string | Buffer): void
  /** A well-formed batch with the next seq; resolves with that seq once it is acked. */
  send(parts: Partial<UplinkBatch>, encode?: (json: string) => string): Promise<number>
}

async function connectGateway(url: string, site: Site): Promise<Gateway> {
  const client = await mqtt.connectAsync(url, {
    clientId: site.gatewayCode,
    username: site.gatewayCode,
    password: site.secret,
    reconnectPeriod: 0,
  })
  const acks: number[] = []
  client.on('message', (_topic, payload) => {
    const parsed = parseAck(payload)
    if (parsed.ok) acks.push(parsed.ack.seq)
  })
  await client.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
  const publish = (payload: string | Buffer) =>
    client.publish(batchTopic(site.gatewayCode), payload, { qos: 1 })
  return {
    client,
    acks,
    publish,
    async send(parts, encode = (json) => json) {
      const seq = ++seqBase
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 'poison',
        seq,
        oldest: seq,
        sentAt: Date.now(),
        historical: false,
        readings: [],
        events: [],
        ...parts,
      }
      publish(encode(JSON.stringify(batch)))
      // Acks are cumulative: a later ack covers this seq too.
      await waitUntil(`ack of ${seq}`, () => acks.some((a) => a >= seq))
      return seq
    },
  }
}

for (const backend of storeBackends()) {
  describe(`ingest poison isolation (${backend.name})`, () => {
    let store: Store
    let site: Site
    let ingest: Awaited<ReturnType<typeof startTestIngest>>
    let gw: Gateway

    beforeAll(async () => {
      store = await backend.open()
      site = await seedSite(store.db, {
        code: 'PSN',
        points: [
          { device: 'm1', point: 'energy', kind: 'counter' },
          { device: 'm1', point: 'temp', kind: 'gauge' },
          { device: 'm1', point: 'label', kind: 'state' },
        ],
      })
      await store.db
        .updateTable('points')
        .set({ plausibleMin: '-40', plausibleMax: '120.5' })
        .where('id', '=', site.pointIds.get('m1/temp')!)
        .execute()
      ingest = await startTestIngest(store.db, captureLog())
      gw = await connectGateway(ingest.url, site)
    })
    afterAll(async () => {
      await gw?.client.endAsync()
      await ingest?.close()
      await store?.close()
    })

    const readingsOf = (name: string) =>
      store.db
        .selectFrom('readings')
        .select(['value', 'valueText', 'quality', 'reason'])
        .where('pointId', '=', site.pointIds.get(name)!)
        .orderBy('ts')
        .execute()
    const problemsOf = (seq: number) =>
      store.db
        .selectFrom('unmatchedReadings')
        .select(['name', 'value', 'quality', 'reason'])
        .where('gatewaySeq', '=', seq)
        .orderBy('id')
        .execute()

    it('sets aside a reading or event with NUL or a lone surrogate, commits the rest and acks', async () => {
      const t = Date.now() - 60_000
      const seq = await gw.send({
        readings: [
          { p: 'm1/energy', t, v: 1000.5, q: 'good' },
          { p: 'm1/label', t, v: `AB${NUL}CDE`, q: 'good' },
          { p: `m1/x${LONE}`, t, v: 1, q: 'good' },
          { p: 'm1/label', t: t + 1, v: 'ok', q: 'uncertain', r: `why${NUL}` },
          { p: 'm1/temp', t, v: 21.5, q: 'good' },
        ],
        events: [
          { s: 'm1', t, type: 'state_change', d: { note: `x${NUL}y` } },
          { s: 'm1', t, type: 'state_change', d: { [`k${NUL}`]: 1 } },
          { s: 'm1', t, type: 'state_change', d: { deep: { er: LONE } } },
          { s: `m1${NUL}`, t, type: 'alarm', d: {} },
          { s: 'm1', t, type: 'state_change', d: { fine: 'yes' } },
        ],
      })
      expect(await readingsOf('m1/energy')).toEqual([
        { value: '1000.5', valueText: null, quality: 'good', reason: null },
      ])
      expect(await readingsOf('m1/temp')).toHaveLength(1)
      expect(await readingsOf('m1/label')).toEqual([])
      const events = await store.db
        .selectFrom('deviceEvents')
        .select(['source', 'data'])
        .where('gatewaySeq', '=', seq)
        .execute()
      expect(events).toEqual([{ source: 'm1', data: { fine: 'yes' } }])
      const problems = await problemsOf(seq)
      expect(problems).toEqual([
        {
          name: 'm1/label',
          value: 'AB\\u0000CDE',
          quality: 'good',
          reason: expect.stringMatching(/^the value holds a NUL character/),
        },
        { name: 'm1/x\\uD800', value: '1', quality: 'good', reason: expect.stringMatching(/^unknown point/) },
        {
          name: 'm1/label',
          value: 'ok',
          quality: 'uncertain',
          reason: expect.stringMatching(/^the reason holds a NUL/),
        },
        {
          name: 'm1',
          value: 'state_change {"note":"x\\u0000y"}',
          quality: 'bad',
          reason: expect.stringMatching(/^event state_change: the data at \/d\/note holds a NUL/),
        },
        {
          name: 'm1',
          value: 'state_change {"k\\u0000":1}',
          quality: 'bad',
          reason: expect.stringMatching(/^event state_change: a key in the data at \/d holds a NUL/),
        },
        {
          name: 'm1',
          value: 'state_change {"deep":{"er":"\\ud800"}}',
          quality: 'bad',
          reason: expect.stringMatching(/\/d\/deep\/er holds an unpaired UTF-16 surrogate/),
        },
        {
          name: 'm1\\u0000',
          value: 'alarm {}',
          quality: 'bad',
          reason: expect.stringMatching(/^event alarm: the source holds a NUL/),
        },
      ])
      // The gateway's next batch goes through as usual.
      const next = await gw.send({ readings: [{ p: 'm1/energy', t: t + 1000, v: 1001, q: 'good' }] })
      expect(gw.acks).toContain(next)
      expect((await readingsOf('m1/energy')).map((r) => r.value)).toEqual(['1000.5', '1001'])
      expect(
        await ingest.registry.getSingleMetricAsString('estatehub_ingest_unmatched_readings_total'),
      ).toMatch(/ 7$/m)
    })

    it('keeps each payload that is not a batch as a dead letter with its raw bytes, and acks the next batch', async () => {
      const stray = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: 1,
        oldest: 1,
        sentAt: 0,
        historical: false,
        readings: [],
        events: [],
      }
      const bad: [string, Buffer, RegExp][] = [
        ['binary garbage', Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x02, 0x00, 0x80, 0x7b]), /not UTF-8/],
        ['binary garbage that is UTF-8', Buffer.from([0x00, 0x01, 0x02, 0x00, 0x7b]), /not JSON/],
        ['invalid JSON', Buffer.from('{"v":1,"readings":[1,'), /not JSON/],
        [
          'invalid UTF-8 inside a JSON string',
          Buffer.concat([Buffer.from('{"v":1,"gateway":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
          /not UTF-8/,
        ],
        ['a wrong version', Buffer.from(JSON.stringify({ ...stray, v: 2 })), /unsupported version 2/],
      ]
      for (const [what, payload, reason] of bad) {
        const before = await store.db
          .selectFrom('deadLetters')
          .select('id')
          .orderBy('id', 'desc')
          .limit(1)
          .execute()
        gw.publish(payload)
        const seq = await gw.send({ readings: [{ p: 'm1/energy', t: Date.now(), v: 1002, q: 'good' }] })
        expect(gw.acks, what).toContain(seq)
        const letters = await store.db
          .selectFrom('deadLetters')
          .selectAll()
          .where('id', '>', before[0]?.id ?? 0)
          .execute()
        expect(letters, what).toHaveLength(1)
        const letter = letters[0]!
        expect(Buffer.from(letter.payload).equals(payload), what).toBe(true)
        expect(letter.payloadBytes, what).toBe(payload.length)
        expect(letter.reason, what).toMatch(reason)
        expect(letter.gatewayCode, what).toBe(site.gatewayCode)
      }
      const metric = await ingest.registry.getSingleMetric('estatehub_ingest_dead_letters_total')!.get()
      expect(metric.values.find((v) => v.labels.reason === 'invalid')?.value).toBe(bad.length)
    })

    it('refuses numbers that are not exact and values that do not fit the point kind, never rounding', async () => {
      const t = Date.now() - 30_000
      const BIG = '123456789012345678901234567890123456789'
      const seq = await gw.send(
        {
          readings: [
            { p: 'm1/energy', t, v: 1e300, q: 'good' },
            { p: 'm1/energy', t: t + 1, v: 0, q: 'good' }, // becomes the 39-digit literal below
            { p: 'm1/energy', t: t + 2, v: true, q: 'good' },
            { p: 'm1/energy', t: t + 3, v: 'twelve', q: 'good' },
            { p: 'm1/energy', t: t + 4, v: `1${'0'.repeat(25)}`, q: 'good' },
            { p: 'm1/energy', t: t + 5, v: '18446744073709551.615', q: 'good' },
            { p: 'm1/temp', t, v: false, q: 'good' },
            { p: 'm1/label', t: t + 10, v: true, q: 'good' },
            { p: 'm1/label', t: t + 11, v: '0012345678901234567890123', q: 'good' }, // a serial number
          ],
        },
        // A 39-digit integer as the gateway wrote it: JSON.stringify cannot write one.
        (json) => json.replace(`"t":${t + 1},"v":0`, `"t":${t + 1},"v":${BIG}`),
      )
      const problems = await problemsOf(seq)
      expect(problems.map((p) => [p.name, p.value, p.reason])).toEqual([
        ['m1/energy', '1e+300', expect.stringMatching(/beyond ±\(2\^53 − 1\).*decimal strings/)],
        ['m1/energy', '1.2345678901234568e+38', expect.stringMatching(/beyond ±\(2\^53 − 1\)/)],
        ['m1/energy', 'true', 'a counter point takes a number or a decimal string, got true'],
        ['m1/energy', 'twelve', expect.stringMatching(/counter point takes .* got the text "twelve"/)],
        ['m1/energy', `1${'0'.repeat(25)}`, expect.stringMatching(/26 integer and 0 decimal digits/)],
        ['m1/temp', 'false', 'a gauge point takes a number or a decimal string, got false'],
      ])
      // What was stored is exact: the uint64-sized decimal as sent, the state's boolean as 1,
      // and a digit string too long to be a reading's decimal kept as the state's text.
      const energy = await store.db
        .selectFrom('readings')
        .select(['value', 'quality'])
        .where('pointId', '=', site.pointIds.get('m1/energy')!)
        .where('ts', '>=', new Date(t))
        .where('ts', '<', new Date(t + 10))
        .execute()
      expect(energy).toEqual([{ value: '18446744073709551.615', quality: 'good' }])
      expect((await readingsOf('m1/label')).map((r) => [r.value, r.valueText])).toEqual([
        ['1', null],
        [null, '0012345678901234567890123'],
      ])
    })

    it('stores a value outside the point’s plausible range as bad with the reason, unchanged', async () => {
      const t = Date.now() - 20_000
      await gw.send({
        readings: [
          { p: 'm1/temp', t, v: 500, q: 'good' },
          { p: 'm1/temp', t: t + 1, v: -40.000001, q: 'good', r: 'sensor says so' },
          { p: 'm1/temp', t: t + 2, v: '120.5', q: 'good' },
          { p: 'm1/temp', t: t + 3, v: 0.0000001, q: 'good' },
        ],
      })
      const rows = await store.db
        .selectFrom('readings')
        .select(['value', 'quality', 'reason'])
        .where('pointId', '=', site.pointIds.get('m1/temp')!)
        .where('ts', '>=', new Date(t))
        .orderBy('ts')
        .execute()
      expect(rows).toEqual([
        { value: '500', quality: 'bad', reason: "value 500 is above the point's plausible maximum 120.5" },
        {
          value: '-40.000001',
          quality: 'bad',
          reason: "value -40.000001 is below the point's plausible minimum -40; device: sensor says so",
        },
        { value: '120.5', quality: 'good', reason: null },
        { value: '0.0000001', quality: 'good', reason: null },
      ])
      const latest = await store.db
        .selectFrom('latestValues')
        .select(['value', 'quality'])
        .where('pointId', '=', site.pointIds.get('m1/temp')!)
        .executeTakeFirstOrThrow()
      expect(latest).toEqual({ value: '0.0000001', quality: 'good' })
    })
  })
}

describe('ingest problems and plausible ranges through the API', () => {
  it('lists a set-aside NUL reading, and takes a point’s plausible range (min below max)', async () => {
    const { openTestHub } = await import('./support/test-hub.ts')
    const hub = await openTestHub(storeBackends()[0]!)
    try {
      const site = await seedSite(hub.store.db, {
        code: 'PSA',
        points: [{ device: 'm1', point: 'label', kind: 'state' }],
      })
      const engineer = await hub.userWithGrants('psa-eng', [{ role: 'engineering', nodeId: site.estateId }])
      const pointId = site.pointIds.get('m1/label')!
      const patch = (payload: object) =>
        hub.call(engineer, { method: 'PATCH', url: `/api/v1/points/${pointId}`, payload })

      const set = await patch({ plausibleMin: -10.5, plausibleMax: '99.25' })
      expect(set.status).toBe(200)
      expect(set.body).toMatchObject({ plausibleMin: '-10.5', plausibleMax: '99.25' })
      const upsideDown = await patch({ plausibleMin: '100' })
      expect(upsideDown.status).toBe(400)
      expect(upsideDown.body.details).toEqual([
        expect.objectContaining({
          field: 'body.plausibleMin',
          rule: 'point.plausibleRange',
          params: { min: '100', max: '99.25' },
        }),
      ])
      const equal = await patch({ plausibleMax: '-10.5' })
      expect(equal.body.details?.[0]).toMatchObject({
        field: 'body.plausibleMax',
        rule: 'point.plausibleRange',
      })
      const places = await patch({ plausibleMax: '1.12345678901' })
      expect(places.body.details?.[0]).toMatchObject({ field: 'body.plausibleMax' })
      expect((await patch({ plausibleMin: null, plausibleMax: null })).body).toMatchObject({
        plausibleMin: null,
        plausibleMax: null,
      })

      const ingest = await startTestIngest(hub.store.db)
      const gw = await connectGateway(ingest.url, site)
      await gw.send({ readings: [{ p: 'm1/label', t: Date.now(), v: `AB${NUL}CDE`, q: 'good' }] })
      await gw.client.endAsync()
      await ingest.close()
      const problems = await hub.call(engineer, {
        method: 'GET',
        url: `/api/v1/estates/${site.estateId}/ingest-problems`,
      })
      expect(problems.status).toBe(200)
      expect(problems.body.unmatched).toEqual([
        expect.objectContaining({
          gatewayCode: site.gatewayCode,
          name: 'm1/label',
          count: 1,
          reason: expect.stringMatching(/NUL character/),
        }),
      ])
    } finally {
      await hub.close()
    }
    // A whole hub (migrations, a user's login) on a machine shared with other suites.
  }, 90_000)
})
