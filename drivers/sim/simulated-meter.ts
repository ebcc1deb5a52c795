/**
 * A plausible electricity-and-water meter for simulators: counters that advance with a load
 * that swings between 0.5 and 3 kW, a voltage gauge, a relay coil and a tamper input, and
 * faults on demand. Registers are zero-based wire addresses (docs/data-model.md).
 *
 *   holding 0-1   energy, uint32 ABCD, 0.01 kWh (rolls over at 42 949 672.96 kWh)
 *   holding 2-3   energy, float32 ABCD, kWh
 *   holding 4-5   water, uint32 ABCD, 0.001 m³
 *   holding 10    setpoint, uint16, writable (any holding register 10-19 is)
 *   input   0-1   voltage, float32 ABCD, V
 *   input   2-3   active power, float32 ABCD, kW
 *   coil    0     relay (writable); discrete input 0: tamper switch
 * Addresses beyond holding 19, input 9, coil 7 or discrete input 7 answer exception 2.
 */
import type { ModbusPoint } from '../modbus/modbus-types.ts'
import type { RegisterSource } from '../modbus/pdu-responder.ts'

export type MeterFault =
  /** No reply at all. */
  | { readonly kind: 'timeout' }
  /** Every request answered with this exception code (Modbus Application Protocol §7). */
  | { readonly kind: 'exception'; readonly code: number }
  /** Random register values (or `fill` in every register), random bits. */
  | { readonly kind: 'garbage'; readonly fill?: number }
  /** Every request answered after `ms` (a slow line or an overloaded converter). */
  | { readonly kind: 'slow'; readonly ms: number }
  /** Counters read lower on every read, by `stepKwh` (default 5) and a tenth of it in m³. */
  | { readonly kind: 'backwards'; readonly stepKwh?: number }

/** What the simulator servers throw: modbus-serial's ServerTCP turns it into an exception reply. */
export class ModbusException extends Error {
  readonly modbusErrorCode: number
  constructor(code: number) {
    super(`modbus exception ${code}`)
    this.modbusErrorCode = code
  }
}

export const HOLDING_REGISTERS = 20
export const INPUT_REGISTERS = 10
export const BITS = 8
const ROLLOVER_KWH = 2 ** 32 / 100

