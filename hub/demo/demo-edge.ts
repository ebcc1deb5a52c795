import { randomBytes } from 'node:crypto'
import { createServer, type Socket } from 'node:net'
import type { Kysely } from 'kysely'
import { Value } from 'typebox/value'
import type { RegisterSource } from '../../drivers/modbus/pdu-responder.ts'
import { respondToPdu } from '../../drivers/modbus/pdu-responder.ts'
import { createAccessControllerSim } from '../../drivers/sim/access-controller-sim.ts'
import { type BacnetSim, startBacnetSim } from '../../drivers/sim/bacnet-device-sim.ts'
import { HOLDING_REGISTERS, ModbusException, SimulatedMeter } from '../../drivers/sim/simulated-meter.ts'
import { type GatewayConfig, GatewayConfigSchema } from '../../gateway/config/gateway-config.ts'
import { startGateway } from '../../gateway/runtime/gateway-process.ts'
import type { Database, UnitStatus } from '../store/database-schema.ts'
import {
  COMMON_AREA_KW,
  type DemoUnitInfo,
  demoHistory,
  historyWindow,
  loadDemoUnits,
  MASTER_LOSS_FACTOR,
  unitClockRate,
} from './demo-backfill.ts'
import {
  DEMO_BACNET_GATEWAY_PORT,
  DEMO_BACNET_INSTANCE,
  DEMO_DOOR_CONTROLLER,
  DEMO_GATEWAY_CODE,
  MASTER_CT_RATIO,
} from './seed-demo.ts'

export interface DemoEdge {
  readonly gatewayHealthUrl: string
  /** Simulated unit meters (each an electricity and a water register). */
  readonly meters: number
  /** Ports of the Modbus TCP meter lines. */
  readonly modbusPorts: readonly number[]
  close(): Promise<void>
}

export interface DemoEdgeOptions {
  readonly estateId: string
  readonly outboxDir: string
  /** Where the demo gateway publishes: the hub's MQTT URL. */
  readonly hubUrl: string
  readonly gatewaySecret: string
  /** Gateway's uplink and poll messages; default: uplink trouble on stdout. */
  readonly log?: (line: string) => void
}

interface DeviceRow {
  code: string
  protocol: string
  connection: Record<string, unknown>
  pollIntervalMs: number | null
  unitCode: string | null
  unitStatus: UnitStatus | null
}

/**
 * The demo's site: per building a Modbus TCP line with a simulated smart meter per unit and
 * the building's master meter behind CTs, a BACnet plant controller, a door controller
 * posting events, and the demo gateway reading them as the hub's records describe and
 * publishing to the hub's own MQTT broker. Every register continues from the hub's latest
 * value of its point, so live readings join the history without a jump.
 */
export async function startDemoEdge(db: Kysely<Database>, options: DemoEdgeOptions): Promise<DemoEdge> {
  const closers: (() => Promise<void> | void)[] = []
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {})
  }
  try {
    return await start(db, options, closers, closeAll)
  } catch (error) {
    await closeAll()
    throw error
  }
}

