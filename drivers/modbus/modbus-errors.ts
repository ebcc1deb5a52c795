/**
 * Why a Modbus request failed, as one error type with a stable code. A failed read never
 * throws out of the driver: the message becomes the `reason` of its points' readings.
 */

export type ModbusErrorKind =
  /** No reply within the timeout: the unit is silent, dead or misaddressed. */
  | 'timeout'
  /** The unit answered with an exception PDU. */
  | 'exception'
  /** The socket or serial port is down, or could not be opened. */
  | 'connection'
  /** Something answered, but not a valid frame (CRC, length). */
  | 'frame'
  | 'aborted'
  | 'closed'
  /** The device or point configuration cannot be served (e.g. a write to an input). */
  | 'config'

const codes: Record<ModbusErrorKind, string> = {
  timeout: 'EH_ERR_MODBUS_TIMEOUT',
  exception: 'EH_ERR_MODBUS_EXCEPTION',
  connection: 'EH_ERR_MODBUS_CONNECTION',
  frame: 'EH_ERR_MODBUS_BAD_FRAME',
  aborted: 'EH_ERR_MODBUS_ABORTED',
  closed: 'EH_ERR_MODBUS_BUS_CLOSED',
  config: 'EH_ERR_MODBUS_CONFIG',
}

/** Exception codes and names of the Modbus Application Protocol V1.1b3 §7. */
export const exceptionNames: Readonly<Record<number, string>> = {
  1: 'ILLEGAL FUNCTION',
  2: 'ILLEGAL DATA ADDRESS',
  3: 'ILLEGAL DATA VALUE',
  4: 'SERVER DEVICE FAILURE',
  5: 'ACKNOWLEDGE',
  6: 'SERVER DEVICE BUSY',
  8: 'MEMORY PARITY ERROR',
  10: 'GATEWAY PATH UNAVAILABLE',
  11: 'GATEWAY TARGET DEVICE FAILED TO RESPOND',
}

/**
 * Exceptions worth a retry: 5 and 6 say "later" (§7), 0x0B is a gateway saying the unit
 * behind it timed out. 1-3 are answers about the request itself and repeat identically;
 * 4, 8 and 0x0A describe a broken device or gateway that a retry a few ms later won't fix.
 */
const transientExceptions = new Set([5, 6, 0x0b])

export class ModbusError extends Error {
  readonly code: string
  readonly kind: ModbusErrorKind
  readonly exceptionCode: number | undefined

  constructor(kind: ModbusErrorKind, message: string, exceptionCode?: number) {
    super(message)
    this.name = 'ModbusError'
    this.kind = kind
    this.code = codes[kind]
    this.exceptionCode = exceptionCode
  }

  /** Whether the same request may succeed if sent again now. */
  get retryable(): boolean {
    if (this.kind === 'exception') return transientExceptions.has(this.exceptionCode ?? -1)
    return this.kind === 'timeout' || this.kind === 'connection' || this.kind === 'frame'
  }

  /**
   * Whether the unit is unreachable (as opposed to answering badly): later requests to it in
   * the same cycle would wait out the same timeout, so the driver skips them.
   */
  get unreachable(): boolean {
    if (this.kind === 'exception') return this.exceptionCode === 0x0a || this.exceptionCode === 0x0b
    return this.kind === 'timeout' || this.kind === 'connection'
  }

  /** Whether the unit (or the gateway in front of it) sent a well-formed reply. */
  get answered(): boolean {
    return this.kind === 'exception' && !this.unreachable
  }
}

export function exceptionError(exceptionCode: number): ModbusError {
  const name = exceptionNames[exceptionCode] ?? 'UNKNOWN EXCEPTION'
  return new ModbusError('exception', `exception ${exceptionCode} ${name}`, exceptionCode)
}

interface ErrorLike {
  readonly message?: unknown
  readonly name?: unknown
  readonly errno?: unknown
  readonly code?: unknown
  readonly modbusCode?: unknown
}

/**
 * Maps what modbus-serial 8 and node:net reject with onto a ModbusError. modbus-serial
 * rejects with plain objects as well as Errors: a TransactionTimedOutError has errno
 * 'ETIMEDOUT', an exception reply an Error with `modbusCode`, a closed port errno
 * 'ECONNREFUSED' and message 'Port Not Open'.
 */
export function toModbusError(error: unknown): ModbusError {
  if (error instanceof ModbusError) return error
  const e: ErrorLike = typeof error === 'object' && error !== null ? error : { message: String(error) }
  if (typeof e.modbusCode === 'number') return exceptionError(e.modbusCode)
  const message = typeof e.message === 'string' ? e.message : String(error)
  if (e.name === 'AbortError') return new ModbusError('aborted', 'aborted')
  if (e.errno === 'ETIMEDOUT' && message === 'Timed out') return new ModbusError('timeout', 'timeout')
  if (/CRC error|Data length error|Unexpected data/i.test(message)) {
    return new ModbusError('frame', `bad reply: ${message}`)
  }
  const code = typeof e.code === 'string' ? e.code : typeof e.errno === 'string' ? e.errno : ''
  const detail = code && !message.includes(code) ? `${code} ${message}` : message
  return new ModbusError('connection', `connection: ${detail}`)
}
