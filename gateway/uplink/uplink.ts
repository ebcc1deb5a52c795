import mqtt, { type MqttClient } from 'mqtt'
import type { DeviceEvent, Reading } from '../../drivers/driver-types.ts'
import { parseAck } from '../contract/ack-schema.ts'
import { encodeStatus } from '../contract/status-schema.ts'
import { ackTopic, batchTopic, statusTopic, TOPIC_QOS } from '../contract/topics.ts'
import { toWireEvent, toWireReading } from '../contract/wire-codec.ts'
import type { Outbox } from '../outbox/outbox.ts'
import { type ResolvedUplinkOptions, resolveUplinkOptions, type UplinkOptions } from './uplink-options.ts'

export type { UplinkOptions } from './uplink-options.ts'

/**
 * Publishes the outbox to the hub in seq order and lets a batch go only on the hub's
 * application ack (a PUBACK proves only that the broker has it). At most `window` batches are
 * unacknowledged at a time. Every connection is a new MQTT client with nothing stored: on
 * each connect we publish from the oldest unacknowledged batch, so a batch is never published
 * after a younger one on the same connection; the duplicates this causes are dropped by the
 * hub, which de-duplicates by (gateway, seq). The Uplink does not own the outbox: close them
 * both, uplink first.
 */
export class Uplink {
  readonly #outbox: Outbox
  readonly #o: ResolvedUplinkOptions
  #client: MqttClient | undefined
  #connected = false
  #closing = false
  #started = false
  /** Highest seq published on the current connection. */
  #sentThrough = 0
  #ackTarget = 0
  #ackDrain: Promise<void> | undefined
  #lastAckAt = 0
  #retryMs: number
  #reconnectTimer: NodeJS.Timeout | undefined
  #ackTimer: NodeJS.Timeout | undefined
  #ackTimeoutMs: number
  #published = 0
  #resent = 0

  constructor(outbox: Outbox, options: UplinkOptions) {
    this.#outbox = outbox
    this.#o = resolveUplinkOptions(options)
    this.#retryMs = this.#o.reconnectMinMs
    this.#ackTimeoutMs = this.#o.ackTimeoutMs
  }

  // Metrics hooks: plain getters, read by gateway-health.ts.
  get connected(): boolean {
    return this.#connected
  }
  get depth(): number {
    return this.#outbox.depth
  }
  /** Epoch ms of the last ack that moved the outbox forward; 0 before the first. */
  get lastAckAt(): number {
    return this.#lastAckAt
  }
  get inFlight(): number {
    return this.#connected ? this.#outbox.depth - this.#outbox.countAfter(this.#sentThrough) : 0
  }
  get session(): string {
    return this.#o.session
  }
  /** Batch publishes so far, and how many of them were resends after an ack timeout. */
  get published(): number {
    return this.#published
  }
  get resent(): number {
    return this.#resent
  }

