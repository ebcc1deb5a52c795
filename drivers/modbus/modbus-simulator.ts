/**
 * The Modbus family's simulator for the conformance suite: one simulated meter behind a
 * Modbus TCP port (drivers/sim/modbus-tcp-sim.ts), with points of every data type the codec
 * reads, on registers the meter holds still (writable ones, set here, and zeros).
 */
import { createServer } from 'node:net'
import type { DriverPoint } from '../contract/device-driver.ts'
import type { ProtocolSimulator } from '../contract/protocol-definition.ts'
import { startModbusTcpSim } from '../sim/modbus-tcp-sim.ts'

const points: DriverPoint[] = [
  {
    code: 'u32',
    table: 'holding-register',
    register: 0,
    dataType: 'uint32',
    byteOrder: 'ABCD',
    scale: '0.01',
    kind: 'counter',
  },
  {
    code: 'f32',
    table: 'holding-register',
    register: 2,
    dataType: 'float32',
    byteOrder: 'ABCD',
    kind: 'counter',
  },
  {
    code: 'i64',
    table: 'holding-register',
    register: 6,
    dataType: 'int64',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  {
    code: 'u64',
    table: 'holding-register',
    register: 6,
    dataType: 'uint64',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  {
    code: 'bcd32',
    table: 'holding-register',
    register: 6,
    dataType: 'bcd32',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  { code: 'bcd16', table: 'holding-register', register: 8, dataType: 'bcd16', kind: 'gauge' },
  { code: 'i16', table: 'holding-register', register: 10, dataType: 'int16', kind: 'gauge' },
  { code: 'u16', table: 'holding-register', register: 11, dataType: 'uint16', kind: 'gauge' },
  { code: 'bit', table: 'holding-register', register: 11, bit: 0, dataType: 'bit', kind: 'state' },
  { code: 'text', table: 'holding-register', register: 12, length: 2, dataType: 'string', kind: 'state' },
  {
    code: 'i32',
    table: 'holding-register',
    register: 14,
    dataType: 'int32',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  {
    code: 'f64',
    table: 'holding-register',
    register: 16,
    dataType: 'float64',
    byteOrder: 'ABCD',
    kind: 'gauge',
  },
  { code: 'relay', table: 'coil', register: 0, dataType: 'bool', kind: 'state' },
  { code: 'tamper', table: 'discrete-input', register: 0, dataType: 'bool', kind: 'state' },
]

function float64Words(value: number): number[] {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, value)
  return [0, 2, 4, 6].map((i) => view.getUint16(i))
}

export async function simulateModbus(): Promise<ProtocolSimulator> {
  const sim = await startModbusTcpSim({ port: 0, meters: 1 })
  const meter = sim.meter(1)
  // -2, 43981 (0xABCD, bit 0 set), "AB", -100000 as int32, 1.5 as float64.
  meter.writeRegisters(10, [0xfffe, 0xabcd, 0x4142, 0x4344, 0xfffe, 0x7960, ...float64Words(1.5)])
  const timing = { timeoutMs: 400, retries: 0 }
  return {
    settings: undefined,
    device: {
      code: 'sim',
      protocol: 'modbus-tcp',
      connection: { host: '127.0.0.1', port: sim.port, unitId: 1, ...timing },
      points,
    },
    missingPoint: {
      code: 'ghost',
      table: 'holding-register',
      register: 900,
      dataType: 'uint16',
      kind: 'gauge',
    },
    deadDevice: {
      code: 'dead',
      protocol: 'modbus-tcp',
      connection: { host: '127.0.0.1', port: await closedPort(), unitId: 1, ...timing },
      points: points.slice(0, 2),
    },
    delay: (ms) =>
      sim.setFault(1, ms === null ? { kind: 'timeout' } : ms === 0 ? null : { kind: 'slow', ms }),
    close: () => sim.close(),
  }
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}
