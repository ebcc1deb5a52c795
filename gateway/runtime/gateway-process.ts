import { randomBytes } from 'node:crypto'
import { createStateChangeDetector } from '../../drivers/access/state-change-events.ts'
import { familyOf } from '../../drivers/contract/protocol-registry.ts'
import type { DeviceEvent, Reading } from '../../drivers/driver-types.ts'
import type { GatewayConfig } from '../config/gateway-config.ts'
import { toWireEvent, toWireReading } from '../contract/wire-codec.ts'
import { Outbox } from '../outbox/outbox.ts'
import { Uplink } from '../uplink/uplink.ts'
import { closeDrivers, familiesToOpen, openDrivers } from './device-drivers.ts'
import { pointReaders, pushSubscriptions, stateEventMappings } from './device-readers.ts'
import { DeviceStatusBoard } from './device-status.ts'
import { buildGatewayHealthApp, createGatewayMetrics } from './gateway-health.ts'
import { PollSchedule } from './poll-schedule.ts'
import { ReadingBatcher } from './reading-batcher.ts'

/** Events someone must act on now: they do not wait for the batch's linger. */
const urgentEventTypes = new Set<string>(['forced', 'held_open', 'tamper', 'alarm_input', 'alarm'])

export interface RunningGateway {
  readonly session: string
  readonly healthPort: number
  /** Runs every poll job once now and waits until its readings are in the outbox. */
  pollNow(): Promise<void>
  close(): Promise<void>
}

/**
 * The on-site process: poll jobs per device and point kind on aligned ticks → batches →
 * the durable outbox → the MQTT uplink, which deletes a batch only when the hub acks it.
 * Pushed events (access controllers, BACnet alarms) join the same batches.
 */
