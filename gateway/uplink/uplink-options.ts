import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IClientOptions } from 'mqtt'
import { encodeStatus } from '../contract/status-schema.ts'
import { statusTopic, TOPIC_QOS } from '../contract/topics.ts'

export interface UplinkOptions {
  /** `mqtt://host:port` or `mqtts://host:port` (TLS; the system CAs unless `ca`/`caFile`). */
  readonly url: string
  /** Also the MQTT client id and, unless `username` is given, the username. */
  readonly gatewayId: string
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** The gateway's secret from its config: used as the password when `password` is not given. */
  readonly secret?: string | undefined
  /** Random per process start unless given; stamped on batches and status messages. */
  readonly session?: string | undefined
  readonly ca?: string | Buffer | undefined
  readonly caFile?: string | undefined
  /** Batches published and not yet acknowledged by the hub, at most. Default 8. */
  readonly window?: number | undefined
  /**
   * The shortest wait for the hub's ack of the oldest batch in flight, counted from the broker's
   * PUBACK of it (or from the last ack that moved the outbox, if later). When it passes, the
   * batches in flight are published again from the oldest: a hub that died holding them, or a
   * broker that dropped them because no hub subscribed. The wait is the larger of this and
   * what the acks have taken lately (smoothed, like TCP's retransmission timeout), so a hub
   * that is merely slow is not sent every batch twice. Default 3 s.
   */
  readonly ackTimeoutMs?: number | undefined
  /**
   * The longest wait: the learned wait never exceeds it, and resends with nothing acked double
   * the wait up to it (every hub down: one resend per this period). Default 30 s.
   */
  readonly ackTimeoutMaxMs?: number | undefined
  /** Reconnect delay after a lost or refused connection: doubles from min to max. */
  readonly reconnectMinMs?: number | undefined
  readonly reconnectMaxMs?: number | undefined
  readonly connectTimeoutMs?: number | undefined
  readonly keepaliveSeconds?: number | undefined
  readonly log?: ((line: string) => void) | undefined
  readonly now?: (() => number) | undefined
}

export interface ResolvedUplinkOptions {
  readonly url: string
  readonly gatewayId: string
  readonly session: string
  readonly window: number
  readonly ackTimeoutMs: number
  readonly ackTimeoutMaxMs: number
  readonly reconnectMinMs: number
  readonly reconnectMaxMs: number
  readonly log: (line: string) => void
  readonly now: () => number
  readonly mqtt: (willTs: number) => IClientOptions
}

export function resolveUplinkOptions(o: UplinkOptions): ResolvedUplinkOptions {
  const session = o.session ?? randomBytes(9).toString('base64url')
  const ca = o.ca ?? (o.caFile ? readFileSync(o.caFile) : undefined)
  const password = o.password ?? o.secret
  const window = o.window ?? 8
  if (!Number.isSafeInteger(window) || window < 1)
    throw new RangeError(`uplink window must be ≥ 1, got ${window}`)
  const status = statusTopic(o.gatewayId) // also checks the gateway id
  const ackTimeoutMs = o.ackTimeoutMs ?? 3_000
  const ackTimeoutMaxMs = o.ackTimeoutMaxMs ?? Math.max(30_000, ackTimeoutMs)
  if (!(ackTimeoutMs > 0 && ackTimeoutMaxMs >= ackTimeoutMs))
    throw new RangeError(
      `uplink ack timeouts need 0 < ackTimeoutMs ≤ ackTimeoutMaxMs, got ${ackTimeoutMs} and ${ackTimeoutMaxMs}`,
    )
  return {
    url: o.url,
    gatewayId: o.gatewayId,
    session,
    window,
    ackTimeoutMs,
    ackTimeoutMaxMs,
    reconnectMinMs: o.reconnectMinMs ?? 500,
    reconnectMaxMs: o.reconnectMaxMs ?? 15_000,
    log: o.log ?? (() => {}),
    now: o.now ?? Date.now,
    mqtt: (willTs) => ({
      clientId: o.gatewayId,
      username: o.username ?? o.gatewayId,
      ...(password === undefined ? {} : { password }),
      ...(ca === undefined ? {} : { ca }),
      protocolVersion: 4, // MQTT 3.1.1: what aedes speaks, and all this contract needs
      // Clean session [MQTT-3.1.2-6]: the broker keeps nothing for us between connections.
      // Replay comes from our own outbox, resent from the oldest unacknowledged batch on every
      // connect; a persistent session would only add a second, broker-side copy of the same
      // queue (bounded by broker settings we do not control) and acks queued for a client
      // that has already moved on. A missed ack costs one duplicate, which the hub drops.
      clean: true,
      // Each connection is a fresh client (see Uplink): mqtt.js's own reconnect would replay
      // its in-memory store ahead of our resend and could reorder batches.
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      keepalive: o.keepaliveSeconds ?? 30,
      // The broker publishes this if the connection ends without DISCONNECT [MQTT-3.1.2-8], as
      // a retained message because Will Retain is set [MQTT-3.1.2-17]; an orderly close sends
      // DISCONNECT, which deletes it [MQTT-3.1.2-10], after publishing 'offline' itself.
      will: {
        topic: status,
        payload: encodeStatus({ state: 'offline', ts: willTs, session }),
        qos: TOPIC_QOS,
        retain: true,
      },
    }),
  }
}
