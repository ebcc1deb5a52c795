import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { type ModbusTcpSim, startModbusTcpSim } from '../drivers/sim/modbus-tcp-sim.ts'
import { encodeAck } from '../gateway/contract/ack-schema.ts'
import { parseBatch, type UplinkBatch } from '../gateway/contract/batch-schema.ts'
import { ALL_BATCHES_FILTER, ackTopic } from '../gateway/contract/topics.ts'

const bin = join(import.meta.dirname, '..', 'bin', 'estatehub.js')
const METERS = 200
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Restartable {
  readonly name: string
  port: number
  start(): Promise<void>
  stop(): Promise<void>
}

/** An in-process aedes broker that can be stopped and started again on the same port. */
class RestartableAedes implements Restartable {
  readonly name = 'aedes'
  port = 0
  #stop: (() => Promise<void>) | undefined
  async start() {
    const broker = await Aedes.createBroker({ drainTimeout: 2_000 })
    const server: Server = createServer(broker.handle)
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.#stop = async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  async stop() {
    await this.#stop?.()
    this.#stop = undefined
  }
}

/** A Mosquitto process of the test's own (the shared one cannot be stopped), same port each start. */
class RestartableMosquitto implements Restartable {
  readonly name = 'mosquitto'
  port = 0
  #child: ChildProcess | undefined
  async start() {
    if (this.port === 0) {
      const probe = createServer()
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
      this.port = (probe.address() as { port: number }).port
      await new Promise((resolve) => probe.close(resolve))
    }
    this.#child = spawn(mosquittoBin!, ['-p', String(this.port)], { stdio: 'ignore' })
    for (let i = 0; i < 50; i++) {
      if (await portOpen(this.port)) return
      await sleep(100)
    }
    throw new Error(`mosquitto did not listen on ${this.port}`)
  }
  async stop() {
    const child = this.#child
    if (!child || child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

const mosquittoBin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) =>
  existsSync(p),
)
// CI runs this against Mosquitto too; a laptop without it runs aedes only, saying why.
if (!mosquittoBin && process.env.CI === 'true')
  throw new Error('mosquitto binary not found: the outage suite needs it in CI')
if (!mosquittoBin)
  console.warn('[estatehub tests] mosquitto not installed: the outage suite runs on aedes only')
const brokers: (() => Restartable)[] = [
  () => new RestartableAedes(),
  ...(mosquittoBin ? [() => new RestartableMosquitto()] : []),
]

/** Stands in for the hub: de-duplicates by seq and acks cumulatively, as the contract says. */
class AckingHub {
  readonly firstDeliveries: UplinkBatch[] = []
  committed = 0
  #seen = new Set<number>()
  #client: MqttClient
  constructor(url: string) {
    this.#client = mqtt.connect(url, { clientId: 'test-hub', reconnectPeriod: 200, clean: true })
    this.#client.on('connect', () => void this.#client.subscribe(ALL_BATCHES_FILTER, { qos: 1 }))
    this.#client.on('message', (_topic, payload) => {
      const parsed = parseBatch(payload)
      if (!parsed.ok) throw new Error(parsed.error)
      const batch = parsed.batch
      if (!this.#seen.has(batch.seq)) {
        this.#seen.add(batch.seq)
        this.firstDeliveries.push(batch)
      }
      // Every seq below `oldest` is settled (docs/protocol.md): start the contiguous mark there.
      if (this.committed < batch.oldest - 1) this.committed = batch.oldest - 1
      while (this.#seen.has(this.committed + 1)) this.committed++
      this.#client.publish(ackTopic(batch.gateway), encodeAck(this.committed), { qos: 1 })
    })
  }
  readings() {
    return this.firstDeliveries.flatMap((b) =>
      b.readings.map((r) => ({ ...r, seq: b.seq, historical: b.historical })),
    )
  }
  close() {
    return this.#client.endAsync(true)
  }
}

