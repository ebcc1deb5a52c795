import Fastify, { type FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import type { DeviceStatus } from './device-status.ts'

/** What the health endpoint and the gauges read, asked at scrape time. */
export interface GatewayHealthSource {
  readonly gatewayId: string
  uplinkConnected(): boolean
  outboxDepth(): number
  outboxBytes(): number
  outboxFull(): boolean
  /** Milliseconds since the epoch of the hub's last ack; 0 before the first. */
  lastAckAt(): number
  /** Every configured device, of every protocol (device-status.ts). */
  devices(): readonly DeviceStatus[]
}

/**
 * The gateway's own Prometheus registry and counters: polls, poll errors, readings by
 * quality, outbox depth and the age of the last ack, the signals an operator alarms on.
 */
export function createGatewayMetrics(source: GatewayHealthSource) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'estatehub_gateway_' })
  const polls = new Counter({
    name: 'estatehub_gateway_polls_total',
    help: 'Poll jobs run, by device',
    labelNames: ['device'] as const,
    registers: [registry],
  })
  const pollErrors = new Counter({
    name: 'estatehub_gateway_poll_errors_total',
    help: 'Poll jobs that failed outright, by device',
    labelNames: ['device'] as const,
    registers: [registry],
  })
  const readings = new Counter({
    name: 'estatehub_gateway_readings_total',
    help: 'Readings taken, by quality',
    labelNames: ['quality'] as const,
    registers: [registry],
  })
  const outboxRefused = new Counter({
    name: 'estatehub_gateway_outbox_refused_total',
    help: 'Batches refused because the outbox was full',
    registers: [registry],
  })
  new Gauge({
    name: 'estatehub_gateway_outbox_batches',
    help: 'Batches waiting for the hub',
    registers: [registry],
    collect() {
      this.set(source.outboxDepth())
    },
  })
  new Gauge({
    name: 'estatehub_gateway_outbox_bytes',
    help: 'Bytes of batches waiting for the hub',
    registers: [registry],
    collect() {
      this.set(source.outboxBytes())
    },
  })
  new Gauge({
    name: 'estatehub_gateway_uplink_connected',
    help: '1 while connected to the broker',
    registers: [registry],
    collect() {
      this.set(source.uplinkConnected() ? 1 : 0)
    },
  })
  new Gauge({
    name: 'estatehub_gateway_last_ack_timestamp_seconds',
    help: "Time of the hub's last ack",
    registers: [registry],
    collect() {
      this.set(source.lastAckAt() / 1000)
    },
  })
  new Gauge({
    name: 'estatehub_gateway_devices_online',
    help: 'Devices answering their polls',
    registers: [registry],
    collect() {
      this.set(source.devices().filter((d) => d.online === true).length)
    },
  })
  return { registry, polls, pollErrors, readings, outboxRefused }
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>

/** `/healthz` (200 while the outbox has room, 503 when full) and `/metrics`. */
export function buildGatewayHealthApp(source: GatewayHealthSource, metrics: GatewayMetrics): FastifyInstance {
  const app = Fastify({ logger: false })
  app.get('/healthz', async (_request, reply) => {
    const body = {
      gateway: source.gatewayId,
      status: source.outboxFull() ? 'outbox-full' : 'ok',
      uplinkConnected: source.uplinkConnected(),
      outboxBatches: source.outboxDepth(),
      lastAckAt: source.lastAckAt() ? new Date(source.lastAckAt()).toISOString() : null,
      devices: source.devices(),
    }
    return reply.status(source.outboxFull() ? 503 : 200).send(body)
  })
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })
  return app
}
