import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import type { MqttClient } from 'mqtt'
import mqtt from 'mqtt'

/**
 * The MQTT brokers a suite runs against, the way store-backends.ts loops over stores:
 * an in-process aedes always; an external broker (Mosquitto) when ESTATEHUB_TEST_MQTT_URL is set.
 * Each `start()` gives a URL to connect to and a `close()` that releases what start() made.
 * The external broker is shared by every suite: scope topics with `uniqueTopicPrefix()`.
 */
export interface BrokerBackend {
  readonly name: 'aedes' | 'mosquitto'
  start(): Promise<{ url: string; close(): Promise<void> }>
}

const mqttUrl = process.env.ESTATEHUB_TEST_MQTT_URL
const inCi = process.env.CI === 'true'
const probeTimeoutMs = 3_000

const aedes: BrokerBackend = {
  name: 'aedes',
  async start() {
    // drainTimeout: without it one subscriber that stops reading can deadlock delivery to everyone.
    const broker = await Aedes.createBroker({ drainTimeout: 5_000 })
    const server = createServer(broker.handle)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      throw error
    }
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('aedes: server has no TCP address')
    return {
      url: `mqtt://127.0.0.1:${address.port}`,
      async close() {
        // Broker first: it ends its clients' sockets, so server.close() does not wait on them.
        await new Promise<void>((resolve) => broker.close(() => resolve()))
        await new Promise<void>((resolve, reject) =>
          server.close((error) => (error ? reject(error) : resolve())),
        )
      },
    }
  },
}

async function probe(url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  let client: MqttClient | undefined
  try {
    await Promise.race([
      mqtt.connectAsync(url, { connectTimeout: probeTimeoutMs, reconnectPeriod: 0 }, false).then((c) => {
        client = c
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no CONNACK within ${probeTimeoutMs} ms`)), probeTimeoutMs)
      }),
    ])
  } finally {
    clearTimeout(timer)
    await client?.endAsync()
  }
}

function mosquitto(url: string): BrokerBackend {
  return {
    name: 'mosquitto',
    async start() {
      try {
        await probe(url)
      } catch (error) {
        throw new Error(
          `ESTATEHUB_TEST_MQTT_URL is set but no MQTT broker answers at ${url}: ${(error as Error).message}`,
        )
      }
      // Shared and long-lived: nothing to tear down; suites clean up their own topics.
      return { url, async close() {} }
    },
  }
}

export function brokerBackends(): BrokerBackend[] {
  if (!mqttUrl) {
    if (inCi)
      throw new Error('CI=true but ESTATEHUB_TEST_MQTT_URL is not set: the Mosquitto suites would not run')
    return [aedes] // said once per run by test/support/environment-notice.ts
  }
  return [aedes, mosquitto(mqttUrl)]
}

/** A topic prefix of its own, so suites sharing an external broker do not see each other's messages. */
export function uniqueTopicPrefix(): string {
  return `test/${randomBytes(6).toString('hex')}/`
}
