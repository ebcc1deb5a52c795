import mqtt from 'mqtt'
import { ackTopic, batchTopic, parseAck, type UplinkBatch } from '../../gateway/contract/index.ts'
import type { Site } from './ingest-fixture.ts'

export interface WireGateway {
  /** Publishes one batch as the site's gateway (defaults filled in); resolves when the hub acks it. */
  send(parts: Partial<UplinkBatch>): Promise<number>
  close(): Promise<void>
}

/**
 * Speaks the gateway's side of the wire to a hub's ingest: authenticated as the site's gateway,
 * publishing batches with rising seq and waiting for each ack. For tests that want exact batch
 * contents (times, values) without polling a simulator.
 */
export async function connectWireGateway(url: string, site: Site, timeoutMs = 5_000): Promise<WireGateway> {
  const client = await mqtt.connectAsync(url, {
    clientId: site.gatewayCode,
    username: site.gatewayCode,
    password: site.secret,
    reconnectPeriod: 0,
  })
  const acked = new Set<number>()
  client.on('message', (_topic, payload) => {
    const parsed = parseAck(payload)
    if (parsed.ok) acked.add(parsed.ack.seq)
  })
  await client.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })
  let seq = Date.now()
  return {
    async send(parts) {
      const s = ++seq
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: s,
        oldest: s,
        sentAt: Date.now(),
        historical: false,
        readings: [],
        events: [],
        ...parts,
      }
      await client.publishAsync(batchTopic(site.gatewayCode), JSON.stringify(batch), { qos: 1 })
      const end = Date.now() + timeoutMs
      while (!acked.has(s)) {
        if (Date.now() > end) throw new Error(`no ack for batch ${s} within ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 5))
      }
      return s
    },
    close: () => client.endAsync(),
  }
}
