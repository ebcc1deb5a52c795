/**
 * ModbusTransport over modbus-serial 8: Modbus TCP (MBAP framing), RTU framed over TCP to a
 * serial server (modbus-serial's "Telnet" port: raw RTU frames with CRC) and RTU on a local
 * serial port. We open the TCP sockets ourselves so that no-delay, keep-alive, connect
 * timeouts and reconnects are ours, then hand them to modbus-serial with link*().
 */
import { connect, type Socket } from 'node:net'
import ModbusSerial from 'modbus-serial'
import type { BusAddress } from './modbus-device.ts'
import { ModbusError, toModbusError } from './modbus-errors.ts'
import type { ModbusOperation, ModbusTransport, OperationReply } from './modbus-transport.ts'

// The package is CommonJS with `module.exports.default = module.exports`; under NodeNext the
// typed class is the `default` of the default import, and at runtime it is the same object.
const ModbusRTU = ModbusSerial.default
type Client = InstanceType<typeof ModbusRTU>

export interface ReconnectOptions {
  /** Wait after the first failed connect before trying again; doubles per failure. */
  readonly firstDelayMs?: number
  readonly maxDelayMs?: number
}

export class ModbusSerialTransport implements ModbusTransport {
  readonly #address: BusAddress
  readonly #firstDelayMs: number
  readonly #maxDelayMs: number
  #client: Client | null = null
  #socket: Socket | null = null
  #connections = 0
  #failedConnects = 0
  #nextConnectAt = 0
  #lastConnectError = ''
  #inflight: ((error: ModbusError) => void) | null = null
  #closed = false

  constructor(address: BusAddress, options: ReconnectOptions = {}) {
    this.#address = address
    this.#firstDelayMs = options.firstDelayMs ?? 250
    this.#maxDelayMs = options.maxDelayMs ?? 5000
  }

  get connections(): number {
    return this.#connections
  }

  async request(unitId: number, operation: ModbusOperation, timeoutMs: number): Promise<OperationReply> {
    const client = await this.#open(timeoutMs)
    if (this.#address.kind !== 'tcp') discardStaleInput(client)
    // Unit id and timeout are state of the whole client (FIELD-NOTES): set them right before
    // the call, which reads them synchronously; the bus queue guarantees nobody interleaves.
    client.setID(unitId)
    client.setTimeout(timeoutMs)
    return await new Promise<OperationReply>((resolve, reject) => {
      // modbus-serial times the request itself; this guard only covers a reply it never settles.
      const guard = setTimeout(() => finish(new ModbusError('timeout', 'timeout')), timeoutMs + 250)
      const finish = (error: ModbusError | null, reply?: OperationReply) => {
        clearTimeout(guard)
        if (this.#inflight === fail) this.#inflight = null
        if (error) reject(error)
        else resolve(reply ?? {})
      }
      const fail = (error: ModbusError) => finish(error)
      this.#inflight = fail
      perform(client, operation).then(
        (reply) => finish(null, reply),
        (error: unknown) => finish(toModbusError(error)),
      )
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    const client = this.#client
    this.#drop(client, 'bus closed')
    if (this.#socket) this.#socket.destroy()
    else if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()))
  }

  async #open(timeoutMs: number): Promise<Client> {
    if (this.#closed) throw new ModbusError('closed', 'bus closed')
    if (this.#client?.isOpen) return this.#client
    const wait = this.#nextConnectAt - Date.now()
    // Fail fast while backing off: a down converter must not cost every request a connect.
    if (wait > 0) {
      throw new ModbusError(
        'connection',
        `connection: down, next connect in ${wait} ms (last: ${this.#lastConnectError})`,
      )
    }
    try {
      const client = await this.#connect(timeoutMs)
      this.#client = client
      this.#failedConnects = 0
      this.#connections++
      return client
    } catch (error) {
      this.#failedConnects++
      const delay = Math.min(this.#maxDelayMs, this.#firstDelayMs * 2 ** (this.#failedConnects - 1))
      this.#nextConnectAt = Date.now() + delay
      const e = toModbusError(error)
      this.#lastConnectError = e.message.replace(/^connection: /, '')
      throw e
    }
  }

  async #connect(timeoutMs: number): Promise<Client> {
    const address = this.#address
    const client = new ModbusRTU()
    // modbus-serial re-emits port errors on the client; an EventEmitter 'error' without a
    // listener would crash the process. The close handlers below do the real work.
    client.on('error', () => undefined)
    if (address.kind === 'serial') {
      const { baudRate, parity, dataBits, stopBits } = address.serial
      await withTimeout(
        client.connectRTUBuffered(address.path, { baudRate, parity, dataBits, stopBits }),
        timeoutMs,
        `opening ${address.path}`,
      )
      client.on('close', () => this.#drop(client, 'serial port closed'))
      return client
    }
    const socket = await openSocket(address.host, address.port, timeoutMs)
    this.#socket = socket
    socket.once('close', () => {
      if (this.#socket === socket) this.#socket = null
      this.#drop(client, 'connection lost')
    })
    if (address.kind === 'tcp') await client.linkTCP(socket, { port: address.port })
    else await client.linkTelnet(socket, { port: address.port })
    return client
  }

  /** Forgets a dead client and fails the request waiting on it at once, not at its timeout. */
  #drop(client: Client | null, reason: string): void {
    if (!client || this.#client !== client) return
    this.#client = null
    this.#inflight?.(new ModbusError(this.#closed ? 'closed' : 'connection', `connection: ${reason}`))
  }
}

async function perform(client: Client, op: ModbusOperation): Promise<OperationReply> {
  switch (op.functionCode) {
    case 1:
      return { bits: (await client.readCoils(op.start, op.count)).data }
    case 2:
      return { bits: (await client.readDiscreteInputs(op.start, op.count)).data }
    case 3:
      return { registers: (await client.readHoldingRegisters(op.start, op.count)).data }
    case 4:
      return { registers: (await client.readInputRegisters(op.start, op.count)).data }
    case 5:
      await client.writeCoil(op.start, op.value)
      return {}
    case 6:
      await client.writeRegister(op.start, op.value)
      return {}
    case 15:
      await client.writeCoils(op.start, [...op.values])
      return {}
    case 16:
      await client.writeRegisters(op.start, [...op.values])
      return {}
  }
}

/**
 * RTU carries no transaction id, so bytes of a reply that came after its request timed out
 * would be taken for the next request's reply (same unit and function code, same length:
 * silently wrong values). A master discards what arrives between transactions. modbus-serial
 * 8 keeps received bytes of its RTU ports (TelnetPort, RTUBufferedPort) in `_buffer`.
 */
function discardStaleInput(client: Client): void {
  const port = (client as unknown as { _port?: { _buffer?: unknown } })._port
  if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0)
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    // No-delay: each request is one small write; Nagle would hold it 40-200 ms waiting for
    // more (FIELD-NOTES; the Modbus TCP implementation guide says the same).
    const socket = connect({ host, port, noDelay: true })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ModbusError('connection', `connection: connect to ${host}:${port} timed out`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.setNoDelay(true)
      // Converters that lose power leave half-open connections: keep-alive finds them.
      socket.setKeepAlive(true, 30_000)
      resolve(socket)
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ModbusError('connection', `connection: ${what} timed out`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