export async function startGateway(
  config: GatewayConfig,
  log: (line: string) => void = console.log,
): Promise<RunningGateway> {
  const session = randomBytes(6).toString('base64url')
  const outbox = await Outbox.open(config.outbox.dir, {
    gateway: config.gateway.id,
    session,
    maxBatches: config.outbox.maxBatches,
    maxBytes: config.outbox.maxBytes,
  })
  const uplink = new Uplink(outbox, {
    url: config.gateway.hubUrl,
    gatewayId: config.gateway.id,
    secret: config.gateway.secret,
    session,
    caFile: config.gateway.caFile,
    ackTimeoutMs: config.gateway.ackTimeoutMs,
    ackTimeoutMaxMs: config.gateway.ackTimeoutMaxMs,
    log,
  })
  // Pushed values and events wait for the batcher, which needs the metrics, which need the
  // drivers' health: this sink forwards once the batcher exists.
  let push: { reading(r: Reading): void; event(e: DeviceEvent): void } | undefined
  const sink = { reading: (r: Reading) => push?.reading(r), event: (e: DeviceEvent) => push?.event(e) }
  const drivers = await openDrivers(config, familiesToOpen(config, 'run'), sink)
  const driverOf = (protocol: string) => {
    const family = familyOf(protocol)
    return family && drivers.get(family.family)
  }

  // Every device of every protocol, with its state, last good reading and last error; a change
  // of state is logged once, not per poll.
  const board = new DeviceStatusBoard({
    devices: config.devices,
    runningFamilies: new Set(drivers.keys()),
    health: (device) => driverOf(device.protocol)?.health?.(device.code),
    onChange: (status) => {
      const why =
        status.state === 'failed' || status.state === 'degraded' ? `: ${status.lastError?.reason}` : ''
      log(`device ${status.code} (${status.protocol}): ${status.state}${why}`)
    },
  })
  const source = {
    gatewayId: config.gateway.id,
    uplinkConnected: () => uplink.connected,
    outboxDepth: () => outbox.depth,
    outboxBytes: () => outbox.bytes,
    outboxFull: () => outbox.full,
    lastAckAt: () => uplink.lastAckAt,
    devices: () => board.list(),
  }
  const metrics = createGatewayMetrics(source)
  const batcher = new ReadingBatcher({
    maxReadings: config.schedule.maxReadingsPerBatch,
    lingerMs: 250,
    // Security and alarm events leave within 10 ms (a burst still shares one batch).
    urgentLingerMs: 10,
    isUrgent: (event) => urgentEventTypes.has(event.type),
    sink: async (batch) => {
      try {
        // Sealed while the link is down means replayed late: the hub marks it historical.
        await outbox.append({
          readings: batch.readings.map(toWireReading),
          events: batch.events.map(toWireEvent),
          historical: !uplink.connected,
        })
        uplink.kick()
      } catch (error) {
        metrics.outboxRefused.inc()
        log(`outbox refused a batch of ${batch.readings.length} readings: ${(error as Error).message}`)
        throw error
      }
    },
  })
  const onEvent = (event: DeviceEvent) => {
    board.recordEvent(event)
    batcher.addEvent(event)
  }
  const detectStateChange = createStateChangeDetector(stateEventMappings(config))
  push = {
    event: onEvent,
    reading: (reading) => {
      metrics.readings.inc({ quality: reading.quality })
      board.recordReadings([reading])
      const event = detectStateChange(reading)
      if (event) onEvent(event)
      batcher.addReadings([reading])
    },
  }

  const schedule = new PollSchedule({
    onError: (job, error) => log(`poll ${job.key} failed: ${(error as Error).message}`),
  })
  for (const reader of pointReaders(config, drivers)) {
    schedule.add({
      key: `${reader.device}:${reader.kind}`,
      intervalMs: reader.intervalMs,
      run: async () => {
        metrics.polls.inc({ device: reader.device })
        let readings: Reading[]
        try {
          readings = await reader.read()
        } catch (error) {
          metrics.pollErrors.inc({ device: reader.device })
          board.recordFailure(reader.device, error)
          throw error
        }
        board.recordReadings(readings)
        for (const r of readings) {
          metrics.readings.inc({ quality: r.quality })
          const event = detectStateChange(r)
          if (event) onEvent(event)
        }
        batcher.addReadings(readings)
      },
    })
  }

  // Pushed points (BACnet COV) report by themselves. A subscription the device refuses at start
  // is logged and not retried until the next start (drivers renew only what they hold).
  const cancels: (() => Promise<void> | void)[] = []
  for (const { family, device } of pushSubscriptions(config)) {
    const driver = drivers.get(family)
    if (!driver?.subscribe) continue
    try {
      cancels.push(await driver.subscribe(device, sink))
    } catch (error) {
      log(`subscription ${device.code}/${device.points[0]?.code} failed: ${(error as Error).message}`)
      board.recordFailure(device.code, error)
    }
  }

  const health = buildGatewayHealthApp(source, metrics)
  await health.listen({ host: config.http.host, port: config.http.port })
  const healthPort = (health.server.address() as { port: number }).port
  uplink.start()
  schedule.start()

  return {
    session,
    healthPort,
    async pollNow() {
      await schedule.runOnce()
      await batcher.flush()
    },
    async close() {
      schedule.stop()
      await schedule.idle()
      for (const cancel of cancels) await cancel()
      await batcher.flush().catch(() => {})
      await health.close()
      await closeDrivers(drivers)
      await uplink.close()
      await outbox.close()
    },
  }
}

/** `estatehub gateway`: runs until SIGINT/SIGTERM, then flushes and closes cleanly. */
export async function runGatewayProcess(config: GatewayConfig) {
  // Progress lines are info; warn and above keep them quiet.
  const quiet = ['warn', 'error', 'fatal', 'silent'].includes(config.log.level)
  const gateway = await startGateway(config, quiet ? () => {} : console.log)
  // Always printed, like the hub's: where to look, whatever the log level.
  console.log(
    `gateway ${config.gateway.id} session ${gateway.session}: ${config.devices.length} devices, health on ${config.http.host}:${gateway.healthPort}`,
  )
  const stop = async () => {
    await gateway.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}
