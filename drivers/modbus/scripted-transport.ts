/**
 * A ModbusTransport that answers from a function instead of a wire: for tests of the bus
 * and the driver, and for trying a driver setup without hardware. It records every request
 * with its time, and notices if a caller overlaps two requests.
 */
import { ModbusError } from './modbus-errors.ts'
import type { ModbusOperation, ModbusTransport, OperationReply } from './modbus-transport.ts'

/** What the script says a request gets: a reply, an error, or silence until the timeout. */
export type ScriptedAnswer = OperationReply | ModbusError | 'silent'

export interface ScriptedCall {
  readonly unitId: number
  readonly operation: ModbusOperation
  readonly timeoutMs: number
  /** performance.now() at the start and the end of the request. */
  readonly start: number
  end: number
}

export class ScriptedTransport implements ModbusTransport {
  readonly calls: ScriptedCall[] = []
  /** Requests that started while another was in flight: must stay 0. */
  overlaps = 0
  #busy = false
  #closed = false
  readonly #script: (unitId: number, operation: ModbusOperation) => ScriptedAnswer | Promise<ScriptedAnswer>
  readonly #latencyMs: number

  constructor(
    script: (unitId: number, operation: ModbusOperation) => ScriptedAnswer | Promise<ScriptedAnswer>,
    options: { latencyMs?: number } = {},
  ) {
    this.#script = script
    this.#latencyMs = options.latencyMs ?? 0
  }

  get connections(): number {
    return this.calls.length > 0 ? 1 : 0
  }

  async request(unitId: number, operation: ModbusOperation, timeoutMs: number): Promise<OperationReply> {
    if (this.#closed) throw new ModbusError('closed', 'bus closed')
    if (this.#busy) this.overlaps++
    this.#busy = true
    const call: ScriptedCall = { unitId, operation, timeoutMs, start: performance.now(), end: 0 }
    this.calls.push(call)
    try {
      const answer = await this.#script(unitId, operation)
      const wait = answer === 'silent' ? timeoutMs : this.#latencyMs
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      if (answer === 'silent') throw new ModbusError('timeout', 'timeout')
      if (answer instanceof ModbusError) throw answer
      return answer
    } finally {
      call.end = performance.now()
      this.#busy = false
    }
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}

/** Registers whose value is their own address: easy to check which range came back. */
export function addressEcho(operation: ModbusOperation): OperationReply {
  if (operation.functionCode === 3 || operation.functionCode === 4) {
    return { registers: Array.from({ length: operation.count }, (_, i) => (operation.start + i) & 0xffff) }
  }
  if (operation.functionCode === 1 || operation.functionCode === 2) {
    return { bits: Array.from({ length: operation.count }, (_, i) => (operation.start + i) % 2 === 1) }
  }
  return {}
}
