import { rm } from 'node:fs/promises'
import { InvalidArgumentError } from 'commander'
import { loadHubConfig } from '../config/hub-config.ts'
import { type BackfillReport, backfillDemo, daysCoveringLastPeriod } from '../demo/demo-backfill.ts'
import {
  billDemoPeriod,
  type DemoBillingReport,
  demoFinanceUser,
  seedDemoFees,
} from '../demo/demo-billing.ts'
import { type DemoEdge, startDemoEdge } from '../demo/demo-edge.ts'
import { DEMO_GATEWAY_CODE, seedDemo } from '../demo/seed-demo.ts'
import { loadSettings } from '../metering/meter-read-inputs.ts'
import { type RunningHub, startHub } from './hub-command.ts'

export interface DemoOptions {
  readonly config?: string
  /** Days of history to generate; false: none; undefined: on a first run, enough for last month. */
  readonly backfill?: number | false
  /** Stop on SIGINT/SIGTERM and exit (the CLI); false: the caller stops the demo with close(). */
  readonly handleSignals?: boolean
}

/** A running demo, for callers that start it in-process (the browser tests). */
export interface RunningDemo {
  readonly hub: RunningHub
  readonly estateId: string
  readonly username: string
  readonly password: string
  /** The demo's finance clerk: the second person a bill run's approval needs. */
  readonly finance: { readonly username: string; readonly password: string }
  /** Stops the site, any history still being generated, and the hub. */
  close(): Promise<void>
}

/** `--backfill 40d` (or 40); 0 disables. */
export function parseBackfillDays(text: string): number {
  const match = /^(\d{1,4})d?$/.exec(text.trim())
  if (!match) throw new InvalidArgumentError('use a number of days, e.g. 40d (0 disables)')
  const days = Number(match[1])
  // The ingest keeps readings older than 400 days out of the series (ingest.maxAgeDays).
  if (days > 365) throw new InvalidArgumentError('at most 365d')
  return days
}

type Signal = 'SIGINT' | 'SIGTERM'
const signals: Signal[] = ['SIGINT', 'SIGTERM']

/**
 * `npm start`: the hub on embedded defaults with a seeded demo estate, its history, its site
 * (simulated meters, BACnet plant, door controller, the demo gateway publishing to the hub)
 * and a printed login.
 */
export async function runDemo(options: DemoOptions = {}): Promise<void> {
  await startDemo(options)
}

