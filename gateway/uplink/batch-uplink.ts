import { readFileSync } from 'node:fs'
import mqtt, { type MqttClient } from 'mqtt'
import type { JournalOutbox } from '../outbox/journal-outbox.ts'
import { parseAck } from '../protocol/ack-schema.ts'
import { encodeStatus } from '../protocol/status-schema.ts'
import { ackTopic, batchTopic, statusTopic, TOPIC_QOS } from '../protocol/topics.ts'

export interface BatchUplinkOptions {
  readonly url: string
  readonly gatewayId: string
  readonly secret: string
  readonly session: string
  readonly caFile?: string | undefined
  /** Batches published and not yet acknowledged, at most. */
  readonly window?: number
  readonly log?: (line: string) => void
}

/**
 * Publishes the outbox to the hub, in seq order, and forgets a batch only on the hub's
 * application ack (QoS 1 alone proves only that the broker has it). Each connection is a new
 * client with no replay store of its own: after a reconnect we resend from the oldest
 * unacknowledged batch ourselves, so nothing can overtake an older batch; duplicates are
 * harmless because the hub de-duplicates by (gateway, seq).
 */
export class BatchUplink {
  readonly #options: BatchUplinkOptions
  readonly #outbox: JournalOutbox
  #client: MqttClient | undefined
  #connected = false
  #lastSent = 0
  #lastAckAt = 0
  #closed = false
  #retryMs = 500
  #timer: NodeJS.Timeout | undefined

  constructor(outbox: JournalOutbox, options: BatchUplinkOptions) {
    this.#outbox = outbox
    this.#options = options
  }

  get connected(): boolean {
    return this.#connected
  }
  get lastAckAt(): number {
    return this.#lastAckAt
  }

  start() {
    this.#connect()
  }

  /** New batches are in the outbox: send what the window allows. */
  kick() {
    this.#pump()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    const client = this.#client
    if (!client) return
    if (this.#connected) {
      await client
        .publishAsync(statusTopic(this.#options.gatewayId), this.#status('offline'), {
          qos: TOPIC_QOS,
          retain: true,
        })
        .catch(() => {})
    }
    await client.endAsync().catch(() => {})
  }

  #status(state: 'online' | 'offline') {
    return encodeStatus({ state, ts: Date.now(), session: this.#options.session })
  }

  #connect() {
    if (this.#closed) return
    const { url, gatewayId, secret, caFile } = this.#options
    const client = mqtt.connect(url, {
      clientId: gatewayId,
      username: gatewayId,
      password: secret,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
      ...(caFile ? { ca: readFileSync(caFile) } : {}),
      // [MQTT-3.1.2-8] the broker publishes the will when the link drops without DISCONNECT.
      will: { topic: statusTopic(gatewayId), payload: this.#status('offline'), qos: TOPIC_QOS, retain: true },
    })
    this.#client = client
    client.on('connect', () => void this.#onConnect(client))
    client.on('message', (topic, payload) => {
      if (topic !== ackTopic(gatewayId)) return
      const parsed = parseAck(payload)
      if (!parsed.ok) {
        this.#options.log?.(`uplink: ignored a bad ack: ${parsed.error}`)
        return
      }
      this.#lastAckAt = Date.now()
      void this.#outbox.ack(parsed.ack.seq).then(() => this.#pump())
    })
    client.on('error', (error) => this.#options.log?.(`uplink: ${error.message}`))
    client.on('close', () => {
      const was = this.#connected
      this.#connected = false
      if (was) this.#options.log?.('uplink: disconnected; batches stay in the outbox')
      client.removeAllListeners('connect')
      client.end(true)
      if (this.#closed) return
      this.#timer = setTimeout(() => this.#connect(), this.#retryMs)
      this.#retryMs = Math.min(this.#retryMs * 2, 15_000)
    })
  }

  async #onConnect(client: MqttClient) {
    const { gatewayId } = this.#options
    try {
      await client.subscribeAsync(ackTopic(gatewayId), { qos: TOPIC_QOS })
      await client.publishAsync(statusTopic(gatewayId), this.#status('online'), {
        qos: TOPIC_QOS,
        retain: true,
      })
    } catch (error) {
      this.#options.log?.(`uplink: could not set up the session: ${(error as Error).message}`)
      client.end(true)
      return
    }
    this.#connected = true
    this.#retryMs = 500
    // Resend everything not yet acknowledged, oldest first.
    this.#lastSent = this.#outbox.ackedSeq
    this.#pump()
  }

  #pump() {
    const client = this.#client
    if (!client || !this.#connected) return
    const window = this.#options.window ?? 8
    let inFlight = 0
    for (const held of this.#outbox.pending()) {
      if (held.seq <= this.#lastSent) {
        inFlight++
        continue
      }
      if (inFlight >= window) break
      this.#lastSent = held.seq
      inFlight++
      client.publish(batchTopic(this.#options.gatewayId), held.bytes, { qos: TOPIC_QOS })
    }
  }
}
