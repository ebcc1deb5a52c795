/**
 * Modbus polling benchmark (npm run bench): real sockets against the simulators.
 * 1. 1,000 Modbus TCP meters (5 simulators × 200 unit ids): cycle time and requests per cycle,
 *    interleaved with a naive poller sending one request per point through the same driver.
 * 2. One 9600-baud RTU bus (RTU over TCP) of 30 meters: cycle time against the wire-time
 *    bound the frame sizes and inter-frame silences dictate.
 * Each case runs 3 times (test/bench/bench-runs.ts): median, min, max and the load average.
 */

import type { ModbusDevice } from '../../drivers/modbus/modbus-driver.ts'
import { ModbusDriver } from '../../drivers/modbus/modbus-driver.ts'
import type { ModbusPoint } from '../../drivers/modbus/modbus-types.ts'
import { planReads } from '../../drivers/modbus/read-planner.ts'
import { frameWireTimeMs, interFrameSilenceMs, rtuFrameBytes } from '../../drivers/modbus/rtu-timing.ts'
import { startModbusTcpSim } from '../../drivers/sim/modbus-tcp-sim.ts'
import { startRtuOverTcpSim } from '../../drivers/sim/rtu-over-tcp-sim.ts'
import { simulatedMeterPoints } from '../../drivers/sim/simulated-meter.ts'
import { interleave, printStats } from './bench-runs.ts'

const points: readonly ModbusPoint[] = simulatedMeterPoints
const CYCLES = 2

/**
 * 1,000 TCP meters: the planned poll (the driver's planner merges a meter's points) against a
 * naive poller through the same driver and sockets, one request per point (each point read as
 * a device of its own), interleaved, each run CYCLES cycles; the measure is the mean cycle time.
 */
async function tcpBench() {
  const servers = await Promise.all(
    Array.from({ length: 5 }, () => startModbusTcpSim({ port: 0, meters: 200 })),
  )
  const devices: ModbusDevice[] = servers.flatMap((server, s) =>
    Array.from({ length: 200 }, (_, i) => ({
      code: `tcp-${s}-${i + 1}`,
      protocol: 'modbus-tcp' as const,
      connection: { host: '127.0.0.1', port: server.port, unitId: i + 1, timeoutMs: 5000 },
      points,
    })),
  )
  const perPoint: ModbusDevice[] = devices.flatMap((d) => d.points.map((p) => ({ ...d, points: [p] })))
  const driver = new ModbusDriver()
  const requestsPlanned = devices.reduce((n, d) => n + planReads(d.connection.unitId, d.points).length, 0)
  const sent = () => servers.reduce((n, s) => n + s.requests, 0)
  await Promise.all(devices.map((d) => driver.read(d))) // connect and warm up
  let good = 0
  let planned = 0
  let naive = 0
  const cycleOf = async (list: readonly ModbusDevice[], count: (requests: number) => void) => {
    const before = sent()
    const started = performance.now()
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const readings = (await Promise.all(list.map((d) => driver.read(d)))).flat()
      if (list === devices) good += readings.filter((r) => r.quality === 'good').length
    }
    count((sent() - before) / CYCLES)
    return (performance.now() - started) / CYCLES
  }
  const stats = await interleave([
    { name: 'planned poll, 1,000 meters: cycle', run: () => cycleOf(devices, (n) => (planned = n)) },
    { name: 'one request per point: cycle', run: () => cycleOf(perPoint, (n) => (naive = n)) },
  ])
  await driver.close()
  await Promise.all(servers.map((s) => s.close()))
  const readings = devices.length * points.length * CYCLES * stats[0]!.samples.length
  printStats(
    `Modbus TCP, 1,000 simulated meters (5 simulators × 200 unit ids, ${points.length} points each), mean cycle of ${CYCLES} per run`,
    stats,
    'one request per point: cycle',
  )
  console.log(
    `  requests/cycle ${planned} (planned ${requestsPlanned}) against ${naive} one per point (ratio ${(planned / naive).toFixed(2)}); points/s at the median cycle ${Math.round((devices.length * points.length * 1000) / stats[0]!.median).toLocaleString('en-US')}; good readings ${good}/${readings}`,
  )
}

/**
 * One 9600-baud RTU bus (RTU over TCP) of 30 meters: cycle time against the bound the frame
 * sizes dictate (every character at 11 bits), and that bound plus a 3.5-character silence and
 * the meters' 5 ms delay per transaction. Both are arithmetic: the runs are the cycles.
 */
async function rtuBench() {
  const baudRate = 9600
  const responseDelayMs = 5
  const sim = await startRtuOverTcpSim({ port: 0, meters: 30, baudRate, responseDelayMs })
  const devices: ModbusDevice[] = Array.from({ length: 30 }, (_, i) => ({
    code: `rtu-${i + 1}`,
    protocol: 'modbus-rtu-over-tcp' as const,
    connection: { host: '127.0.0.1', port: sim.port, unitId: i + 1, baudRate, timeoutMs: 1000 },
    points,
  }))
  const requests = devices.flatMap((d) => planReads(d.connection.unitId, d.points))
  const boundMs = requests.reduce((sum, r) => {
    const { request, reply } = rtuFrameBytes(r.functionCode, r.count)
    return sum + frameWireTimeMs(request + reply, baudRate)
  }, 0)
  const floorMs = boundMs + requests.length * (interFrameSilenceMs(baudRate) + responseDelayMs)
  const driver = new ModbusDriver()
  await Promise.all(devices.map((d) => driver.read(d))) // connect and warm up
  const stats = await interleave([
    {
      name: 'RTU bus of 30 meters: cycle',
      run: async () => {
        const started = performance.now()
        await Promise.all(devices.map((d) => driver.read(d)))
        return performance.now() - started
      },
    },
  ])
  await driver.close()
  await sim.close()
  printStats(
    `Modbus RTU over TCP, one 9600-baud bus of 30 meters, ${requests.length} requests per cycle`,
    stats,
  )
  const cycle = stats[0]!.median
  console.log(
    `  wire-time bound ${Math.round(boundMs)} ms: ratio ${(cycle / boundMs).toFixed(2)}; bound + silences + 5 ms meter delay ${Math.round(floorMs)} ms: ratio ${(cycle / floorMs).toFixed(2)} (medians)`,
  )
}

await tcpBench()
await rtuBench()