/** The points of a simulated meter, as a device in the gateway configuration lists them. */
export const simulatedMeterPoints: readonly ModbusPoint[] = [
  {
    code: 'energy',
    table: 'holding-register',
    register: 0,
    dataType: 'uint32',
    byteOrder: 'ABCD',
    scale: '0.01',
    kind: 'counter',
  },
  {
    code: 'energy-float',
    table: 'holding-register',
    register: 2,
    dataType: 'float32',
    byteOrder: 'ABCD',
    kind: 'counter',
  },
  {
    code: 'water',
    table: 'holding-register',
    register: 4,
    dataType: 'uint32',
    byteOrder: 'ABCD',
    scale: '0.001',
    kind: 'counter',
  },
  { code: 'setpoint', table: 'holding-register', register: 10, dataType: 'uint16', kind: 'state' },
  {
    code: 'voltage',
    table: 'input-register',
    register: 0,
    dataType: 'float32',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  {
    code: 'power',
    table: 'input-register',
    register: 2,
    dataType: 'float32',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  { code: 'relay', table: 'coil', register: 0, dataType: 'bool', kind: 'state' },
  { code: 'tamper', table: 'discrete-input', register: 0, dataType: 'bool', kind: 'state' },
]

export interface SimulatedMeterOptions {
  readonly unitId: number
  /** Energy register at start; default 1000 + 100.25 × unitId kWh. */
  readonly startKwh?: number
  /** Start 0.5 kWh below the uint32 register's rollover (42 949 672.96 kWh). */
  readonly nearRollover?: boolean
  readonly startWaterM3?: number
  /**
   * A meter behind current transformers: its register counts the secondary side, so it
   * advances 1/ctRatio as fast as the energy used; the hub multiplies back (倍率).
   */
  readonly ctRatio?: number
  /** Epoch ms; inject a fixed or stepped clock for exact expectations. */
  readonly clock?: () => number
}

const PERIOD_MS = 10 * 60_000
const HOUR_MS = 3_600_000

/** ∫ (mean + amp·sin(ωt + φ)) dt over [t1, t2] in ms, in unit·ms. */
function sineIntegral(mean: number, amp: number, phase: number, t1: number, t2: number): number {
  const w = (2 * Math.PI) / PERIOD_MS
  return mean * (t2 - t1) - (amp / w) * (Math.cos(w * t2 + phase) - Math.cos(w * t1 + phase))
}

export class SimulatedMeter implements RegisterSource {
  readonly unitId: number
  fault: MeterFault | null = null
  readonly #clock: () => number
  readonly #phase: number
  readonly #writable = new Array<number>(HOLDING_REGISTERS).fill(0)
  readonly #coils = new Array<boolean>(BITS).fill(false)
  #kwh: number
  #m3: number
  #at: number
  #backwardsKwh = 0
  #rng: number
  readonly ctRatio: number

  constructor(options: SimulatedMeterOptions) {
    this.unitId = options.unitId
    this.ctRatio = options.ctRatio ?? 1
    this.#clock = options.clock ?? Date.now
    this.#at = this.#clock()
    this.#phase = (options.unitId * 2.399) % (2 * Math.PI)
    this.#kwh = options.nearRollover
      ? ROLLOVER_KWH - 0.5
      : (options.startKwh ?? 1000 + 100.25 * options.unitId)
    this.#m3 = options.startWaterM3 ?? 10 + options.unitId
    this.#rng = options.unitId * 7919 + 1
  }

  /** Load now, kW: 1.75 ± 1.25. */
  powerKw(): number {
    return 1.75 + 1.25 * Math.sin((2 * Math.PI * this.#clock()) / PERIOD_MS + this.#phase)
  }

  /** Energy as the uint32 register shows it now (0.01 kWh steps, rolled over), kWh. */
  energyKwh(): number {
    this.#advance()
    const centi = Math.floor(((this.#kwh - this.#backwardsKwh) / this.ctRatio) * 100 + 1e-6)
    return (((centi % 2 ** 32) + 2 ** 32) % 2 ** 32) / 100
  }

  /**
   * The meter is exchanged for a new one (换表) whose register starts at `startKwh`: what a
   * technician does on site, after noting the old register's final reading.
   */
  replaceWithNew(startKwh = 0): void {
    this.#advance()
    this.#kwh = startKwh * this.ctRatio
    this.#backwardsKwh = 0
  }

  /** Water as its register shows it now, m³. */
  waterM3(): number {
    this.#advance()
    return Math.max(0, Math.floor((this.#m3 - this.#backwardsKwh / 10) * 1000 + 1e-6)) / 1000
  }

  voltage(): number {
    return 230 + 4 * Math.sin((2 * Math.PI * this.#clock()) / (PERIOD_MS / 7) + this.#phase)
  }

  /** Registers `start`..`start+count-1` of a register table, faults applied. */
  readRegisters(table: 'holding-register' | 'input-register', start: number, count: number): number[] {
    this.#failIfFaulty()
    const size = table === 'holding-register' ? HOLDING_REGISTERS : INPUT_REGISTERS
    if (start < 0 || count < 1 || start + count > size) throw new ModbusException(2)
    // The counters live in holding registers: each read of them shows them lower.
    if (this.fault?.kind === 'backwards' && table === 'holding-register')
      this.#backwardsKwh += this.fault.stepKwh ?? 5
    const words = table === 'holding-register' ? this.#holding() : this.#input()
    const slice = words.slice(start, start + count)
    const fault = this.fault
    if (fault?.kind === 'garbage') return slice.map(() => fault.fill ?? this.#random() & 0xffff)
    return slice
  }

  readBits(table: 'coil' | 'discrete-input', start: number, count: number): boolean[] {
    this.#failIfFaulty()
    if (start < 0 || count < 1 || start + count > BITS) throw new ModbusException(2)
    if (this.fault?.kind === 'garbage') return Array.from({ length: count }, () => (this.#random() & 1) === 1)
    const bits =
      table === 'coil' ? this.#coils : [this.unitId % 5 === 0, ...new Array<boolean>(BITS - 1).fill(false)]
    return bits.slice(start, start + count)
  }

  /** FC6/FC16: only holding registers 10-19 are writable (the rest are measurements). */
  writeRegisters(start: number, values: readonly number[]): void {
    this.#failIfFaulty()
    if (start < 10 || start + values.length > HOLDING_REGISTERS) throw new ModbusException(2)
    values.forEach((v, i) => {
      this.#writable[start + i] = v & 0xffff
    })
  }

  writeCoils(start: number, values: readonly boolean[]): void {
    this.#failIfFaulty()
    if (start < 0 || start + values.length > BITS) throw new ModbusException(2)
    values.forEach((v, i) => {
      this.#coils[start + i] = v
    })
  }

  /** Whether the meter stays silent (the servers check this before anything else). */
  get silent(): boolean {
    return this.fault?.kind === 'timeout'
  }

  #failIfFaulty(): void {
    if (this.fault?.kind === 'exception') throw new ModbusException(this.fault.code)
  }

  #advance(): void {
    const now = this.#clock()
    if (now <= this.#at) return
    this.#kwh += sineIntegral(1.75, 1.25, this.#phase, this.#at, now) / HOUR_MS
    this.#m3 += sineIntegral(0.03, 0.02, this.#phase + 1, this.#at, now) / HOUR_MS
    this.#at = now
  }

  #holding(): number[] {
    const words = [...this.#writable]
    const energy = Math.round(this.energyKwh() * 100)
    words.splice(0, 2, energy >>> 16, energy & 0xffff)
    words.splice(2, 2, ...float32Words(this.energyKwh()))
    const litres = Math.round(this.waterM3() * 1000)
    words.splice(4, 2, Math.floor(litres / 0x10000) & 0xffff, litres & 0xffff)
    return words
  }

  #input(): number[] {
    const words = new Array<number>(INPUT_REGISTERS).fill(0)
    words.splice(0, 2, ...float32Words(this.voltage()))
    words.splice(2, 2, ...float32Words(this.powerKw()))
    return words
  }

  /** xorshift32: deterministic per meter, so a garbage run is repeatable. */
  #random(): number {
    let x = this.#rng
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.#rng = x >>> 0
    return this.#rng
  }
}

function float32Words(value: number): [number, number] {
  const view = new DataView(new ArrayBuffer(4))
  view.setFloat32(0, value)
  return [view.getUint16(0), view.getUint16(2)]
}

/** `count` meters with consecutive unit ids. */
export function createMeters(
  count: number,
  firstUnitId = 1,
  options: Omit<SimulatedMeterOptions, 'unitId'> = {},
): Map<number, SimulatedMeter> {
  const meters = new Map<number, SimulatedMeter>()
  for (let unitId = firstUnitId; unitId < firstUnitId + count; unitId++) {
    meters.set(unitId, new SimulatedMeter({ ...options, unitId }))
  }
  // The last meter of a larger set sits behind 200/5 A current transformers (multiplier 40).
  const last = firstUnitId + count - 1
  if (count >= 10 && options.ctRatio === undefined)
    meters.set(last, new SimulatedMeter({ ...options, unitId: last, ctRatio: 40 }))
  return meters
}
