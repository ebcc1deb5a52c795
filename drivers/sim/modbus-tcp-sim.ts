/**
 * A Modbus TCP endpoint with many simulated meters behind it, on real sockets: modbus-serial's
 * ServerTCP with unitID 255 answers every unit id and hands it to the vector callbacks
 * (FIELD-NOTES), so one port serves up to 247 meters, like a TCP-to-RS-485 gateway.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { type IServiceVector, ServerTCP } from 'modbus-serial'
import {
  createMeters,
  type MeterFault,
  ModbusException,
  type SimulatedMeter,
  type SimulatedMeterOptions,
} from './simulated-meter.ts'

export interface ModbusTcpSimOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number
  readonly host?: string
  readonly meters: number
  readonly firstUnitId?: number
  readonly meterOptions?: Omit<SimulatedMeterOptions, 'unitId'>
}

export interface SimRequest {
  readonly unitId: number
  readonly functionCode: number
  readonly start: number
  /** Registers or bits asked for (1 for FC5/FC6). */
  readonly count: number
  /** performance.now() when the request arrived. */
  readonly at: number
}

export interface ModbusTcpSim {
  readonly port: number
  meter(unitId: number): SimulatedMeter
  setFault(unitId: number, fault: MeterFault | null): void
  /** Requests received so far, over all connections. */
  readonly requests: number
  readonly log: readonly SimRequest[]
  /** Client connections accepted so far. */
  readonly connections: number
  close(): Promise<void>
}

type Callback<T> = (err: Error | null, value: T) => void

export async function startModbusTcpSim(options: ModbusTcpSimOptions): Promise<ModbusTcpSim> {
  const host = options.host ?? '127.0.0.1'
  const first = options.firstUnitId ?? 1
  // Unit ids 1-247 are the addressable range (Serial Line V1.02 §2.2); a TCP gateway in
  // front of a bus inherits it.
  if (first < 1 || first + options.meters - 1 > 247) {
    throw new RangeError('one server serves unit ids 1-247: start several for more meters')
  }
  const meters = createMeters(options.meters, first, options.meterOptions)
  const log: SimRequest[] = []
  let connections = 0

  const serve = <T>(unitId: number, cb: Callback<T>, action: (m: SimulatedMeter) => T): void => {
    const meter = meters.get(unitId)
    // A TCP gateway answers for a unit it cannot reach with exception 0x0B (§7).
    if (!meter) {
      cb(new ModbusException(0x0b), undefined as T)
      return
    }
    if (meter.silent) return // no reply: the client times out
    const answer = () => {
      try {
        cb(null, action(meter))
      } catch (error) {
        cb(error as Error, undefined as T)
      }
    }
    if (meter.fault?.kind === 'slow') setTimeout(answer, meter.fault.ms)
    else answer()
  }
  const vector: IServiceVector = {
    getHoldingRegister: (addr: number, unit: number, cb: Callback<number>) =>
      serve(unit, cb, (m) => m.readRegisters('holding-register', addr, 1)[0]!),
    getMultipleHoldingRegisters: (addr: number, length: number, unit: number, cb: Callback<number[]>) =>
      serve(unit, cb, (m) => m.readRegisters('holding-register', addr, length)),
    getInputRegister: (addr: number, unit: number, cb: Callback<number>) =>
      serve(unit, cb, (m) => m.readRegisters('input-register', addr, 1)[0]!),
    getMultipleInputRegisters: (addr: number, length: number, unit: number, cb: Callback<number[]>) =>
      serve(unit, cb, (m) => m.readRegisters('input-register', addr, length)),
    // ServerTCP asks for FC1/FC2 one bit at a time.
    getCoil: (addr: number, unit: number, cb: Callback<boolean>) =>
      serve(unit, cb, (m) => m.readBits('coil', addr, 1)[0]!),
    getDiscreteInput: (addr: number, unit: number, cb: Callback<boolean>) =>
      serve(unit, cb, (m) => m.readBits('discrete-input', addr, 1)[0]!),
    setRegister: (addr: number, value: number, unit: number, cb: (err: Error | null) => void) =>
      serve(unit, cb, (m) => m.writeRegisters(addr, [value])),
    setRegisterArray: (addr: number, values: number[], unit: number, cb: (err: Error | null) => void) =>
      serve(unit, cb, (m) => m.writeRegisters(addr, values)),
    setCoil: (addr: number, value: boolean, unit: number, cb: (err: Error | null) => void) =>
      serve(unit, cb, (m) => m.writeCoils(addr, [value])),
  }

  const server = await listen(vector, host, options.port ?? 0)
  // ServerTCP has no per-request event; watch its sockets to count and log requests.
  netServerOf(server).on('connection', (socket: Socket) => {
    connections++
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data])
      // MBAP header (Modbus TCP implementation guide V1.0b §3.1.3): transaction id, protocol
      // id, length (of unit id + PDU), unit id; then the PDU.
      while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const frame = pending.subarray(0, 6 + pending.readUInt16BE(4))
        pending = pending.subarray(frame.length)
        const functionCode = frame[7] ?? 0
        const count =
          functionCode === 5 || functionCode === 6 ? 1 : frame.length >= 12 ? frame.readUInt16BE(10) : 0
        const start = frame.length >= 10 ? frame.readUInt16BE(8) : 0
        log.push({ unitId: frame[6]!, functionCode, start, count, at: performance.now() })
      }
    })
  })

  const port = (netServerOf(server).address() as { port: number }).port
  return {
    port,
    meter: (unitId) => {
      const meter = meters.get(unitId)
      if (!meter) throw new RangeError(`no simulated meter ${unitId}`)
      return meter
    },
    setFault: (unitId, fault) => {
      const meter = meters.get(unitId)
      if (!meter) throw new RangeError(`no simulated meter ${unitId}`)
      meter.fault = fault
    },
    get requests() {
      return log.length
    },
    log,
    get connections() {
      return connections
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** modbus-serial 8 keeps its net.Server in `_server`; fail loudly if that changes. */
function netServerOf(server: ServerTCP): Server {
  const inner = (server as unknown as { _server?: unknown })._server
  if (!(inner instanceof Object) || typeof (inner as Server).address !== 'function') {
    throw new Error('modbus-serial ServerTCP no longer exposes _server: update modbus-tcp-sim.ts')
  }
  return inner as Server
}

/**
 * ServerTCP treats port 0 as "use 502" (`options.port || 502`), so for a free port we ask
 * the OS for one first, and try again if someone takes it in between.
 */
async function listen(vector: IServiceVector, host: string, port: number): Promise<ServerTCP> {
  for (let attempt = 1; ; attempt++) {
    const chosen = port || (await freePort(host))
    try {
      return await new Promise<ServerTCP>((resolve, reject) => {
        const server = new ServerTCP(vector, { host, port: chosen, unitID: 255 })
        server.on('socketError', () => undefined) // a client resetting its socket is normal
        server.on('error', () => undefined)
        server.on('initialized', () => resolve(server))
        server.on('serverError', (error) => reject(error))
      })
    } catch (error) {
      if (port !== 0 || attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    }
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}
