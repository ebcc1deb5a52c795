import { readFileSync } from 'node:fs'
import mqtt, { type MqttClient } from 'mqtt'
import { sharedBatchFilter, TOPIC_ROOT } from '../../gateway/contract/index.ts'
import type { IngestLog } from './ingest-service.ts'
import type { Ingress, IngressMessage } from './ingress.ts'

export interface ExternalBrokerOptions {
  readonly url: string
  readonly username?: string | undefined
  readonly password?: string | undefined
  readonly clientId: string
  readonly shareGroup: string
  readonly caFile?: string | undefined
  readonly log: IngestLog
}

/**
 * Consumes from an external broker (Mosquitto, EMQX) through an MQTT 5 shared subscription,
 * so several hubs split the batches between them. The broker authenticates gateways and
 * confines them to their topics (its ACL, see docs/operations.md); the hub still checks that a
 * batch names the gateway of its topic. The broker's PUBACK means nothing to the gateway: only
 * the hub's ack after commit does, so a hub that dies holding a batch loses nothing.
 *
 * Clean session, PUBACK on receipt, on purpose (measured, docs/protocol.md "Several hubs and
 * the broker"): Mosquitto 2.0 never gives a dead member's unacknowledged messages to another
 * member of the share group, and a persistent session would park batches (and half of those
 * that follow) on a dead hub until it returns. mqtt.js 5 also cannot delay one PUBACK without
 * stalling every packet behind it. The gateway's short ack wait brings the batch to a live hub.
 */
export async function connectExternalBroker(options: ExternalBrokerOptions): Promise<Ingress> {
  const { log } = options
  let client: MqttClient | undefined
  let deliver: ((message: IngressMessage) => void) | undefined
  const filters = [sharedBatchFilter(options.shareGroup), `${TOPIC_ROOT}/+/status`]
  return {
    url: options.url,
    async start(onMessage) {
      deliver = onMessage
      client = await mqtt.connectAsync(options.url, {
        protocolVersion: 5,
        clientId: options.clientId,
        clean: true, // session expiry 0 (MQTT 5 default): nothing kept for a hub that is gone
        reconnectPeriod: 2_000,
        connectTimeout: 10_000,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.caFile === undefined ? {} : { ca: readFileSync(options.caFile) }),
      })
      client.on('message', (topic, payload) => deliver?.({ topic, payload }))
      // clean: true forgets subscriptions on reconnect, so subscribe on every connect.
      const subscribe = async () => {
        const granted = await client!.subscribeAsync(filters, { qos: 1 })
        const refused = granted.filter((g) => g.qos > 2)
        if (refused.length > 0)
          log.error(
            { filters: refused.map((g) => g.topic) },
            'mqtt: the broker refused the hub’s subscriptions',
          )
      }
      client.on('connect', () => void subscribe().catch(() => {}))
      client.on('error', (error) => log.warn({ err: error.message }, 'mqtt: external broker error'))
      await subscribe()
    },
    async publish(topic, payload) {
      if (client === undefined) throw new Error('not connected')
      await client.publishAsync(topic, payload, { qos: 1, retain: false })
    },
    async close() {
      deliver = undefined
      await client?.endAsync()
    },
  }
}
