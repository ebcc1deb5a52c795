import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The ingest's Prometheus metrics, on the hub's registry (one registry per hub instance). */
export function createIngestMetrics(registry: Registry) {
  return {
    batches: new Counter({
      name: 'estatehub_ingest_batches_total',
      help: 'Uplink batches handled, by result: committed, duplicate, dead_letter, failed',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    readings: new Counter({
      name: 'estatehub_ingest_readings_total',
      help: 'Readings committed to the readings table',
      registers: [registry],
    }),
    unmatched: new Counter({
      name: 'estatehub_ingest_unmatched_readings_total',
      help: 'Readings and events set aside in unmatched_readings (unknown point, implausible time, a value that cannot be stored as sent)',
      registers: [registry],
    }),
    events: new Counter({
      name: 'estatehub_ingest_events_total',
      help: 'Device events committed',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'estatehub_ingest_dead_letters_total',
      help: 'Payloads refused and stored in dead_letters, by reason class',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'estatehub_ingest_commit_seconds',
      help: 'Time to commit one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: 'estatehub_ingest_lag_seconds',
      help: 'Seconds between a gateway sealing its latest committed batch and the hub committing it',
      labelNames: ['gateway'] as const,
      registers: [registry],
    }),
    mqttRefused: new Counter({
      name: 'estatehub_mqtt_refused_total',
      help: 'What the embedded broker refused, by action (connect, publish, subscribe) and reason (throttled, bad_credentials, disabled, client_id, error, acl)',
      labelNames: ['action', 'reason'] as const,
      registers: [registry],
    }),
    gatewaysOnline: new Gauge({
      name: 'estatehub_gateways_online',
      help: 'Gateways whose last status message said online',
      registers: [registry],
    }),
  }
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>