  /** Starts connecting (and reconnecting after every loss) until close(). */
  start(): void {
    if (this.#started || this.#closing) return
    this.#started = true
    this.#connect()
  }

  /**
   * Seals readings and events into one batch in the outbox and sends it when the window
   * allows. `historical` is decided here: a batch sealed while not connected will arrive late.
   */
  async enqueue(content: {
    readonly readings: readonly Reading[]
    readonly events?: readonly DeviceEvent[]
  }) {
    const seq = await this.#outbox.append({
      gateway: this.#o.gatewayId,
      session: this.#o.session,
      sentAt: this.#o.now(),
      historical: !this.#connected,
      readings: content.readings.map(toWireReading),
      events: (content.events ?? []).map(toWireEvent),
    })
    this.#pump()
    return seq
  }

  /** Batches were appended to the outbox directly: send what the window allows. */
  kick(): void {
    this.#pump()
  }

  /** Publishes a retained 'offline', disconnects cleanly (so the will is not sent), stops. */
  async close(): Promise<void> {
    this.#closing = true
    clearTimeout(this.#reconnectTimer)
    clearTimeout(this.#ackTimer)
    const client = this.#client
    if (client && this.#connected) {
      const offline = encodeStatus({ state: 'offline', ts: this.#o.now(), session: this.#o.session })
      await withTimeout(
        client.publishAsync(statusTopic(this.#o.gatewayId), offline, { qos: TOPIC_QOS, retain: true }),
        2_000,
      ).catch((error: Error) => this.#o.log(`uplink: could not publish offline: ${error.message}`))
      await withTimeout(client.endAsync(), 2_000).catch(() => client.end(true))
    } else client?.end(true)
    this.#client = undefined
    this.#connected = false
    await this.#ackDrain
  }

  #connect(): void {
    this.#reconnectTimer = undefined
    if (this.#closing) return
    const client = mqtt.connect(this.#o.url, this.#o.mqtt(this.#o.now()))
    this.#client = client
    this.#connected = false
    // Events of a client that has been replaced are ignored: an old client must never publish
    // or apply acks alongside the new one (two clients could interleave their batches).
    client.on('connect', () => void this.#onConnect(client))
    client.on('message', (topic, payload) => {
      if (client === this.#client) this.#onMessage(topic, payload)
    })
    client.on('error', (error) => {
      if (client === this.#client) this.#o.log(`uplink: ${error.message}`)
    })
    client.on('close', () => this.#onClose(client))
  }

  async #onConnect(client: MqttClient): Promise<void> {
    const { gatewayId, session } = this.#o
    try {
      // Subscribe before publishing anything, so no ack for this connection's batches is missed.
      await client.subscribeAsync(ackTopic(gatewayId), { qos: TOPIC_QOS })
      const online = encodeStatus({ state: 'online', ts: this.#o.now(), session })
      await client.publishAsync(statusTopic(gatewayId), online, { qos: TOPIC_QOS, retain: true })
    } catch (error) {
      this.#o.log(`uplink: connected but could not set up: ${(error as Error).message}`)
      client.end(true)
      return
    }
    if (client !== this.#client || this.#closing) return
    this.#connected = true
    this.#retryMs = this.#o.reconnectMinMs
    this.#sentThrough = this.#outbox.ackedSeq
    this.#o.log(`uplink: connected to ${this.#o.url}; ${this.#outbox.depth} batches to send`)
    this.#pump()
  }

  #onClose(client: MqttClient): void {
    client.removeAllListeners('connect')
    client.end(true)
    // mqtt.js may report 'close' more than once for one client: handle it once.
    if (client !== this.#client) return
    this.#client = undefined
    if (this.#connected) this.#o.log('uplink: connection lost; batches stay in the outbox')
    this.#connected = false
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    if (this.#closing || this.#reconnectTimer !== undefined) return
    // Jitter, so a site of gateways does not reconnect in lockstep after a broker restart.
    const delay = Math.round(this.#retryMs * (0.8 + Math.random() * 0.4))
    this.#retryMs = Math.min(this.#retryMs * 2, this.#o.reconnectMaxMs)
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay)
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic !== ackTopic(this.#o.gatewayId)) return
    const parsed = parseAck(payload)
    if (!parsed.ok) {
      this.#o.log(`uplink: ignored a malformed ack: ${parsed.error}`)
      return
    }
    this.#ackTarget = Math.max(this.#ackTarget, parsed.ack.seq)
    this.#ackDrain ??= this.#drainAcks().finally(() => {
      this.#ackDrain = undefined
    })
  }

  /** Acks are cumulative: apply only the highest seen, one durable write at a time. */
  async #drainAcks(): Promise<void> {
    while (this.#ackTarget > this.#outbox.ackedSeq) {
      const target = this.#ackTarget
      try {
        await this.#outbox.ack(target)
      } catch (error) {
        // An ack beyond our last seq means the hub's record of us and our outbox disagree
        // (e.g. this outbox was reset). Believing it could drop batches the hub never had.
        this.#o.log(`uplink: ack ${target} not applied: ${(error as Error).message}`)
        this.#ackTarget = this.#outbox.ackedSeq
        return
      }
      this.#lastAckAt = this.#o.now()
      this.#ackTimeoutMs = this.#o.ackTimeoutMs
      clearTimeout(this.#ackTimer)
      this.#ackTimer = undefined
      this.#pump()
    }
  }

  #pump(): void {
    const client = this.#client
    // Never queue into a client that is not connected: mqtt.js would send that queue ahead of
    // the resend from the oldest batch that follows the CONNACK.
    if (!client?.connected || !this.#connected || this.#closing) return
    this.#sentThrough = Math.max(this.#sentThrough, this.#outbox.ackedSeq)
    const room = this.#o.window - this.inFlight
    const topic = batchTopic(this.#o.gatewayId)
    for (const entry of this.#outbox.entriesAfter(this.#sentThrough, room)) {
      this.#sentThrough = entry.seq
      this.#published++
      client.publish(topic, entry.payload, { qos: TOPIC_QOS }, (error) => {
        if (error) this.#o.log(`uplink: publish of seq ${entry.seq} failed: ${error.message}`)
      })
    }
    if (this.inFlight > 0 && this.#ackTimer === undefined)
      this.#ackTimer = setTimeout(() => this.#onAckTimeout(), this.#ackTimeoutMs)
  }

  #onAckTimeout(): void {
    this.#ackTimer = undefined
    if (!this.#connected || this.inFlight === 0) return
    this.#o.log(
      `uplink: no ack for ${this.#ackTimeoutMs} ms; resending from seq ${this.#outbox.oldestSeq ?? '-'}`,
    )
    this.#resent += this.inFlight
    this.#ackTimeoutMs = Math.min(this.#ackTimeoutMs * 2, this.#o.ackTimeoutMs * 8)
    this.#sentThrough = this.#outbox.ackedSeq
    this.#pump()
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
