/**
 * One physical Modbus bus: a serial line, an RTU-over-TCP converter or a Modbus TCP
 * endpoint. Requests run one at a time in FIFO order with the unit id passed per request;
 * RTU buses keep the inter-frame silence between frames; each request is retried on
 * failures that may pass. `execute` never rejects: it reports the failure as a value.
 */
import type { ConcurrencyLimit } from './concurrency-limit.ts'
import type { BusAddress } from './modbus-device.ts'
import { ModbusError, toModbusError } from './modbus-errors.ts'
import { ModbusSerialTransport } from './modbus-serial-transport.ts'
import type { ModbusOperation, ModbusTransport, OperationReply } from './modbus-transport.ts'
import { describeOperation } from './modbus-transport.ts'
import { interFrameSilenceMs } from './rtu-timing.ts'
import { QueueClosedError, SerialQueue } from './serial-queue.ts'

export interface ModbusBusOptions {
  /** Default: modbus-serial over the address. */
  readonly transport?: ModbusTransport
  /** Shared across buses to bound requests in flight on the whole gateway. */
  readonly limit?: ConcurrencyLimit
  /** Pause before retrying a failure that came back quickly (busy, reconnecting); × attempt. */
  readonly retryBackoffMs?: number
  /** Idle time between frames; default: t3.5 of the baud rate on RTU buses, 0 on Modbus TCP. */
  readonly silenceMs?: number
}

export interface RequestPolicy {
  /** Per attempt. */
  readonly timeoutMs: number
  /** Attempts after the first. */
  readonly retries: number
  readonly signal?: AbortSignal
}

export type BusResult =
  | { readonly ok: true; readonly reply: OperationReply; readonly ts: number; readonly attempts: number }
  | { readonly ok: false; readonly error: ModbusError; readonly attempts: number }

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(ms)))

export class ModbusBus {
  readonly address: BusAddress
  /** Least idle time between two frames on this bus, ms. */
  readonly silenceMs: number
  readonly #queue: SerialQueue
  readonly #transport: ModbusTransport
  readonly #limit: ConcurrencyLimit | undefined
  readonly #retryBackoffMs: number
  #attemptsSent = 0

  constructor(address: BusAddress, options: ModbusBusOptions = {}) {
    this.address = address
    // Serial Line V1.02 §2.5.1.1: frames are separated by at least t3.5. On an RTU-over-TCP
    // converter the serial side still needs it; we cannot see that side, so we keep the gap.
    this.silenceMs =
      options.silenceMs ?? (address.kind === 'tcp' ? 0 : interFrameSilenceMs(address.serial.baudRate))
    this.#queue = new SerialQueue({ gapMs: this.silenceMs })
    this.#transport = options.transport ?? new ModbusSerialTransport(address)
    this.#limit = options.limit
    this.#retryBackoffMs = options.retryBackoffMs ?? 50
  }

  get key(): string {
    return this.address.key
  }

  /** Requests waiting plus the one on the wire. */
  get pending(): number {
    return this.#queue.size
  }

  /** Attempts sent so far, retries included. */
  get attemptsSent(): number {
    return this.#attemptsSent
  }

  /** Connections established so far; grows by one per reconnect. */
  get connections(): number {
    return this.#transport.connections
  }

  /** Queues one request; resolves with its reply or with why it failed, never rejects. */
  async execute(unitId: number, operation: ModbusOperation, policy: RequestPolicy): Promise<BusResult> {
    try {
      return await this.#queue.run(() => this.#attempt(unitId, operation, policy), { signal: policy.signal })
    } catch (error) {
      // Only the queue rejects: aborted while waiting, or the bus closed.
      const e =
        error instanceof QueueClosedError
          ? new ModbusError('closed', 'bus closed')
          : policy.signal?.aborted
            ? new ModbusError('aborted', 'aborted before sending')
            : toModbusError(error)
      return { ok: false, error: e, attempts: 0 }
    }
  }

  /** Fails requests still waiting, then closes the connection. */
  async close(): Promise<void> {
    this.#queue.close()
    await this.#transport.close()
  }

  async #attempt(unitId: number, operation: ModbusOperation, policy: RequestPolicy): Promise<BusResult> {
    const attempts = policy.retries + 1
    let last = new ModbusError('aborted', 'aborted')
    let attempt = 0
    while (attempt < attempts && !(attempt > 0 && policy.signal?.aborted)) {
      attempt++
      const startedAt = performance.now()
      try {
        const reply = await this.#send(unitId, operation, policy.timeoutMs)
        return { ok: true, reply, ts: Date.now(), attempts: attempt }
      } catch (error) {
        last = toModbusError(error)
        if (!last.retryable || attempt === attempts) break
        // A timeout has waited long enough; a failure that came back fast (busy, socket
        // reconnecting) gets a short growing pause. Either way the line stays silent ≥ t3.5.
        const fast = performance.now() - startedAt < policy.timeoutMs / 2
        await sleep(Math.max(this.silenceMs, fast ? this.#retryBackoffMs * attempt : 0))
      }
    }
    const where = describeOperation(unitId, operation)
    const timing = last.kind === 'timeout' ? ` of ${policy.timeoutMs} ms` : ''
    const message = `${last.message} (${where}, ${attempt} attempt${attempt === 1 ? '' : 's'}${timing})`
    return { ok: false, error: new ModbusError(last.kind, message, last.exceptionCode), attempts: attempt }
  }

  #send(unitId: number, operation: ModbusOperation, timeoutMs: number): Promise<OperationReply> {
    const send = () => {
      this.#attemptsSent++
      return this.#transport.request(unitId, operation, timeoutMs)
    }
    return this.#limit ? this.#limit.run(send) : send()
  }
}