function startGatewayProcess(config: string): Promise<{ child: ChildProcess; healthPort: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'gateway', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL') // not left running after the test gave up on it
      reject(new Error(`gateway did not start: ${out}`))
    }, 120_000)
    child.stdout!.on('data', (d) => {
      out += d
      const match = out.match(/health on [\d.]+:(\d+)/)
      if (match) {
        clearTimeout(timer)
        resolve({ child, healthPort: Number(match[1]) })
      }
    })
    child.stderr!.on('data', (d) => (out += d))
  })
}

async function health(port: number): Promise<{ outboxBatches: number; uplinkConnected: boolean }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`)
  return (await response.json()) as { outboxBatches: number; uplinkConnected: boolean }
}

/** Poll jobs the gateway reports it ran, by device, less the ones that failed outright. */
async function pollsByDevice(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const counted = (name: string) =>
    new Map(
      [...text.matchAll(new RegExp(`^${name}\\{device="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    )
  const errors = counted('estatehub_gateway_poll_errors_total')
  return new Map([...counted('estatehub_gateway_polls_total')].map(([d, n]) => [d, n - (errors.get(d) ?? 0)]))
}

/** A meter the gateway has not polled yet is not in its metrics: it does not count as done. */
function everyMeter(polls: Map<string, number>, done: (device: string, polls: number) => boolean) {
  return polls.size === METERS && [...polls].every(([d, n]) => done(d, n))
}