/** The demo as runDemo starts it, answering a handle once it is ready (undefined if stopped first). */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo | undefined> {
  const config = loadHubConfig(options.config)
  // Without a config file the demo must not clash with a broker already on 1883.
  if (options.config === undefined) config.mqtt.port = 0
  const before = new Map(signals.map((s) => [s, process.listeners(s)]))
  // The demo's terminal is for its banner and what goes wrong: requests are logged at debug.
  const hub = await startHub(config, { requestLogLevel: 'debug' })
  // The hub's own SIGINT/SIGTERM handlers close the API, ingest and store and exit; the demo
  // stops its backfill and its site first, then hands over to them.
  const hubHandlers = new Map(
    signals.map((s) => [s, process.listeners(s).filter((l) => !before.get(s)!.includes(l))]),
  )
  for (const [signal, handlers] of hubHandlers) for (const h of handlers) process.removeListener(signal, h)
  const abort = new AbortController()
  let edge: DemoEdge | undefined
  let work: Promise<unknown> = Promise.resolve()
  let stopping = false
  const halt = async () => {
    stopping = true
    abort.abort()
    await work.catch(() => {})
    await edge?.close().catch(() => {})
  }
  const stop = async (signal: Signal) => {
    if (stopping) return
    await halt()
    for (const handler of hubHandlers.get(signal) ?? []) (handler as (s: Signal) => void)(signal)
  }
  if (options.handleSignals !== false)
    for (const signal of signals) process.once(signal, () => void stop(signal))

  const db = hub.store.db
  const seeding = seedDemo(db)
  work = seeding
  const seed = await seeding
  if (stopping) return
  // The secret and the points changed: the ingest must not answer from its cache.
  hub.ingest.directory.invalidate(DEMO_GATEWAY_CODE)
  const outboxDir = `${config.database.dataDir}-gateway-outbox`
  // A new demo store starts a new demo gateway: batches left from an older store are not its.
  if (seed.created) await rm(outboxDir, { recursive: true, force: true })

  let history: string | undefined
  let billPeriod: string | undefined
  const settings = await loadSettings(db, seed.estateId)
  const days =
    options.backfill === false
      ? 0
      : (options.backfill ??
        (seed.created ? daysCoveringLastPeriod(Date.now(), settings.timeZone, settings.cutoffDay) : 0))
  if (days > 0) {
    const gateway = await hub.ingest.directory.gateway(DEMO_GATEWAY_CODE)
    if (!gateway) throw new Error(`the demo gateway ${DEMO_GATEWAY_CODE} is missing from the store`)
    console.log(`  Generating ${days} days of meter history…`)
    const running = backfillDemo(db, {
      estateId: seed.estateId,
      gateway,
      partitions: hub.ingest.partitions,
      days,
      signal: abort.signal,
    })
    work = running
    try {
      const report = await running
      history = describeBackfill(report, days)
      billPeriod = report.periods.at(-1)?.period
    } catch (error) {
      if (abort.signal.aborted) return
      throw error
    }
  }
  if (stopping) return

  // The money side: a finance clerk (the second person approvals need), the fee configuration
  // on a first run, and the period the history just read billed, approved and partly paid.
  const finance = await demoFinanceUser(db, seed.estateId)
  let billing: string | undefined
  if (seed.created || billPeriod) await seedDemoFees(db, seed.estateId)
  if (billPeriod) {
    const running = billDemoPeriod(db, {
      estateId: seed.estateId,
      period: billPeriod,
      financeUserId: finance.userId,
    })
    work = running
    billing = describeBilling(await running)
  }
  if (stopping) return

  // The site: simulated meters and devices, and the demo gateway reading them into the hub.
  // A taken port leaves the demo with the hub alone rather than failing it.
  const starting = startDemoEdge(db, {
    estateId: seed.estateId,
    outboxDir,
    hubUrl: hub.mqttUrl,
    gatewaySecret: seed.gatewaySecret,
  }).catch((error: Error) => {
    console.log(`  (demo site not started: ${error.message})`)
    return undefined
  })
  work = starting
  edge = await starting
  if (stopping) {
    await edge?.close()
    return
  }
  console.log('')
  console.log('  Demo estate 华景花园 is ready.')
  console.log(`  Console:  ${hub.url}/`)
  console.log(`  Log in:   ${seed.username} / ${seed.password}`)
  console.log(
    `  Finance:  ${finance.username} / ${finance.password} (a second person: approves bill runs, refunds, voids)`,
  )
  console.log(`  API docs: ${hub.url}/docs`)
  console.log(
    `  Try:      curl -s -X POST ${hub.url}/api/v1/auth/login -H 'content-type: application/json' \\`,
  )
  console.log(`              -d '{"username":"${seed.username}","password":"${seed.password}"}'`)
  console.log(`  MQTT:     ${hub.mqttUrl} (the hub's broker; gateway ${DEMO_GATEWAY_CODE} publishes here)`)
  if (history) console.log(`  History:  ${history}`)
  if (billing) console.log(`  Billing:  ${billing}`)
  if (edge)
    console.log(
      `  Gateway:  ${DEMO_GATEWAY_CODE} polls ${edge.meters} simulated unit meters on Modbus TCP ports ${edge.modbusPorts.join(', ')}, a BACnet plant controller and a door controller; health ${edge.gatewayHealthUrl}`,
    )
  console.log('  Stop with Ctrl-C.')
  return {
    hub,
    estateId: seed.estateId,
    username: seed.username,
    password: seed.password,
    finance: { username: finance.username, password: finance.password },
    async close() {
      await halt()
      await hub.app.close()
    },
  }
}

function describeBackfill(report: BackfillReport, days: number): string {
  if (report.skipped) return `not backfilled: ${report.skipped}`
  const seconds = (report.ms / 1000).toFixed(1)
  const reads =
    report.periods.length === 0
      ? `no closed period lies wholly inside the last ${days} days, so no meter reads yet`
      : report.periods
          .map(
            (p) =>
              `meter reads for ${p.period}: ${p.auto} auto, ${p.flagged} flagged${p.other > 0 ? `, ${p.other} other` : ''}`,
          )
          .join('; ')
  return `backfilled ${report.readings} readings in ${seconds} s; ${reads}`
}

function describeBilling(report: DemoBillingReport): string {
  return `${report.period} billed ¥${report.billed} in ${report.run.lines} lines (${report.run.held} held: units without a payer or with a flagged read), approved by the finance clerk; ${report.payments} payments taken at the desk; ${(report.ms / 1000).toFixed(1)} s`
}
