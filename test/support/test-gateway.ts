import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Value } from 'typebox/value'
import { type GatewayConfig, GatewayConfigSchema } from '../../gateway/config/gateway-config.ts'
import { type RunningGateway, startGateway } from '../../gateway/runtime/gateway-process.ts'
import type { Site } from './ingest-fixture.ts'
import { freePort } from './victoria-metrics.ts'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until `ok()` holds, checking every 10 ms; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

export interface AccessControllerEntry {
  readonly id: string
  readonly token: string
  /** The device code events of this controller are stored under (`<device>/<door>`). */
  readonly device: string
}

export interface TestGatewayOptions {
  /** The hub's MQTT URL (startTestIngest's `url`). */
  readonly hubUrl: string
  /** The gateway's devices and points, as in a gateway config file. */
  readonly devices?: readonly Record<string, unknown>[]
  readonly schedule?: Partial<GatewayConfig['schedule']>
  /** Starts the access receiver for these controllers. */
  readonly accessControllers?: readonly AccessControllerEntry[]
  readonly log?: (line: string) => void
}

export interface TestGateway {
  readonly gateway: RunningGateway
  /** Base URL of the access receiver, when there is one (for drivers/sim/access-controller-sim.ts). */
  readonly accessUrl: string | undefined
  /** Batches in the gateway's outbox not yet acked by the hub, from its health endpoint. */
  outboxBatches(): Promise<number>
  /** Resolves when every batch sealed so far is acked, i.e. committed by the hub. */
  drained(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/**
 * The real gateway process (gateway/runtime/gateway-process.ts) for a seeded site: its
 * identity and secret, a throw-away outbox, health on a free port. The access receiver needs
 * a port chosen up front: the running gateway does not report the one it bound.
 */
export async function startTestGateway(site: Site, options: TestGatewayOptions): Promise<TestGateway> {
  const accessPort = options.accessControllers ? await freePort() : undefined
  const config = Value.Default(GatewayConfigSchema, {
    gateway: { id: site.gatewayCode, secret: site.secret, hubUrl: options.hubUrl },
    outbox: { dir: join(mkdtempSync(join(tmpdir(), 'estatehub-gw-')), 'outbox') },
    http: { port: 0 },
    schedule: options.schedule ?? {},
    ...(accessPort === undefined
      ? {}
      : { access: { host: '127.0.0.1', port: accessPort, controllers: options.accessControllers } }),
    devices: options.devices ?? [],
  }) as GatewayConfig
  const gateway = await startGateway(config, options.log ?? (() => {}))
  const outboxBatches = async () => {
    const health = await fetch(`http://127.0.0.1:${gateway.healthPort}/healthz`).then((r) => r.json())
    return (health as { outboxBatches: number }).outboxBatches
  }
  return {
    gateway,
    accessUrl: accessPort === undefined ? undefined : `http://127.0.0.1:${accessPort}`,
    outboxBatches,
    drained: (timeoutMs = 10_000) =>
      waitUntil('the gateway outbox to drain', async () => (await outboxBatches()) === 0, timeoutMs),
    close: () => gateway.close(),
  }
}
