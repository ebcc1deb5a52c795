import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brokerBackends, uniqueTopicPrefix } from './support/broker-backends.ts'

/**
 * The broker behaviours the gateway relies on: QoS 1 delivery (uplink), retained messages and
 * last-will on an unclean drop (presence). Same suite on every broker backend.
 */
describe.each(brokerBackends())('broker $name', (backend) => {
  let broker: { url: string; close(): Promise<void> }
  let prefix: string
  const clients: MqttClient[] = []
  const retainedTopics = new Set<string>()

  async function connect(name: string, opts: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(
      broker.url,
      {
        clientId: `eh-${name}-${Math.random().toString(16).slice(2, 10)}`,
        reconnectPeriod: 0,
        connectTimeout: 3_000,
        ...opts,
      },
      false,
    )
    clients.push(client)
    return client
  }

  /** Resolves with the next message on `topic`; register before the publish that should cause it. */
  function nextMessage(client: MqttClient, topic: string, timeoutMs = 5_000) {
    return new Promise<{ payload: string; packet: IPublishPacket }>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off('message', onMessage)
        reject(new Error(`no message on ${topic} within ${timeoutMs} ms`))
      }, timeoutMs)
      function onMessage(t: string, payload: Buffer, packet: IPublishPacket) {
        if (t !== topic) return
        clearTimeout(timer)
        client.off('message', onMessage)
        resolve({ payload: payload.toString(), packet })
      }
      client.on('message', onMessage)
    })
  }

  beforeAll(async () => {
    broker = await backend.start()
    prefix = uniqueTopicPrefix()
  })

  afterAll(async () => {
    if (!broker) return
    try {
      if (retainedTopics.size > 0) {
        const cleaner = await connect('cleaner')
        for (const topic of retainedTopics) await cleaner.publishAsync(topic, '', { qos: 1, retain: true })
      }
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)))
      await broker.close()
    }
  })

  it('delivers a QoS 1 publish to a subscriber', async () => {
    const topic = `${prefix}uplink/qos1`
    const sub = await connect('sub')
    const pub = await connect('pub')
    const [grant] = await sub.subscribeAsync(topic, { qos: 1 })
    expect(grant?.qos).toBe(1)
    const received = nextMessage(sub, topic)
    await pub.publishAsync(topic, 'reading-42', { qos: 1 })
    const { payload, packet } = await received
    expect(payload).toBe('reading-42')
    expect(packet.qos).toBe(1)
  })

  it('delivers a retained message to a late subscriber', async () => {
    const topic = `${prefix}presence/retained`
    retainedTopics.add(topic)
    const pub = await connect('retainer')
    await pub.publishAsync(topic, 'online', { qos: 1, retain: true })
    const late = await connect('late')
    const received = nextMessage(late, topic)
    await late.subscribeAsync(topic, { qos: 1 })
    const { payload, packet } = await received
    expect(payload).toBe('online')
    expect(packet.retain).toBe(true)
  })

  it('delivers the last-will when a client drops without DISCONNECT', async () => {
    const topic = `${prefix}presence/will`
    retainedTopics.add(topic)
    const watcher = await connect('watcher')
    await watcher.subscribeAsync(topic, { qos: 1 })
    const gateway = await connect('gateway', {
      will: { topic, payload: Buffer.from('offline'), qos: 1, retain: true },
    })
    const received = nextMessage(watcher, topic)
    gateway.stream.destroy()
    const { payload } = await received
    expect(payload).toBe('offline')
  })
})
