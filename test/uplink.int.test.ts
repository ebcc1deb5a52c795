import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeAck } from '../gateway/contract/ack-schema.ts'
import { parseBatch, type UplinkBatch } from '../gateway/contract/batch-schema.ts'
import { type GatewayStatus, parseStatus } from '../gateway/contract/status-schema.ts'
import { ackTopic, batchTopic, statusTopic } from '../gateway/contract/topics.ts'
import { Outbox } from '../gateway/outbox/outbox.ts'
import { Uplink } from '../gateway/uplink/uplink.ts'
import { brokerBackends } from './support/broker-backends.ts'

/**
 * The uplink against a real broker, with a test hub that acknowledges per the contract
 * (docs/protocol.md): de-duplicate by seq, ack the contiguous committed mark. Outages are real
 * disconnections: aedes is stopped and started again on the same port; the shared Mosquitto
 * cannot be stopped, so the gateway reaches it through a TCP proxy that the test cuts.
 */
const waitUntil = async (what: string, ok: () => boolean, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
const reading = (n: number) => ({
  point: `m${n % 7}/kwh`,
  ts: Date.now(),
  value: n,
  quality: 'good' as const,
})
const newDir = () => mkdtempSync(join(tmpdir(), 'estatehub-uplink-'))
const outboxOpts = { maxBatches: 10_000, maxBytes: 64 * 1024 * 1024 }
const fast = { ackTimeoutMs: 1_000, reconnectMinMs: 100, reconnectMaxMs: 400, connectTimeoutMs: 2_000 }

/** Stands in for the hub: de-duplicates by seq and acks cumulatively, as the contract says. */
class TestHub {
  readonly deliveries: UplinkBatch[] = []
  readonly committed = new Map<number, UplinkBatch>()
  mark = 0
  acking = true
  private constructor(
    readonly client: MqttClient,
    readonly gatewayId: string,
  ) {}

  static async connect(url: string, gatewayId: string): Promise<TestHub> {
    const client = await mqtt.connectAsync(url, { clientId: `hub-${gatewayId}`, reconnectPeriod: 100 })
    const hub = new TestHub(client, gatewayId)
    client.on('message', (_topic, payload) => hub.#receive(payload))
    await client.subscribeAsync(batchTopic(gatewayId), { qos: 1 })
    return hub
  }

  #receive(payload: Buffer) {
    const parsed = parseBatch(payload)
    if (!parsed.ok) throw new Error(`hub got a bad batch: ${parsed.error}`)
    const b = parsed.batch
    this.deliveries.push(b)
    if (!this.committed.has(b.seq)) this.committed.set(b.seq, b) // "commit": de-duplicated by seq
    // Every seq below `oldest` was acked or will never come: the mark may jump over it.
    this.mark = Math.max(this.mark, b.oldest - 1)
    while (this.committed.has(this.mark + 1)) this.mark++
    if (this.acking) this.ack()
  }

  ack() {
    if (this.mark > 0) this.client.publish(ackTopic(this.gatewayId), encodeAck(this.mark), { qos: 1 })
  }
  resumeAcking() {
    this.acking = true
    this.ack()
  }
  /** Seqs in the order they first arrived. */
  firstArrivals(): number[] {
    return [...this.committed.keys()]
  }
  close() {
    return this.client.endAsync(true)
  }
}

/** A TCP hop between gateway and broker that the test can cut like a failed site link. */
class TcpProxy {
  port = 0
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()
  constructor(readonly target: URL) {}
  get url() {
    return `mqtt://127.0.0.1:${this.port}`
  }
  async start() {
    const server = createServer((down) => {
      const up = connect(Number(this.target.port), this.target.hostname)
      for (const s of [down, up]) {
        this.#sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => {
          this.#sockets.delete(s)
          down.destroy()
          up.destroy()
        })
      }
      down.pipe(up).pipe(down)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.#server = server
  }
  /** Drops every connection without a FIN from the gateway's MQTT client, and refuses new ones. */
  async cut() {
    const server = this.#server
    this.#server = undefined
    for (const s of this.#sockets) s.resetAndDestroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** aedes that can be stopped and started again on the same port (its state is lost, as in a restart). */
class RestartableAedes {
  port = 0
  /** False: refuse gateways (CONNACK "not authorized"), as a broker whose hub is not back yet. */
  admitGateways = true
  #stop: (() => Promise<void>) | undefined
  get url() {
    return `mqtt://127.0.0.1:${this.port}`
  }
  async start() {
    const broker = await Aedes.createBroker({
      drainTimeout: 2_000,
      authenticate: (client, _user, _pass, done) =>
        done(null, this.admitGateways || !client.id.startsWith('gw-')),
    })
    const server = createServer(broker.handle)
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.#stop = async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  async cut() {
    await this.#stop?.()
    this.#stop = undefined
  }
}

describe.each(brokerBackends())('uplink over $name', (backend) => {
  let broker: { url: string; close(): Promise<void> }
  const cleanups: (() => Promise<unknown>)[] = []
  const gatewayIds: string[] = []

  function newGatewayId() {
    const id = `gw-test-${randomBytes(5).toString('hex')}`
    gatewayIds.push(id)
    return id
  }
  async function gateway(url: string, gatewayId: string, dir = newDir()) {
    const outbox = await Outbox.open(dir, outboxOpts)
    const log = process.env.DEBUG_UPLINK ? (l: string) => console.log(Date.now(), gatewayId, l) : undefined
    const uplink = new Uplink(outbox, { url, gatewayId, ...fast, log })
    cleanups.push(async () => {
      await uplink.close()
      await outbox.close()
    })
    uplink.start()
    return { outbox, uplink, dir }
  }
  async function hubFor(url: string, gatewayId: string) {
    const hub = await TestHub.connect(url, gatewayId)
    cleanups.push(() => hub.close())
    return hub
  }
  async function enqueueMany(uplink: Uplink, from: number, count: number) {
    const seqs: number[] = []
    for (let n = from; n < from + count; n++) seqs.push(await uplink.enqueue({ readings: [reading(n)] }))
    return seqs
  }

  beforeAll(async () => {
    broker = await backend.start()
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    const cleaner = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
    for (const id of gatewayIds) await cleaner.publishAsync(statusTopic(id), '', { qos: 1, retain: true })
    await cleaner.endAsync()
    await broker.close()
  })

  it('(a) delivers 100 batches in order; each leaves the outbox only once acked', async () => {
    const id = newGatewayId()
    const hub = await hubFor(broker.url, id)
    const { outbox, uplink } = await gateway(broker.url, id)
    await waitUntil('connected', () => uplink.connected)
    const seqs = await enqueueMany(uplink, 0, 100)
    await waitUntil('100 committed and acked', () => hub.committed.size === 100 && outbox.depth === 0)
    expect(hub.firstArrivals()).toEqual(seqs)
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i))
    expect([...hub.committed.values()].every((b) => !b.historical && b.gateway === id)).toBe(true)
    expect(outbox.pending()).toEqual([])
    expect(outbox.ackedSeq).toBe(seqs.at(-1))
    expect(uplink.lastAckAt).toBeGreaterThan(0)
  })

  it('(b) keeps batches through an outage and delivers them afterwards, in order, historical, once', async () => {
    const id = newGatewayId()
    // aedes: the broker itself goes away. Mosquitto (shared): the gateway's link to it does.
    const outage = backend.name === 'aedes' ? new RestartableAedes() : new TcpProxy(new URL(broker.url))
    await outage.start()
    cleanups.push(() => outage.cut())
    const hub = await hubFor(backend.name === 'aedes' ? outage.url : broker.url, id)
    const { outbox, uplink } = await gateway(outage.url, id)
    await waitUntil('connected', () => uplink.connected)
    const live = await enqueueMany(uplink, 0, 10)
    await waitUntil('live batches committed', () => hub.committed.size === 10 && outbox.depth === 0)
    // The hub stops acking: the next batches are delivered but stay in the outbox.
    hub.acking = false
    const unacked = await enqueueMany(uplink, 10, 5)
    await waitUntil('unacked batches delivered', () => hub.committed.size === 15)
    await outage.cut()
    await waitUntil('uplink notices the outage', () => !uplink.connected)
    const during = await enqueueMany(uplink, 15, 15)
    expect(outbox.depth).toBe(20)
    expect(outbox.pending().map((b) => b.seq)).toEqual([...unacked, ...during])
    hub.resumeAcking()
    if (outage instanceof RestartableAedes) {
      // The restarted aedes has forgotten every subscription: let the gateway in only once the
      // hub has subscribed again, or its first batches would go to nobody (test (e) covers that).
      outage.admitGateways = false
      await outage.start()
      await waitUntil('hub reconnected', () => hub.client.connected)
      await hub.client.subscribeAsync(batchTopic(id), { qos: 1 })
      outage.admitGateways = true
    } else await outage.start()
    await waitUntil('all committed and acked', () => hub.committed.size === 30 && outbox.depth === 0, 20_000)
    const all = [...live, ...unacked, ...during]
    expect(hub.firstArrivals()).toEqual(all)
    expect(hub.deliveries.length, 'the unacked ones came again').toBeGreaterThan(30)
    const historical = [...hub.committed.values()].filter((b) => b.historical).map((b) => b.seq)
    expect(historical).toEqual(during)
  })

  it('(c) after a gateway restart, every unacknowledged batch is delivered', async () => {
    const id = newGatewayId()
    const hub = await hubFor(broker.url, id)
    hub.acking = false
    const first = await gateway(broker.url, id)
    await waitUntil('connected', () => first.uplink.connected)
    const seqs = await enqueueMany(first.uplink, 0, 12)
    await waitUntil('the window of 8 delivered', () => hub.committed.size === 8)
    expect(first.uplink.inFlight).toBe(8) // the window holds the rest back
    await first.uplink.close()
    await first.outbox.close()
    hub.acking = true
    const second = await gateway(broker.url, id, first.dir)
    expect(second.outbox.pending().map((b) => b.seq)).toEqual(seqs)
    await waitUntil('all committed', () => hub.committed.size === 12 && second.outbox.depth === 0)
    expect(hub.firstArrivals()).toEqual(seqs)
    const next = await second.uplink.enqueue({ readings: [reading(99)] })
    expect(next).toBe(seqs.at(-1)! + 1)
    expect(new Set([...hub.committed.values()].map((b) => b.session))).toEqual(
      new Set([first.uplink.session]),
    )
    expect(second.uplink.session).not.toBe(first.uplink.session)
  })

  it('(e) resends after the ack timeout when batches reached nobody (hub not subscribed)', async () => {
    const id = newGatewayId()
    const hub = await hubFor(broker.url, id)
    const { outbox, uplink } = await gateway(broker.url, id)
    await waitUntil('connected', () => uplink.connected)
    const first = await enqueueMany(uplink, 0, 3)
    await waitUntil('committed', () => hub.committed.size === 3 && outbox.depth === 0)
    await hub.client.unsubscribeAsync(batchTopic(id))
    const missed = await enqueueMany(uplink, 3, 5) // QoS 1 to no subscriber: the broker drops them
    await waitUntil('published', () => uplink.inFlight === 5)
    await new Promise((r) => setTimeout(r, 200))
    expect(hub.committed.size).toBe(3)
    await hub.client.subscribeAsync(batchTopic(id), { qos: 1 })
    await waitUntil('resent and committed', () => hub.committed.size === 8 && outbox.depth === 0)
    expect(uplink.resent).toBeGreaterThanOrEqual(5)
    expect(hub.firstArrivals()).toEqual([...first, ...missed])
  })

  it('(d) keeps a retained online/offline status; the broker publishes the will on a dropped link', async () => {
    const id = newGatewayId()
    const proxy = new TcpProxy(new URL(broker.url))
    await proxy.start()
    cleanups.push(() => proxy.cut())
    const watcher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
    cleanups.push(() => watcher.endAsync(true))
    const seen: GatewayStatus[] = []
    watcher.on('message', (_t, payload) => {
      const parsed = parseStatus(payload)
      if (parsed.ok) seen.push(parsed.status)
    })
    await watcher.subscribeAsync(statusTopic(id), { qos: 1 })
    const { uplink } = await gateway(proxy.url, id)
    await waitUntil('online', () => seen.at(-1)?.state === 'online')
    expect(seen.at(-1)?.session).toBe(uplink.session)
    expect(await retainedStatus(broker.url, id)).toMatchObject({ state: 'online', session: uplink.session })

    await proxy.cut() // no DISCONNECT reaches the broker: [MQTT-3.1.2-8] says it publishes the will
    await waitUntil('will published', () => seen.at(-1)?.state === 'offline')
    expect(await retainedStatus(broker.url, id)).toMatchObject({ state: 'offline', session: uplink.session })

    await proxy.start()
    await waitUntil('online again', () => uplink.connected && seen.at(-1)?.state === 'online')
    const beforeClose = Date.now()
    await uplink.close()
    await waitUntil('orderly offline', () => seen.at(-1)?.state === 'offline')
    expect(seen.at(-1)!.ts).toBeGreaterThanOrEqual(beforeClose) // ours, not the will's connect-time ts
    expect(await retainedStatus(broker.url, id)).toMatchObject({ state: 'offline' })
  })
})

async function retainedStatus(url: string, gatewayId: string): Promise<GatewayStatus | undefined> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  try {
    const got = new Promise<GatewayStatus | undefined>((resolve) => {
      // Only a hang bound: a retained status arrives as soon as the subscription is made.
      const timer = setTimeout(() => resolve(undefined), 15_000)
      client.on('message', (_t, payload, packet) => {
        clearTimeout(timer)
        const parsed = parseStatus(payload)
        resolve(packet.retain && parsed.ok ? parsed.status : undefined)
      })
    })
    await client.subscribeAsync(statusTopic(gatewayId), { qos: 1 })
    return await got
  } finally {
    await client.endAsync(true)
  }
}
