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
 *
 * A batch the broker has (PUBACK) but no hub acks in time is published again: the broker
 * forgets the batches a dead hub held (Mosquitto 2 does not hand them to another member of
 * the shared subscription, docs/protocol.md), so this resend is what bounds a hub crash's
 * delay. The wait is learned from the acks, so a slow hub does not get everything twice.
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
  /** When the last ack moved the outbox (or the connection came up): the wait starts no earlier. */
  #progressAt = 0
  /** Per seq published on this connection: when the broker confirmed it, and how often it went. */
  readonly #brokerAckedAt = new Map<number, number>()
  readonly #sends = new Map<number, number>()
  /** Smoothed ack time and its variation (RFC 6298), from batches sent once; undefined before. */
  #ackSmoothedMs: number | undefined
  #ackVariationMs = 0
  /** Doubles with each resend; back to 1 when a batch sent once is acked (a fresh sample). */
  #backoff = 1
  #published = 0
  #resent = 0

  constructor(outbox: Outbox, options: UplinkOptions) {
    this.#outbox = outbox
    this.#o = resolveUplinkOptions(options)
    this.#retryMs = this.#o.reconnectMinMs
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
  /** How long the oldest batch in flight may wait for its ack now (learned, backed off, bounded). */
  get ackWaitMs(): number {
    const { ackTimeoutMs, ackTimeoutMaxMs } = this.#o
    const learned = this.#ackSmoothedMs === undefined ? 0 : this.#ackSmoothedMs + 4 * this.#ackVariationMs
    return Math.min(Math.max(ackTimeoutMs, learned) * this.#backoff, ackTimeoutMaxMs)
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
    this.#brokerAckedAt.clear()
    this.#sends.clear()
    this.#progressAt = this.#o.now()
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
      const before = this.#outbox.ackedSeq
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
      // Karn: the backed-off wait stays until a batch sent once is acked, so a hub slower than
      // the wait is not sent every batch twice (each ack of a resent batch would reset it).
      if (this.#learnAckTime(before, target)) this.#backoff = 1
      this.#progressAt = this.#lastAckAt
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
      const { seq } = entry
      this.#sentThrough = seq
      this.#published++
      this.#sends.set(seq, (this.#sends.get(seq) ?? 0) + 1)
      this.#brokerAckedAt.delete(seq)
      client.publish(topic, entry.payload, { qos: TOPIC_QOS }, (error) => {
        if (error) {
          this.#o.log(`uplink: publish of seq ${seq} failed: ${error.message}`)
          return
        }
        // The broker has it: from now on only a hub can be late with it.
        if (client !== this.#client || seq <= this.#outbox.ackedSeq) return
        this.#brokerAckedAt.set(seq, this.#o.now())
        this.#armAckTimer()
      })
    }
    this.#armAckTimer()
  }

  /**
   * Arms the one timer for the oldest batch in flight, once the broker has confirmed it: its
   * wait runs from that PUBACK, or from the last ack that moved the outbox if later (a hub
   * still acking the batches before it is not late with it).
   */
  #armAckTimer(): void {
    if (this.#ackTimer !== undefined || !this.#connected || this.inFlight === 0) return
    const oldest = this.#outbox.entriesAfter(this.#outbox.ackedSeq, 1)[0]?.seq
    const confirmedAt = oldest === undefined ? undefined : this.#brokerAckedAt.get(oldest)
    if (confirmedAt === undefined) return // its PUBACK arms the timer
    const due = Math.max(confirmedAt, this.#progressAt) + this.ackWaitMs
    this.#ackTimer = setTimeout(() => this.#onAckTimeout(), Math.max(0, due - this.#o.now()))
  }

  /**
   * One sample per ack that moves the outbox: PUBACK to hub ack of the newest batch it covers,
   * only if no batch it covers was sent twice (Karn: an ack after a resend could answer either
   * copy, and a mark held back by a lost batch would inflate the time of those after it).
   */
  #learnAckTime(before: number, through: number): boolean {
    // Over the batches this connection published (seqs are large and sparse: never a range).
    let newest = 0
    let resent = false
    for (const [seq, sends] of this.#sends) {
      if (seq <= before || seq > through) continue
      if (sends > 1) resent = true
      else if (seq > newest && this.#brokerAckedAt.has(seq)) newest = seq
    }
    const confirmedAt = resent || newest === 0 ? undefined : this.#brokerAckedAt.get(newest)
    for (const seq of [...this.#sends.keys()]) if (seq <= through) this.#sends.delete(seq)
    for (const seq of [...this.#brokerAckedAt.keys()]) if (seq <= through) this.#brokerAckedAt.delete(seq)
    if (confirmedAt === undefined) return false
    const sample = Math.max(0, this.#o.now() - confirmedAt)
    if (this.#ackSmoothedMs === undefined) {
      this.#ackSmoothedMs = sample
      this.#ackVariationMs = sample / 2
    } else {
      this.#ackVariationMs = 0.75 * this.#ackVariationMs + 0.25 * Math.abs(this.#ackSmoothedMs - sample)
      this.#ackSmoothedMs = 0.875 * this.#ackSmoothedMs + 0.125 * sample
    }
    return true
  }

  #onAckTimeout(): void {
    this.#ackTimer = undefined
    if (!this.#connected || this.inFlight === 0) return
    this.#o.log(
      `uplink: no ack within ${Math.round(this.ackWaitMs)} ms; resending from seq ${this.#outbox.oldestSeq ?? '-'}`,
    )
    this.#resent += this.inFlight
    this.#backoff *= 2 // bounded by ackTimeoutMaxMs in ackWaitMs
    if (this.#backoff > 1024) this.#backoff = 1024
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
