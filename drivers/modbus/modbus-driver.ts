/**
 * The Modbus driver: reads a device's points with the fewest requests (planReads), on the
 * device's bus, and decodes them into readings with a quality flag. A failed request makes
 * its points 'bad' with the reason; read() never throws.
 */
import type { CancelOptions, PointValue, Reading } from '../driver-types.ts'
import { ConcurrencyLimit } from './concurrency-limit.ts'
import { ModbusBus, type RequestPolicy } from './modbus-bus.ts'
import type { BusAddress, ModbusDevice } from './modbus-device.ts'
import {
  busAddressOf,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_MS,
  limitsOf,
  sameLineSettings,
} from './modbus-device.ts'
import { ModbusError } from './modbus-errors.ts'
import type { ModbusOperation, ModbusTransport } from './modbus-transport.ts'
import type { ModbusPoint, ReadRequest } from './modbus-types.ts'
import { planReads } from './read-planner.ts'
import { decodePoint, encodeBits, encodeValue, registerCount } from './register-codec.ts'
import { defaultUnitHealthPolicy, UnitHealth, type UnitHealthPolicy, type UnitStatus } from './unit-health.ts'

export type { ModbusConnection, ModbusDevice, ModbusProtocol } from './modbus-device.ts'
export type { UnitStatus } from './unit-health.ts'

export interface ModbusDriverOptions {
  /** Requests in flight at once over all network buses (each bus runs one at a time). */
  readonly maxConcurrentRequests?: number
  readonly health?: Partial<UnitHealthPolicy>
  /** Pause before retrying a fast failure, × attempt; default 50 ms. */
  readonly retryBackoffMs?: number
  /** Builds each bus's transport; default modbus-serial. Tests pass fakes. */
  readonly transportFor?: (address: BusAddress) => ModbusTransport
}

interface CachedPlan {
  readonly points: readonly ModbusPoint[]
  readonly key: string
  readonly requests: readonly ReadRequest[]
  /** Points that cannot be read as configured, with why. */
  readonly invalid: ReadonlyArray<readonly [ModbusPoint, string]>
}

export class ModbusDriver {
  readonly #buses = new Map<string, ModbusBus>()
  readonly #plans = new Map<string, CachedPlan>()
  readonly #health = new Map<string, UnitHealth>()
  readonly #limit: ConcurrencyLimit
  readonly #healthPolicy: UnitHealthPolicy
  readonly #options: ModbusDriverOptions
  #closed = false

  constructor(options: ModbusDriverOptions = {}) {
    this.#options = options
    this.#limit = new ConcurrencyLimit(options.maxConcurrentRequests ?? 16)
    this.#healthPolicy = { ...defaultUnitHealthPolicy, ...options.health }
  }