/** Waits for a condition the system reports, not for a span of wall-clock time. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await sleep(100)
  }
}

describe.each(brokers.map((make) => ({ make, name: make().name })))(
  'gateway store-and-forward through a broker outage and a SIGKILL on $name',
  ({ make }) => {
    const broker = make()
    let sim: ModbusTcpSim
    let hub: AckingHub
    const children: ChildProcess[] = []
    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL')
      await hub?.close()
      await sim?.close()
      await broker.stop()
    })

    it(`delivers every counter of ${METERS} meters exactly once, in order`, async () => {
      await broker.start()
      sim = await startModbusTcpSim({ port: 0, meters: METERS })
      hub = new AckingHub(`mqtt://127.0.0.1:${broker.port}`)
      const dir = mkdtempSync(join(tmpdir(), 'estatehub-outage-'))
      // A generous Modbus timeout: on a loaded machine the simulator answers late, which is a
      // slow poll (a skipped tick), not a bad reading.
      const devices = Array.from(
        { length: METERS },
        (_, i) => `  - code: m${i + 1}
    protocol: modbus-tcp
    connection: { host: 127.0.0.1, port: ${sim.port}, unitId: ${i + 1}, timeoutMs: 3000 }
    points:
      - { code: energy, table: holding-register, register: 0, dataType: uint32, byteOrder: ABCD, scale: 0.01, unit: kWh, kind: counter }
      - { code: water, table: holding-register, register: 4, dataType: uint32, byteOrder: ABCD, scale: 0.001, unit: m3, kind: counter }
`,
      ).join('')
      const config = join(dir, 'gateway.yaml')
      writeFileSync(
        config,
        `gateway:\n  id: gw-outage\n  secret: 0123456789abcdef\n  hubUrl: mqtt://127.0.0.1:${broker.port}\n` +
          `outbox:\n  dir: ${join(dir, 'outbox')}\nhttp:\n  port: 0\nschedule:\n  counterIntervalMs: 1000\n` +
          `log:\n  level: warn\ndevices:\n${devices}`,
      )
      const points = METERS * 2
      const perPoint = (since: number) => {
        const counts = new Map<string, number>()
        for (const r of hub.readings()) if (r.t >= since) counts.set(r.p, (counts.get(r.p) ?? 0) + 1)
        return counts
      }
      /**
       * Every poll the gateway counted (from `since`) reaches the hub with one reading per point:
       * counted in cycles the gateway reports, so a busy machine that skips ticks is no failure.
       */
      const everyPollDelivered = async (port: number, since: number) => {
        const polls = await pollsByDevice(port)
        expect(polls.size, 'the gateway reports polls of every meter').toBe(METERS)
        const short = () =>
          [...perPoint(since)].filter(([p, n]) => n < polls.get(p.split('/')[0]!)!).length +
          points -
          perPoint(since).size
        await until('every counted poll is delivered', () => short() === 0)
        const delivered = perPoint(since)
        const pollsAfter = await pollsByDevice(port) // a reading is delivered only after its poll started
        for (const [p, n] of delivered)
          expect(n, `${p}: no reading without a poll`).toBeLessThanOrEqual(pollsAfter.get(p.split('/')[0]!)!)
      }

      const firstStarted = Date.now()
      let gateway = await startGatewayProcess(config)
      children.push(gateway.child)
      await until('three cycles reached the hub', () => hub.readings().length >= 3 * points)
      await everyPollDelivered(gateway.healthPort, firstStarted)

      // The broker goes away; the gateway keeps polling into its outbox and is killed in the
      // middle of it; a second one polls offline and stops cleanly; a third sees the broker back.
      await broker.stop()
      await until(
        'the gateway sees the link down',
        async () => !(await health(gateway.healthPort)).uplinkConnected,
      )
      const linkDownAt = Date.now()
      const pollsAtOutage = await pollsByDevice(gateway.healthPort)
      await until('two more cycles polled offline', async () =>
        everyMeter(await pollsByDevice(gateway.healthPort), (d, n) => n >= pollsAtOutage.get(d)! + 2),
      )
      gateway.child.kill('SIGKILL')
      await new Promise((resolve) => gateway.child.once('exit', resolve))
      gateway = await startGatewayProcess(config)
      children.push(gateway.child)
      await until('three cycles polled by the restarted gateway', async () =>
        everyMeter(await pollsByDevice(gateway.healthPort), (_, n) => n >= 3),
      )
      // A clean stop seals what was polled (as historical: the link is down) into the outbox.
      const offline = gateway.child
      offline.kill('SIGTERM')
      await new Promise((resolve) => offline.once('exit', resolve))
      const outageEnded = Date.now()
      const lastStarted = Date.now()
      gateway = await startGatewayProcess(config)
      children.push(gateway.child)
      await broker.start()

      // Drained: the outbox is empty and the hub has everything it acknowledged.
      await until('the outbox is drained', async () => (await health(gateway.healthPort)).outboxBatches === 0)
      await everyPollDelivered(gateway.healthPort, lastStarted)
      gateway.child.kill('SIGTERM')
      await new Promise((resolve) => gateway.child.once('exit', resolve))

      const seqs = hub.firstDeliveries.map((b) => b.seq)
      // A new outbox starts its seq at the clock (a replaced disk must not reuse old seqs).
      expect(seqs, 'batches arrive in seq order, none missing').toEqual(seqs.map((_, i) => seqs[0]! + i))
      expect(hub.committed).toBe(seqs.at(-1))

      const readings = hub.readings()
      const keys = readings.map((r) => `${r.p}@${r.t}`)
      expect(new Set(keys).size, 'no reading twice').toBe(keys.length)
      const byPoint = new Map<string, typeof readings>()
      for (const r of readings) byPoint.set(r.p, [...(byPoint.get(r.p) ?? []), r])
      expect(byPoint.size).toBe(points)
      for (const [point, list] of byPoint) {
        const times = list.map((r) => r.t)
        expect(times, `${point} in time order`).toEqual([...times].sort((a, b) => a - b))
        expect(
          list.every((r) => r.q === 'good'),
          `${point} all good`,
        ).toBe(true)
        // Polled during the outage, stored, and delivered afterwards, flagged as historical.
        const duringOutage = list.filter((r) => r.t > linkDownAt && r.t < outageEnded)
        expect(duringOutage.length, `${point} has readings from the outage`).toBeGreaterThanOrEqual(3)
        expect(
          duringOutage.every((r) => r.historical),
          `${point} outage readings are historical`,
        ).toBe(true)
      }
    }, 600_000)
  },
)
