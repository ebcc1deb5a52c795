import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { AlarmEngine } from '../alarms/alarm-engine.ts'
import { buildApp } from '../app/build-app.ts'
import { hubModules } from '../app/hub-modules.ts'
import { type HubConfig, loadHubConfig } from '../config/hub-config.ts'
import type { InCommitHook } from '../ingest/batch-writer.ts'
import { type RunningIngest, startIngest } from '../ingest/start-ingest.ts'
import { createMetrics, listenForMetrics, type MetricsListener } from '../kernel/http-metrics.ts'
import type { HubJob } from '../kernel/hub-module.ts'
import { jobLeases, leasedJob, newHubId } from '../kernel/job-lease.ts'
import { NotificationDispatcher } from '../notify/notification-dispatcher.ts'
import type { Store } from '../store/open-store.ts'
import { influxCopy } from '../timeseries/influx-copy.ts'
import { LiveFeed } from '../timeseries/live-feed.ts'
import { LiveRelay, liveNotifyHook } from '../timeseries/live-relay.ts'
import { SeriesTagDirectory } from '../timeseries/series-tags.ts'
import { describeStore, openMigratedStore } from './open-hub-store.ts'

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file)
  } catch (error) {
    throw new Error(`${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

export interface RunningHub {
  readonly app: FastifyInstance
  readonly store: Store
  readonly url: string
  readonly ingest: RunningIngest
  /** Where gateways connect (the embedded broker, or the external one). */
  readonly mqttUrl: string
  /** Where Prometheus scrapes when `metrics.listen` is set (its own listener). */
  readonly metricsUrl?: string
  /** This hub's id among the hubs (hostname:pid:random): the holder of its job leases. */
  readonly hubId: string
  /** The background jobs it runs (each once across hubs, by lease: hub/kernel/job-lease.ts). */
  readonly jobs: readonly HubJob[]
}

/** Job lease TTL and job cadences other than the defaults (tests run them in seconds). */
export interface HubJobOptions {
  readonly leaseTtlMs?: number
  /** By job name, e.g. `{ 'meter-read scheduler': 1000 }`. */
  readonly everyMs?: Readonly<Record<string, number>>
}

/** `host:port` or `[v6]:port` (the config's pattern) apart. */
function hostAndPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':')
  return { host: listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(colon + 1)) }
}

const HOUR_MS = 3_600_000

/** Work that commits with each batch, run in order inside its transaction. */
function inCommitHooks(...hooks: (InCommitHook | undefined)[]): InCommitHook {
  const list = hooks.filter((h): h is InCommitHook => h !== undefined)
  return async (trx, move) => {
    for (const hook of list) await hook(trx, move)
  }
}

/**
 * Opens the store, builds the API and listens; closes both on SIGINT/SIGTERM. The hub logs one
 * line per request at info; `requestLogLevel: 'debug'` keeps them out of an info-level terminal.
 */
export async function startHub(
  config: HubConfig,
  options: { readonly requestLogLevel?: 'info' | 'debug'; readonly jobs?: HubJobOptions } = {},
): Promise<RunningHub> {
  const hubId = newHubId()
  const store = await openMigratedStore(config)
  const tls = config.http.tls
  const metrics = createMetrics()
  // Sends the notification outbox (webhooks, e-mail); started with the other timers below.
  const notifications = new NotificationDispatcher(store.db, config.notifications)
  // Committed readings for the API's live stream (GET /api/v1/live).
  const live = new LiveFeed()
  const modules = hubModules({ auth: config.auth, live, notifications })
  const app = await buildApp({
    store,
    metrics,
    // On the API port only with the token; metrics.listen serves them apart.
    metricsAccess: config.metrics.token ? { token: config.metrics.token } : 'off',
    rateLimits: config.rateLimits,
    ...(config.http.trustProxy ? { trustProxy: config.http.trustProxy } : {}),
    modules,
    ...(options.requestLogLevel ? { requestLogLevel: options.requestLogLevel } : {}),
    logger: {
      level: config.log.level,
      redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.secret', '*.token'],
    },
    ...(tls
      ? {
          https: {
            cert: readPem(tls.certFile, 'http.tls.certFile'),
            key: readPem(tls.keyFile, 'http.tls.keyFile'),
          },
        }
      : {}),
  })
  // Loaded only when configured: a hub without InfluxDB never loads its client.
  store.onConnectionLost((error) =>
    app.log.warn(
      { code: (error as { code?: string }).code, err: error.message },
      'store: the database ended a connection; the pool opens a new one on the next query',
    ),
  )
  const influx = config.influx
    ? new (await import('../timeseries/influx-writer.ts')).InfluxWriter(config.influx, {
        registry: metrics.registry,
        log: (level: 'warn' | 'error' | 'info', message: string, fields?: object) =>
          app.log[level](fields ?? {}, message),
      })
    : undefined
  const copyToInflux = influx
    ? influxCopy(new SeriesTagDirectory(store.db), influx, (message) => app.log.warn(message))
    : undefined
  // Alarm rules are judged inside every batch's transaction, in the gateway's seq order, with
  // their state in the database (alarm-engine.ts): any hub, the same answer.
  const alarms = new AlarmEngine(store.db, app.log)
  // On PostgreSQL every hub's batches reach every hub's live streams through NOTIFY, this hub's
  // own included (so only that way); on PGlite (one process) the feed is fed in-process.
  const relay =
    store.backend === 'postgres' && config.database.url
      ? new LiveRelay({ url: config.database.url, feed: live, log: app.log })
      : undefined
  relay?.start()
  const mqttTls = config.mqtt.tls
  let ingest: RunningIngest
  try {
    ingest = await startIngest({
      db: store.db,
      config,
      registry: metrics.registry,
      log: app.log,
      ...(mqttTls
        ? {
            tls: {
              cert: readPem(mqttTls.certFile, 'mqtt.tls.certFile'),
              key: readPem(mqttTls.keyFile, 'mqtt.tls.keyFile'),
            },
          }
        : {}),
      inCommit: inCommitHooks(alarms.inCommit, relay && liveNotifyHook(app.log)),
      onCommitted: (committed) => {
        if (!relay) live.publish(committed)
        copyToInflux?.(committed)
      },
    })
  } catch (error) {
    await relay?.close()
    await app.close()
    await store.close()
    throw error
  }
  // Each domain's background jobs (meter-read scheduler, SLA escalation, alarm watch, the
  // notification dispatcher…), stopped in the same order. Each runs on one hub at a time: the
  // one holding its lease in the database (hub/kernel/job-lease.ts, docs/operations.md).
  app.log.info({ hubId }, `hub id ${hubId}: the holder name of the job leases this hub takes`)
  // PGlite is one process's (its data directory is locked): a lease left in it is a crashed
  // run's, not another hub's, so the restarted hub need not wait out its TTL.
  if (store.backend === 'pglite') await store.db.deleteFrom('jobLeases').execute()
  const context = {
    db: store.db,
    log: app.log,
    notifications,
    ...jobLeases(store.db, app.log, {
      hubId,
      ...(options.jobs?.leaseTtlMs !== undefined ? { ttlMs: options.jobs.leaseTtlMs } : {}),
      ...(options.jobs?.everyMs ? { everyMs: options.jobs.everyMs } : {}),
    }),
  }
  // Gauges and states age out by whole monthly partitions; counters stay for billing. One hub
  // drops them (another hub's insert into a dropped month re-creates it: batch-writer.ts).
  const retentionMs = config.timeseries.gaugeRetentionDays * 86_400_000
  const retention = leasedJob(context, {
    name: 'timeseries retention',
    everyMs: HOUR_MS,
    atStart: true,
    run: async () => {
      const dropped = await ingest.partitions.dropOtherBefore(Date.now() - retentionMs)
      if (dropped.length > 0)
        app.log.info({ dropped, hubId }, 'timeseries: gauge partitions past retention dropped')
    },
  })
  const jobs = [...modules.flatMap((m) => m.jobs?.(context) ?? []), retention]
  for (const job of jobs) job.start()
  let metricsListener: MetricsListener | undefined
  app.addHook('onClose', async () => {
    await metricsListener?.close()
    for (const job of jobs) await job.stop()
    await ingest.close()
    await relay?.close()
    await influx?.close()
    await store.close()
  })
  try {
    await app.listen({ host: config.http.host, port: config.http.port })
  } catch (error) {
    await app.close()
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `http.port: ${config.http.host}:${config.http.port} is already in use; set another port in the config (0 picks a free one)`,
      )
    }
    throw error
  }
  if (config.metrics.listen) {
    const { host, port } = hostAndPort(config.metrics.listen)
    try {
      metricsListener = await listenForMetrics(metrics.registry, host, port)
    } catch (error) {
      await app.close()
      const code = (error as NodeJS.ErrnoException).code
      throw new Error(
        `metrics.listen: cannot listen on ${config.metrics.listen} (${code ?? (error as Error).message})${
          code === 'EADDRINUSE' ? '; set another port (0 picks a free one)' : ''
        }`,
      )
    }
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    await app.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  const metricsAt = metricsListener?.url ?? (config.metrics.token ? `${url}/metrics (token)` : 'off')
  console.log(
    `EstateHub hub on ${url}  (API ${url}/api/v1, OpenAPI ${url}/docs)  store: ${describeStore(config)}  gateways: ${ingest.url}  metrics: ${metricsAt}`,
  )
  return {
    app,
    store,
    url,
    ingest,
    mqttUrl: ingest.url,
    hubId,
    jobs,
    ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
  }
}

export async function runHub(configFile: string | undefined) {
  await startHub(loadHubConfig(configFile))
}