async function start(
  db: Kysely<Database>,
  options: DemoEdgeOptions,
  closers: (() => Promise<void> | void)[],
  closeAll: () => Promise<void>,
): Promise<DemoEdge> {
  const devices: DeviceRow[] = await db
    .selectFrom('devices')
    .innerJoin('gateways', 'gateways.id', 'devices.gatewayId')
    .leftJoin('units', 'units.id', 'devices.unitId')
    .select([
      'devices.code',
      'devices.protocol',
      'devices.connection',
      'devices.pollIntervalMs',
      'units.code as unitCode',
      'units.status as unitStatus',
    ])
    .where('gateways.code', '=', DEMO_GATEWAY_CODE)
    .where('devices.enabled', '=', true)
    .orderBy('devices.code')
    .execute()
  const points = await db
    .selectFrom('points')
    .innerJoin('devices', 'devices.id', 'points.deviceId')
    .innerJoin('gateways', 'gateways.id', 'devices.gatewayId')
    .leftJoin('latestValues', 'latestValues.pointId', 'points.id')
    .select([
      'devices.code as device',
      'points.code',
      'points.address',
      'points.dataType',
      'points.byteOrder',
      'points.scale',
      'points.unit',
      'points.kind',
      'latestValues.value as latest',
    ])
    .where('gateways.code', '=', DEMO_GATEWAY_CODE)
    .orderBy('points.code')
    .execute()

  // Where each register starts: the hub's latest value, or (no history yet) the generator's.
  const units = await loadDemoUnits(db, options.estateId)
  const startAt = new Map<string, number>()
  for (const s of demoHistory(units, historyWindow(0, Date.now())))
    startAt.set(s.name, s.final / (s.step === 0.01 ? 100 : 1000))
  for (const p of points)
    if (p.kind === 'counter' && p.latest !== null) startAt.set(`${p.device}/${p.code}`, Number(p.latest))
  const unitByCode = new Map<string, DemoUnitInfo>(units.map((u) => [u.code, u]))

  // Modbus: one line (TCP port) per building, a source per unit id.
  const lines = new Map<number, Map<number, RegisterSource>>()
  const masters: { port: number; slave: number; start: number }[] = []
  let meters = 0
  for (const device of devices) {
    if (device.protocol !== 'modbus-tcp') continue
    const port = Number(device.connection.port ?? 502)
    const slave = Number(device.connection.unitId)
    const line = lines.get(port) ?? new Map<number, RegisterSource>()
    lines.set(port, line)
    const energy = startAt.get(`${device.code}/energy`) ?? 0
    if (device.unitCode === null) {
      masters.push({ port, slave, start: energy })
      continue
    }
    const unit = unitByCode.get(device.unitCode) ?? {
      code: device.unitCode,
      status: device.unitStatus ?? 'occupied',
      building: 0,
    }
    const rate = unitClockRate(unit)
    const t0 = Date.now()
    line.set(
      slave,
      new SimulatedMeter({
        unitId: slave,
        startKwh: energy,
        startWaterM3: startAt.get(`${device.code}/water`) ?? 0,
        // The simulator's load averages 1.75 kW; its clock runs at the unit's share of that.
        clock: () => t0 + (Date.now() - t0) * rate,
      }),
    )
    meters += 1
  }
  for (const master of masters) {
    const line = lines.get(master.port)!
    const subs = [...line.values()].filter((s): s is SimulatedMeter => s instanceof SimulatedMeter)
    line.set(master.slave, new MasterMeter(subs, master.start))
  }
  const modbusPorts: number[] = []
  for (const [port, sources] of [...lines].sort((a, b) => a[0] - b[0])) {
    const server = await serveModbusTcp(port, sources)
    closers.push(() => server.close())
    modbusPorts.push(port)
  }

  // BACnet: the plant controller with the objects the hub's points name.
  const bacnetDevice = devices.find((d) => d.protocol === 'bacnet-ip')
  let bacnet: BacnetSim | undefined
  if (bacnetDevice) {
    const objects = points
      .filter((p) => p.device === bacnetDevice.code)
      .map((p) => {
        const address = p.address as { objectType: 'analog-input' | 'binary-input'; instance: number }
        return address.objectType === 'analog-input'
          ? {
              type: address.objectType,
              instance: address.instance,
              value: 14.5,
              units: 62, // EngineeringUnits degrees-Celsius
              covIncrement: 0.1,
            }
          : { type: address.objectType, instance: address.instance, value: true }
      })
    bacnet = await startBacnetSim({
      port: Number(bacnetDevice.connection.port ?? 47808),
      deviceInstance: Number(bacnetDevice.connection.deviceInstance ?? DEMO_BACNET_INSTANCE),
      name: 'demo-plant',
      objects,
    })
    closers.push(() => bacnet?.close())
    const sim = bacnet
    let tick = 0
    const timer = setInterval(() => {
      tick += 1
      // Supply air wanders between 13 and 16 °C; the pump rests one minute in fifteen.
      const supply = 14.5 + 1.2 * Math.sin(tick / 9) + 0.3 * Math.sin(tick / 2.3)
      for (const o of objects) {
        if (o.type === 'analog-input') sim.setValue(o.type, o.instance, Math.round(supply * 10) / 10)
        else sim.setValue(o.type, o.instance, tick % 90 < 84)
      }
    }, 10_000)
    timer.unref()
    closers.push(() => clearInterval(timer))
  }

  // The door controller posts to the gateway's access receiver with a token made for this run.
  const doorDevice = devices.find((d) => d.protocol === 'access-webhook')
  const doorToken = randomBytes(18).toString('base64url')
  const accessPort = doorDevice ? await freePort() : 0
  const controllerId = String(doorDevice?.connection.controllerId ?? DEMO_DOOR_CONTROLLER)

  let closing = false
  const print = options.log ?? uplinkTroubleToConsole()
  // Going offline while the demo stops is no trouble.
  const log = (line: string) => {
    if (!closing) print(line)
  }
  const config = Value.Default(GatewayConfigSchema, {
    gateway: { id: DEMO_GATEWAY_CODE, secret: options.gatewaySecret, hubUrl: options.hubUrl },
    outbox: { dir: options.outboxDir },
    http: { port: 0 },
    // Billing counters every minute so the live values visibly move.
    schedule: { counterIntervalMs: 60_000 },
    bacnet: { port: DEMO_BACNET_GATEWAY_PORT },
    ...(doorDevice
      ? {
          access: {
            host: '127.0.0.1',
            port: accessPort,
            controllers: [{ id: controllerId, token: doorToken, device: doorDevice.code }],
          },
        }
      : {}),
    devices: devices
      .filter((d) => d.protocol !== 'access-webhook')
      .map((d) => ({
        code: d.code,
        protocol: d.protocol,
        connection: d.connection,
        ...(d.pollIntervalMs === null ? {} : { pollIntervalMs: d.pollIntervalMs }),
        points: points
          .filter((p) => p.device === d.code && p.kind !== 'event')
          .map((p) => ({
            code: p.code,
            ...p.address,
            ...(d.protocol === 'bacnet-ip'
              ? {}
              : {
                  dataType: p.dataType,
                  ...(p.byteOrder ? { byteOrder: p.byteOrder } : {}),
                  scale: p.scale,
                }),
            ...(p.unit ? { unit: p.unit } : {}),
            kind: p.kind,
          })),
      })),
  }) as GatewayConfig
  const gateway = await startGateway(config, log)
  closers.push(() => gateway.close())

  if (doorDevice) {
    const doors = points.filter((p) => p.device === doorDevice.code).map((p) => p.code)
    const controller = createAccessControllerSim({
      url: `http://127.0.0.1:${accessPort}`,
      controllerId,
      token: doorToken,
    })
    let n = 0
    const timer = setInterval(() => {
      n += 1
      const door = doors[n % doors.length] ?? 'south-gate'
      const card = { kind: 'card' as const, ref: String(10_000_000 + ((n * 7_919) % 300)).padStart(8, '0') }
      // Mostly residents' cards; now and then a card the controller does not know.
      const sent = n % 7 === 0 ? controller.denied(door, 1) : controller.granted(door, card)
      sent.catch(() => {})
    }, 20_000)
    timer.unref()
    closers.push(() => clearInterval(timer))
  }

  // Closers run last-in first: this one first.
  closers.push(() => {
    closing = true
  })
  return {
    gatewayHealthUrl: `http://127.0.0.1:${gateway.healthPort}/healthz`,
    meters,
    modbusPorts,
    close: closeAll,
  }
}

