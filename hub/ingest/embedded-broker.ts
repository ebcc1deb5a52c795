import { createServer as createTcpServer, type Server } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { ALL_BATCHES_FILTER, TOPIC_ROOT } from '../../gateway/contract/index.ts'
import { gatewayLoginKeys, type LoginThrottle } from '../auth/login-throttle.ts'
import { UNUSABLE_PASSWORD_HASH, verifyPassword } from '../auth/password.ts'
import { mayPublish, maySubscribe } from './gateway-acl.ts'
import type { IngestMetrics } from './ingest-metrics.ts'
import type { IngestLog } from './ingest-service.ts'
import type { Ingress, IngressMessage } from './ingress.ts'
import type { PointDirectory } from './point-directory.ts'

export interface EmbeddedBrokerOptions {
  readonly host: string
  readonly port: number
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer }
  readonly directory: PointDirectory
  readonly log: IngestLog
  /** Failed gateway logins, counted in the database like the API's (kinds mqtt-gateway-address, mqtt-address). */
  readonly throttle: LoginThrottle
  /** Refusals are counted (estatehub_mqtt_refused_total), not only logged. */
  readonly metrics: Pick<IngestMetrics, 'mqttRefused'>
}

type RefusalReason = 'throttled' | 'bad_credentials' | 'disabled' | 'client_id' | 'error' | 'acl'

// aedes return codes (MQTT 3.1.1 CONNACK): 4 bad user name or password, 5 not authorised.
function refusal(message: string, returnCode: 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}

/**
 * The hub's own MQTT broker (aedes). Every client is a gateway: its user name is its code, its
 * password the secret whose scrypt hash the hub stores, its client id its code again (so one
 * gateway cannot take over another's session). The ACL (gateway-acl.ts) confines it to its
 * own topics; refusals are logged with the gateway and topic, never the password.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<Ingress> {
  const { directory, log, throttle } = options
  const refused = (action: 'connect' | 'publish' | 'subscribe', reason: RefusalReason) =>
    options.metrics.mqttRefused.inc({ action, reason })
  const gatewayOf = new WeakMap<Client, string>()
  // drainTimeout: one gateway that stops reading must not stall delivery to the others.
  const broker = await Aedes.createBroker({ drainTimeout: 5_000, maxClientsIdLength: 64 })

  broker.authenticate = (client, username, password, done) => {
    const address = remoteAddress(client)
    const code = username ?? ''
    const keys = gatewayLoginKeys(code, address)
    void (async () => {
      const wait = await throttle.waitSeconds(keys)
      if (wait > 0) {
        refused('connect', 'throttled')
        log.warn(
          { gateway: code, address, retryAfterSeconds: wait },
          'mqtt: login refused, too many failures from this address',
        )
        return done(refusal('too many failed logins', 5), false)
      }
      const gateway = code === '' ? undefined : await directory.gateway(code)
      // Spend the scrypt time on unknown names too, so timing does not reveal which exist.
      const ok = await verifyPassword(
        password?.toString('utf8') ?? '',
        gateway?.secretHash ?? UNUSABLE_PASSWORD_HASH,
      )
      if (!gateway || !ok) {
        await throttle.failed(keys)
        refused('connect', 'bad_credentials')
        log.warn({ gateway: code, address }, 'mqtt: login refused, unknown gateway or wrong secret')
        return done(refusal('bad gateway code or secret', 4), false)
      }
      if (!gateway.enabled) {
        refused('connect', 'disabled')
        log.warn({ gateway: code, address }, 'mqtt: login refused, gateway disabled')
        return done(refusal('gateway disabled', 5), false)
      }
      if (client.id !== code) {
        refused('connect', 'client_id')
        log.warn(
          { gateway: code, clientId: client.id, address },
          'mqtt: login refused, client id is not the gateway code',
        )
        return done(refusal('client id must be the gateway code', 5), false)
      }
      await throttle.cleared(keys.slice(0, 1))
      gatewayOf.set(client, code)
      done(null, true)
    })().catch((error: unknown) => {
      refused('connect', 'error')
      log.error({ gateway: code, err: (error as Error).message }, 'mqtt: login check failed')
      done(refusal('server unavailable', 5), false)
    })
  }

  broker.authorizePublish = (client, packet, callback) => {
    // client null: the hub's own publish (acks) or the broker's $SYS messages.
    if (client === null) return callback(null)
    const code = gatewayOf.get(client)
    if (code !== undefined && mayPublish(code, packet.topic)) return callback(null)
    refused('publish', 'acl')
    log.warn({ gateway: code, topic: packet.topic }, 'mqtt: publish refused, not this gateway’s topic')
    callback(new Error(`publish to ${packet.topic} not allowed`))
  }

  broker.authorizeSubscribe = (client, subscription, callback) => {
    const code = gatewayOf.get(client)
    if (code !== undefined && maySubscribe(code, subscription.topic)) return callback(null, subscription)
    refused('subscribe', 'acl')
    log.warn(
      { gateway: code, topic: subscription.topic },
      'mqtt: subscribe refused, not this gateway’s topic',
    )
    // A null subscription is answered with SUBACK failure (0x80); the connection stays up.
    callback(null, null)
  }

  const server: Server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, broker.handle)
    : createTcpServer(broker.handle)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new Error(
        `mqtt.port: ${options.host}:${options.port} is already in use (another broker?); set another port in the config, or mqtt.mode: external`,
      )
    throw error
  }
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host
  const url = `${options.tls ? 'mqtts' : 'mqtt'}://${host.includes(':') ? `[${host}]` : host}:${port}`

  let deliver: ((message: IngressMessage) => void) | undefined
  const onPacket = (packet: { topic: string; payload: Buffer | string }, callback: () => void) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    deliver?.({ topic: packet.topic, payload })
    callback()
  }
  const statusFilter = `${TOPIC_ROOT}/+/status`

  return {
    url,
    async start(onMessage) {
      deliver = onMessage
      await new Promise<void>((resolve) => broker.subscribe(ALL_BATCHES_FILTER, onPacket, resolve))
      await new Promise<void>((resolve) => broker.subscribe(statusFilter, onPacket, resolve))
    },
    publish(topic, payload) {
      return new Promise((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) =>
          error ? reject(error) : resolve(),
        ),
      )
    },
    async close() {
      deliver = undefined
      // Broker first: it ends the gateways' sockets, so server.close() does not wait on them.
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function remoteAddress(client: Client): string {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn
  return conn?.remoteAddress ?? 'unknown'
}
