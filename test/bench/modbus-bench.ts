/**
 * Modbus polling benchmark (npm run bench): real sockets against the simulators.
 * 1. 1,000 Modbus TCP meters (5 simulators × 200 unit ids): points per second and requests
 *    per cycle, against the one-request-per-point baseline a naive poller would send.
 * 2. One 9600-baud RTU bus (RTU over TCP) of 30 meters: cycle time against the wire-time
 *    bound the frame sizes and inter-frame silences dictate.
 */

import type { ModbusDevice } from '../../drivers/modbus/modbus-driver.ts'
import { ModbusDriver } from '../../drivers/modbus/modbus-driver.ts'
import type { ModbusPoint } from '../../drivers/modbus/modbus-types.ts'
import { planReads } from '../../drivers/modbus/read-planner.ts'
import { frameWireTimeMs, interFrameSilenceMs, rtuFrameBytes } from '../../drivers/modbus/rtu-timing.ts'
import { startModbusTcpSim } from '../../drivers/sim/modbus-tcp-sim.ts'
import { startRtuOverTcpSim } from '../../drivers/sim/rtu-over-tcp-sim.ts'
import { simulatedMeterPoints } from '../../drivers/sim/simulated-meter.ts'

const points: readonly ModbusPoint[] = simulatedMeterPoints
const CYCLES = 5

async function tcpBench() {
  const servers = await Promise.all(
    Array.from({ length: 5 }, () => startModbusTcpSim({ port: 0, meters: 200 })),
  )
  const devices: ModbusDevice[] = servers.flatMap((server, s) =>
    Array.from({ length: 200 }, (_, i) => ({
      code: `tcp-${s}-${i + 1}`,
      protocol: 'modbus-tcp' as const,
      connection: { host: '127.0.0.1', port: server.port, unitId: i + 1, timeoutMs: 2000 },
      points,
    })),
  )
  const driver = new ModbusDriver()
  const requestsPlanned = devices.reduce((n, d) => n + planReads(d.connection.unitId, d.points).length, 0)
  const before = servers.reduce((n, s) => n + s.requests, 0)
  let good = 0
  const started = performance.now()
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const readings = (await Promise.all(devices.map((d) => driver.read(d)))).flat()
    good += readings.filter((r) => r.quality === 'good').length
  }
  const seconds = (performance.now() - started) / 1000
  const requestsSent = (servers.reduce((n, s) => n + s.requests, 0) - before) / CYCLES
  await driver.close()
  await Promise.all(servers.map((s) => s.close()))
  const naive = devices.length * points.length
  return {
    meters: devices.length,
    pointsPerCycle: naive,
    goodReadings: good,
    pointsPerSecond: Math.round(good / seconds),
    cycleMs: Math.round((seconds * 1000) / CYCLES),
    requestsPerCycle: requestsSent,
    requestsPlanned,
    naiveRequestsPerCycle: naive,
    requestRatio: requestsSent / naive,
  }
}

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
  // The bound the frame sizes dictate: every request and reply character on the wire at 11
  // bits per character. Nothing can poll the bus faster. The floor adds what the protocol
  // and the meters add on top: a 3.5-character silence per transaction and the meter's delay.
  const boundMs = requests.reduce((sum, r) => {
    const { request, reply } = rtuFrameBytes(r.functionCode, r.count)
    return sum + frameWireTimeMs(request + reply, baudRate)
  }, 0)
  const floorMs = boundMs + requests.length * (interFrameSilenceMs(baudRate) + responseDelayMs)
  const driver = new ModbusDriver()
  await Promise.all(devices.map((d) => driver.read(d))) // connect and warm up
  const times: number[] = []
  for (let cycle = 0; cycle < 3; cycle++) {
    const started = performance.now()
    await Promise.all(devices.map((d) => driver.read(d)))
    times.push(performance.now() - started)
  }
  await driver.close()
  await sim.close()
  const cycleMs = Math.min(...times)
  return {
    meters: 30,
    baudRate,
    requestsPerCycle: requests.length,
    cycleMs: Math.round(cycleMs),
    wireBoundMs: Math.round(boundMs),
    floorMs: Math.round(floorMs),
    ratio: cycleMs / boundMs,
    floorRatio: cycleMs / floorMs,
  }
}

const tcp = await tcpBench()
console.log('Modbus TCP, 1,000 simulated meters (8 points each), mean of 5 cycles')
console.log(
  `  points/s ${tcp.pointsPerSecond}   cycle ${tcp.cycleMs} ms   good readings ${tcp.goodReadings}/${tcp.pointsPerCycle * CYCLES}`,
)
console.log(
  `  requests/cycle ${tcp.requestsPerCycle} (planned ${tcp.requestsPlanned})   one-per-point baseline ${tcp.naiveRequestsPerCycle}   ratio ${tcp.requestRatio.toFixed(3)}`,
)
const rtu = await rtuBench()
console.log('Modbus RTU over TCP, one 9600-baud bus of 30 meters, best of 3 cycles')
console.log(
  `  cycle ${rtu.cycleMs} ms   wire-time bound ${rtu.wireBoundMs} ms   ratio ${rtu.ratio.toFixed(2)}   requests/cycle ${rtu.requestsPerCycle}`,
)
console.log(`  bound + silences + 5 ms meter delay ${rtu.floorMs} ms   ratio ${rtu.floorRatio.toFixed(2)}`)
