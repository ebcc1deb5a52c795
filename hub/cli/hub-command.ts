import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../api/build-app.ts'
import { type HubConfig, loadHubConfig } from '../config/hub-config.ts'
import type { Store } from '../store/open-store.ts'
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
}

/** Opens the store, builds the API and listens; closes both on SIGINT/SIGTERM. */
export async function startHub(config: HubConfig): Promise<RunningHub> {
  const store = await openMigratedStore(config)
  const tls = config.http.tls
  const app = await buildApp({
    store,
    auth: config.auth,
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
  app.addHook('onClose', () => store.close())
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
  console.log(
    `EstateHub hub on ${url}  (API ${url}/api/v1, OpenAPI ${url}/docs)  store: ${describeStore(config)}`,
  )
  return { app, store, url }
}

export async function runHub(configFile: string | undefined) {
  await startHub(loadHubConfig(configFile))
}
