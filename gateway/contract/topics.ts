/**
 * MQTT topics of the gateway ↔ hub contract (docs/protocol.md). The version is part of the
 * topic, so a v2 gateway and a v1 hub never read each other's payloads by mistake.
 *
 *   estatehub/v1/gw/{gatewayId}/batch    gateway → hub, QoS 1, not retained
 *   estatehub/v1/gw/{gatewayId}/ack      hub → gateway, QoS 1, not retained
 *   estatehub/v1/gw/{gatewayId}/status   gateway → anyone, QoS 1, retained; the will says offline
 *   estatehub/v1/gw/{gatewayId}/command  hub → gateway, reserved (nothing is sent on it yet)
 */

export const TOPIC_ROOT = 'estatehub/v1/gw'

export const topicKinds = ['batch', 'ack', 'status', 'command'] as const
export type TopicKind = (typeof topicKinds)[number]

/**
 * Same rule as `gateway.id` in the gateway config: it is one topic level and the MQTT client id,
 * so no `/`, and none of the wildcards `+` `#` ([MQTT-4.7.1-1]) or a leading `$` ([MQTT-4.7.2-1]).
 * A server need only accept 1-23 alphanumeric client ids [MQTT-3.1.3-5]; Mosquitto, EMQX and
 * aedes accept this longer set, which matches the ids sites already use.
 */
export const GATEWAY_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
const gatewayIdRe = new RegExp(GATEWAY_ID_PATTERN)

export function isGatewayId(id: string): boolean {
  return gatewayIdRe.test(id)
}

function assertGatewayId(id: string): void {
  if (!isGatewayId(id))
    throw new RangeError(`invalid gateway id ${JSON.stringify(id)}: want ${GATEWAY_ID_PATTERN}`)
}

export function gatewayTopic(gatewayId: string, kind: TopicKind): string {
  assertGatewayId(gatewayId)
  return `${TOPIC_ROOT}/${gatewayId}/${kind}`
}

export const batchTopic = (gatewayId: string): string => gatewayTopic(gatewayId, 'batch')
export const ackTopic = (gatewayId: string): string => gatewayTopic(gatewayId, 'ack')
export const statusTopic = (gatewayId: string): string => gatewayTopic(gatewayId, 'status')
export const commandTopic = (gatewayId: string): string => gatewayTopic(gatewayId, 'command')

/** QoS per topic kind: everything is QoS 1 (at least once; the hub de-duplicates by seq). */
export const TOPIC_QOS = 1 as const

/** The inverse of gatewayTopic(); undefined for anything that is not exactly one of ours. */
export function parseTopic(topic: string): { gatewayId: string; kind: TopicKind } | undefined {
  const prefix = `${TOPIC_ROOT}/`
  if (!topic.startsWith(prefix)) return undefined
  const rest = topic.slice(prefix.length).split('/')
  if (rest.length !== 2) return undefined
  const [gatewayId, kind] = rest as [string, string]
  if (!isGatewayId(gatewayId)) return undefined
  if (!(topicKinds as readonly string[]).includes(kind)) return undefined
  return { gatewayId, kind: kind as TopicKind }
}

/** Every gateway's batches, for a hub that is the only subscriber (embedded aedes). */
export const ALL_BATCHES_FILTER = `${TOPIC_ROOT}/+/batch`

/**
 * Hubs sharing one external broker subscribe with a shared subscription, so each batch goes to
 * one hub of the group (MQTT 5 §4.8.2; Mosquitto 2 and EMQX also honour it for 3.1.1 clients).
 * aedes 1.x has no shared subscriptions: with aedes, run one hub and use ALL_BATCHES_FILTER.
 */
export function sharedBatchFilter(group = 'estatehub', gatewayId = '+'): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(group))
    throw new RangeError(`invalid share group ${JSON.stringify(group)}`)
  if (gatewayId !== '+') assertGatewayId(gatewayId)
  return `$share/${group}/${TOPIC_ROOT}/${gatewayId}/batch`
}

/** `$share/estatehub/estatehub/v1/gw/+/batch` */
export const HUB_SHARED_BATCH_FILTER = sharedBatchFilter()
