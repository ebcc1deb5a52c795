import { ackTopic, batchTopic, commandTopic, statusTopic } from '../../gateway/contract/index.ts'

/**
 * What an authenticated gateway may do on the hub's broker: publish its own batches and
 * status (the will included), subscribe to its own acks and commands. Exact topics, no
 * wildcards, so a gateway can never read or write another gateway's traffic.
 */
export function mayPublish(gatewayCode: string, topic: string): boolean {
  return topic === batchTopic(gatewayCode) || topic === statusTopic(gatewayCode)
}

export function maySubscribe(gatewayCode: string, topicFilter: string): boolean {
  return topicFilter === ackTopic(gatewayCode) || topicFilter === commandTopic(gatewayCode)
}
