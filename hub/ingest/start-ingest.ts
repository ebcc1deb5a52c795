import type { Kysely } from 'kysely'
import type { Registry } from 'prom-client'
import { LoginThrottle } from '../auth/login-throttle.ts'
import type { HubConfig } from '../config/hub-config.ts'
import type { Database } from '../store/database-schema.ts'
import type { InCommitHook } from './batch-writer.ts'
import { startEmbeddedBroker } from './embedded-broker.ts'
import { connectExternalBroker } from './external-broker.ts'
import { createIngestMetrics } from './ingest-metrics.ts'
import { type CommittedBatch, type IngestLog, IngestService } from './ingest-service.ts'
import type { Ingress } from './ingress.ts'
import { PointDirectory } from './point-directory.ts'
import { ReadingPartitions } from './reading-partitions.ts'

export interface RunningIngest {
  readonly service: IngestService
  readonly directory: PointDirectory
  readonly partitions: ReadingPartitions
  /** Where gateways connect. */
  readonly url: string
  close(): Promise<void>
}

export interface IngestStartOptions {
  readonly db: Kysely<Database>
  readonly config: Pick<HubConfig, 'mqtt' | 'ingest'>
  readonly registry: Registry
  readonly log: IngestLog
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer }
  readonly onCommitted?: (committed: CommittedBatch) => void
  /** Work that commits with each batch (batch-writer.ts InCommitHook). */
  readonly inCommit?: InCommitHook
}

/** Starts the MQTT ingress the config asks for and the ingest behind it. */
export async function startIngest(options: IngestStartOptions): Promise<RunningIngest> {
  const { db, config, log } = options
  const directory = new PointDirectory(db)
  const partitions = new ReadingPartitions(db)
  const mqtt = config.mqtt
  const metrics = createIngestMetrics(options.registry)
  let ingress: Ingress
  if (mqtt.mode === 'external') {
    ingress = await connectExternalBroker({
      url: mqtt.url ?? '',
      username: mqtt.username,
      password: mqtt.password,
      clientId: mqtt.clientId,
      shareGroup: mqtt.shareGroup,
      caFile: mqtt.caFile,
      log,
    })
  } else {
    ingress = await startEmbeddedBroker({
      host: mqtt.host,
      port: mqtt.port,
      ...(options.tls ? { tls: options.tls } : {}),
      directory,
      log,
      throttle: new LoginThrottle(db),
      metrics,
    })
  }
  const service = new IngestService({
    db,
    ingress,
    directory,
    partitions,
    metrics,
    log,
    limits: {
      maxFutureMs: config.ingest.maxFutureMinutes * 60_000,
      maxAgeMs: config.ingest.maxAgeDays * 86_400_000,
    },
    ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}),
    ...(options.inCommit ? { inCommit: options.inCommit } : {}),
  })
  try {
    await service.start()
  } catch (error) {
    await ingress.close()
    throw error
  }
  return { service, directory, partitions, url: ingress.url, close: () => service.close() }
}
