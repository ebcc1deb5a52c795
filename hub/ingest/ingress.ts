/** One message from a gateway topic, however it reached the hub (embedded or external broker). */
export interface IngressMessage {
  readonly topic: string
  readonly payload: Buffer
}

/**
 * Where gateway messages come from and acks go to: the hub's embedded aedes broker, or an
 * external broker through a shared subscription. The ingest service does not know which.
 */
export interface Ingress {
  /** Starts delivering; `onMessage` is called once per message, in arrival order. */
  start(onMessage: (message: IngressMessage) => void): Promise<void>
  /** QoS 1, not retained. */
  publish(topic: string, payload: Buffer): Promise<void>
  close(): Promise<void>
  /** Where gateways connect (mqtt://host:port or mqtts://…), for logs and the demo. */
  readonly url: string
}