  async read(device: ModbusDevice, options: CancelOptions = {}): Promise<Reading[]> {
    let bus: ModbusBus
    let plan: CachedPlan
    try {
      if (this.#closed) throw new ModbusError('closed', 'driver closed')
      bus = this.busFor(device)
      plan = this.#planFor(device)
    } catch (error) {
      return badReadings(device, device.points, (error as Error).message)
    }
    const readings = plan.invalid.flatMap(([point, why]) => badReadings(device, [point], why))
    if (plan.requests.length === 0) return readings
    const health = this.#healthOf(device.code)
    const decision = health.begin()
    if (!decision.poll)
      return [...readings, ...plan.requests.flatMap((r) => badReadings(device, r.points, decision.reason))]

    const policy: RequestPolicy = {
      timeoutMs: device.connection.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retries: device.connection.retries ?? DEFAULT_RETRIES,
      ...(options.signal ? { signal: options.signal } : {}),
    }
    let answered = false
    let costly = false
    let stop: string | undefined
    for (const [i, request] of plan.requests.entries()) {
      if (stop !== undefined) {
        readings.push(...badReadings(device, request.points, stop))
        continue
      }
      // An offline unit gets one probe request without retries; the rest only if it answers.
      const retries = decision.probe && i === 0 ? 0 : policy.retries
      const { functionCode, start, count } = request
      const result = await bus.execute(
        device.connection.unitId,
        { functionCode, start, count },
        { ...policy, retries },
      )
      if (result.ok) {
        answered = true
        for (const point of request.points) {
          const decoded = decodePoint(point, request, result.reply)
          readings.push(reading(device, point, result.ts, decoded.quality, decoded.value, decoded.reason))
        }
        continue
      }
      const error = result.error
      readings.push(...badReadings(device, request.points, error.message))
      answered ||= error.answered
      costly ||= error.kind === 'timeout' || error.kind === 'frame' || error.exceptionCode === 0x0b
      // Every further request to an unreachable unit would wait out the same timeout and
      // hold up the rest of the bus: give up on this unit for this cycle.
      if (error.unreachable || error.kind === 'aborted' || error.kind === 'closed') {
        stop = `skipped: ${error.kind === 'timeout' ? 'unit did not answer' : error.kind} earlier in this cycle`
      }
      if (decision.probe) stop ??= 'skipped: offline unit did not answer its probe'
    }
    // An aborted or closed cycle says nothing about the unit.
    if (!options.signal?.aborted && !this.#closed) {
      health.record(answered ? 'ok' : costly ? 'silent' : 'down', Date.now())
    }
    return readings
  }

  /**
   * Writes one point: FC5/FC15 for coils, FC6/FC16 for holding registers. Throws a
   * ModbusError (code EH_ERR_MODBUS_*) when the value cannot be encoded or the write fails.
   */
  async write(
    device: ModbusDevice,
    point: ModbusPoint | string,
    value: PointValue,
    options: CancelOptions = {},
  ) {
    if (this.#closed) throw new ModbusError('closed', 'driver closed')
    const target = typeof point === 'string' ? device.points.find((p) => p.code === point) : point
    if (!target) throw new ModbusError('config', `device ${device.code} has no point ${String(point)}`)
    const operation = writeOperation(target, value)
    const result = await this.busFor(device).execute(device.connection.unitId, operation, {
      timeoutMs: device.connection.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retries: device.connection.retries ?? DEFAULT_RETRIES,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    if (!result.ok) throw result.error
  }

  /** Liveness of a device's unit; a device never read is reported offline. */
  deviceStatus(code: string): UnitStatus {
    return this.#health.get(code)?.status() ?? { online: false, consecutiveFailures: 0, lastOkAt: null }
  }

  /** The bus a device is on, created on first use. Throws on a conflicting configuration. */
  busFor(device: ModbusDevice): ModbusBus {
    const address = busAddressOf(device)
    const existing = this.#buses.get(address.key)
    if (existing) {
      if (!sameLineSettings(existing.address, address)) {
        throw new ModbusError(
          'config',
          `device ${device.code}: serial settings differ from others on ${address.key}`,
        )
      }
      return existing
    }
    const bus = new ModbusBus(address, {
      // Local serial lines are not network connections: the limit does not apply to them.
      ...(address.kind === 'serial' ? {} : { limit: this.#limit }),
      ...(this.#options.transportFor ? { transport: this.#options.transportFor(address) } : {}),
      ...(this.#options.retryBackoffMs === undefined ? {} : { retryBackoffMs: this.#options.retryBackoffMs }),
    })
    this.#buses.set(address.key, bus)
    return bus
  }

  /** Closes every bus; requests still queued come back 'bad'. */
  async close(): Promise<void> {
    this.#closed = true
    const buses = [...this.#buses.values()]
    this.#buses.clear()
    await Promise.all(buses.map((bus) => bus.close()))
  }

  /** planReads is pure but not free; a device's plan changes only with its configuration. */
  #planFor(device: ModbusDevice): CachedPlan {
    const limits = limitsOf(device)
    const key = `${device.connection.unitId}|${limits.maxRegistersPerRead}|${limits.maxBitsPerRead}|${limits.maxGap}`
    const cached = this.#plans.get(device.code)
    if (cached && cached.points === device.points && cached.key === key) return cached
    const valid: ModbusPoint[] = []
    const invalid: Array<readonly [ModbusPoint, string]> = []
    for (const point of device.points) {
      try {
        registerCount(point)
        valid.push(point)
      } catch (error) {
        invalid.push([point, `config: ${(error as Error).message}`])
      }
    }
    const requests = planReads(device.connection.unitId, valid, limits)
    const plan: CachedPlan = { points: device.points, key, requests, invalid }
    this.#plans.set(device.code, plan)
    return plan
  }

  #healthOf(code: string): UnitHealth {
    const known = this.#health.get(code)
    if (known) return known
    const health = new UnitHealth(this.#healthPolicy)
    this.#health.set(code, health)
    return health
  }
}

function writeOperation(point: ModbusPoint, value: PointValue): ModbusOperation {
  const { register: start } = point
  try {
    if (point.table === 'coil') {
      const bits = encodeBits(point, value)
      return bits.length === 1
        ? { functionCode: 5, start, value: bits[0]! }
        : { functionCode: 15, start, values: bits }
    }
    if (point.table !== 'holding-register') throw new Error(`a ${point.table} is read-only`)
    // FC6 would overwrite the other 15 bits; a read-modify-write is not atomic on the device.
    if (point.dataType === 'bit') throw new Error('writing one bit of a register is not supported')
    const registers = encodeValue(point, value)
    return registers.length === 1
      ? { functionCode: 6, start, value: registers[0]! }
      : { functionCode: 16, start, values: registers }
  } catch (error) {
    throw error instanceof ModbusError
      ? error
      : new ModbusError('config', `point ${point.code}: ${(error as Error).message}`)
  }
}

function reading(
  device: ModbusDevice,
  point: ModbusPoint,
  ts: number,
  quality: Reading['quality'],
  value: PointValue | null,
  reason: string | undefined,
): Reading {
  const base = { point: `${device.code}/${point.code}`, ts, quality }
  // A bad value that was decoded (outside its plausible range) is kept; a failed decode is NaN.
  if (quality === 'bad')
    return {
      ...base,
      value: typeof value === 'number' && Number.isNaN(value) ? null : value,
      reason: reason ?? 'bad',
    }
  return reason === undefined ? { ...base, value } : { ...base, value, reason }
}

function badReadings(device: ModbusDevice, points: readonly ModbusPoint[], reason: string): Reading[] {
  const ts = Date.now()
  return points.map((point) => reading(device, point, ts, 'bad', null, reason))
}