/** Prints the gateway's uplink trouble (not its routine lines), each distinct line once in a row. */
function uplinkTroubleToConsole(): (line: string) => void {
  let last = ''
  return (line) => {
    if (!line.startsWith('uplink:') || line.startsWith('uplink: connected to') || line === last) return
    last = line
    console.log(`  gateway ${DEMO_GATEWAY_CODE}: ${line}`)
  }
}

/**
 * A building's master meter behind 200/5 A CTs: its register counts what the building's unit
 * meters count, plus losses and common areas, divided by the CT ratio (the hub multiplies it
 * back). Registers as SimulatedMeter's: holding 0-1 energy, uint32 ABCD, 0.01 kWh.
 */
class MasterMeter implements RegisterSource {
  readonly #subs: readonly SimulatedMeter[]
  readonly #startCenti: number
  readonly #subsAtStart: number
  readonly #t0 = Date.now()

  constructor(subs: readonly SimulatedMeter[], startKwh: number) {
    this.#subs = subs
    this.#startCenti = Math.round(startKwh * 100)
    this.#subsAtStart = this.#subsCenti()
  }

  #subsCenti(): number {
    return this.#subs.reduce((sum, m) => sum + Math.round(m.energyKwh() * 100), 0)
  }

  /** The register in 0.01 kWh (secondary side). */
  registerCenti(): number {
    const hours = (Date.now() - this.#t0) / 3_600_000
    const primary =
      (this.#subsCenti() - this.#subsAtStart) * MASTER_LOSS_FACTOR + COMMON_AREA_KW * 100 * hours
    return (this.#startCenti + Math.floor(primary / MASTER_CT_RATIO)) % 2 ** 32
  }

  readRegisters(table: 'holding-register' | 'input-register', start: number, count: number): number[] {
    const size = table === 'holding-register' ? HOLDING_REGISTERS : 10
    if (start < 0 || count < 1 || start + count > size) throw new ModbusException(2)
    const words = new Array<number>(size).fill(0)
    if (table === 'holding-register') {
      const centi = this.registerCenti()
      words[0] = Math.floor(centi / 0x10000)
      words[1] = centi % 0x10000
    }
    return words.slice(start, start + count)
  }

  readBits(_table: 'coil' | 'discrete-input', start: number, count: number): boolean[] {
    if (start < 0 || count < 1 || start + count > 8) throw new ModbusException(2)
    return new Array<boolean>(count).fill(false)
  }

  writeRegisters(): void {
    throw new ModbusException(1)
  }

  writeCoils(): void {
    throw new ModbusException(1)
  }
}

/**
 * A Modbus TCP server for a line of slaves behind one port, as a TCP-to-RS-485 gateway would
 * be (unit ids 1-247): MBAP framing (Modbus TCP implementation guide V1.0b §3.1.3) around the
 * shared PDU responder. A unit id with no slave gets exception 0x0B (gateway target failed).
 */
function serveModbusTcp(
  port: number,
  sources: ReadonlyMap<number, RegisterSource>,
): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket: Socket) => {
    let pending = Buffer.alloc(0)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data])
      while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const frame = pending.subarray(0, 6 + pending.readUInt16BE(4))
        pending = pending.subarray(frame.length)
        const unitId = frame[6]!
        const pdu = frame.subarray(7)
        const source = sources.get(unitId)
        const reply = source ? respondToPdu(source, pdu) : Buffer.of((pdu[0] ?? 0) | 0x80, 0x0b)
        const header = Buffer.alloc(7)
        header.writeUInt16BE(frame.readUInt16BE(0), 0)
        header.writeUInt16BE(0, 2)
        header.writeUInt16BE(reply.length + 1, 4)
        header[6] = unitId
        socket.write(Buffer.concat([header, reply]))
      }
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Modbus TCP port 127.0.0.1:${port} is already in use`)
          : error,
      ),
    )
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            for (const socket of sockets) socket.destroy()
          }),
      }),
    )
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}
