/**
 * An RS-485 bus of simulated meters, on real sockets: behind a serial-to-Ethernet converter
 * (raw RTU frames over TCP, which modbus-serial has no server for), or on a serial device
 * such as one end of a `socat pty,raw,echo=0 pty,raw,echo=0` pair. The bus is half duplex
 * and shared by every connection; each reply is sent only after the time both frames would
 * take on the wire at the configured baud rate plus the meter's response delay, and every
 * request's time on the bus is recorded so tests can check that none overlapped.
 */
import { constants, openSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { ReadStream } from 'node:tty'
import { withCrc } from '../modbus/modbus-crc.ts'
import { respondToPdu } from '../modbus/pdu-responder.ts'
import { splitRtuRequests } from '../modbus/rtu-frame.ts'
import { frameWireTimeMs } from '../modbus/rtu-timing.ts'
import {
  createMeters,
  type MeterFault,
  type SimulatedMeter,
  type SimulatedMeterOptions,
} from './simulated-meter.ts'

export interface RtuBusSimOptions {
  readonly meters: number
  readonly firstUnitId?: number
  readonly baudRate?: number
  /** The meter's turnaround between request and reply; default 5 ms (5-40 ms is typical). */
  readonly responseDelayMs?: number
  readonly meterOptions?: Omit<SimulatedMeterOptions, 'unitId'>
}

/** One request's occupation of the bus, in performance.now() ms. */
export interface BusRecord {
  readonly unitId: number
  readonly functionCode: number
  /** When the request frame had arrived. */
  readonly start: number
  /** When the reply was sent; for a silent unit, when the request left the wire. */
  readonly end: number
  readonly answered: boolean
}

export interface RtuBusSim {
  readonly baudRate: number
  meter(unitId: number): SimulatedMeter
  setFault(unitId: number, fault: MeterFault | null): void
  readonly requests: number
  readonly log: readonly BusRecord[]
  /** Requests that arrived while the bus was still busy with the previous one. */
  readonly overlaps: number
  /** Frames dropped for a bad CRC or an unknown function code. */
  readonly dropped: number
  close(): Promise<void>
}

export interface RtuOverTcpSim extends RtuBusSim {
  readonly port: number
}

interface BusCore extends Omit<RtuBusSim, 'close'> {
  /** A feeder for one connection's incoming bytes; replies go to `write`. */
  attach(write: (reply: Buffer) => void): (data: Buffer) => void
  stop(): void
}

function createBus(options: RtuBusSimOptions): BusCore {
  const baudRate = options.baudRate ?? 9600
  const responseDelayMs = options.responseDelayMs ?? 5
  const meters = createMeters(options.meters, options.firstUnitId ?? 1, options.meterOptions)
  const log: BusRecord[] = []
  const timers = new Set<NodeJS.Timeout>()
  let busyUntil = 0
  let overlaps = 0
  let dropped = 0

  const handle = (frame: Buffer, write: (reply: Buffer) => void) => {
    const start = performance.now()
    if (start < busyUntil) overlaps++
    // Half duplex: a frame that arrives while the line is busy goes out after it.
    const onWire = Math.max(start, busyUntil) + frameWireTimeMs(frame.length, baudRate)
    const unitId = frame[0]!
    const functionCode = frame[1]!
    const meter = meters.get(unitId)
    if (!meter || meter.silent) {
      // Nobody answers on a serial line for an absent or dead unit: the master times out.
      busyUntil = onWire
      log.push({ unitId, functionCode, start, end: onWire, answered: false })
      return
    }
    const reply = withCrc(Buffer.concat([Buffer.of(unitId), respondToPdu(meter, frame.subarray(1, -2))]))
    const end = onWire + responseDelayMs + frameWireTimeMs(reply.length, baudRate)
    busyUntil = end
    const timer = setTimeout(
      () => {
        timers.delete(timer)
        log.push({ unitId, functionCode, start, end: performance.now(), answered: true })
        write(reply)
      },
      Math.ceil(end - performance.now()),
    )
    timers.add(timer)
  }
  const find = (unitId: number) => {
    const meter = meters.get(unitId)
    if (!meter) throw new RangeError(`no simulated meter ${unitId}`)
    return meter
  }
  return {
    baudRate,
    meter: find,
    setFault: (unitId, fault) => {
      find(unitId).fault = fault
    },
    get requests() {
      return log.length
    },
    log,
    get overlaps() {
      return overlaps
    },
    get dropped() {
      return dropped
    },
    attach: (write) => {
      let pending: Buffer = Buffer.alloc(0)
      return (data) => {
        const split = splitRtuRequests(Buffer.concat([pending, data]))
        pending = split.rest
        dropped += split.dropped
        for (const frame of split.frames) handle(frame, write)
      }
    },
    stop: () => {
      for (const timer of timers) clearTimeout(timer)
    },
  }
}

export async function startRtuOverTcpSim(
  options: RtuBusSimOptions & { readonly port?: number; readonly host?: string },
): Promise<RtuOverTcpSim> {
  const bus = createBus(options)
  const sockets = new Set<Socket>()
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on(
      'data',
      bus.attach((reply) => socket.destroyed || socket.write(reply)),
    )
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  const close = () =>
    new Promise<void>((resolve) => {
      bus.stop()
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  // Object.assign keeps the view's getters live; a spread would freeze them.
  return Object.assign(view(bus), { port, close })
}

/** The same bus on a serial device (a tty): e.g. one end of a socat pty pair. */
export async function startRtuSerialSim(
  options: RtuBusSimOptions & { readonly path: string },
): Promise<RtuBusSim> {
  const bus = createBus(options)
  const tty = new ReadStream(openSync(options.path, constants.O_RDWR | constants.O_NOCTTY))
  tty.setRawMode(true)
  tty.on(
    'data',
    bus.attach((reply) => tty.destroyed || tty.write(reply)),
  )
  tty.on('error', () => undefined)
  const close = async () => {
    bus.stop()
    tty.destroy()
  }
  return Object.assign(view(bus), { close })
}

/** The public face of a bus: live counters as getters, without attach/stop. */
function view(bus: BusCore): Omit<RtuBusSim, 'close'> {
  return {
    baudRate: bus.baudRate,
    meter: bus.meter,
    setFault: bus.setFault,
    log: bus.log,
    get requests() {
      return bus.requests
    },
    get overlaps() {
      return bus.overlaps
    },
    get dropped() {
      return bus.dropped
    },
  }
}
