import { describe, expect, it } from 'vitest'
import { ConcurrencyLimit } from './concurrency-limit.ts'
import { ModbusBus } from './modbus-bus.ts'
import type { BusAddress } from './modbus-device.ts'
import { exceptionError, ModbusError } from './modbus-errors.ts'
import type { ModbusOperation } from './modbus-transport.ts'
import { addressEcho, type ScriptedAnswer, ScriptedTransport } from './scripted-transport.ts'

const serial = { baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 } as const
const rtu: BusAddress = { kind: 'rtu-over-tcp', key: 'rtu+tcp://test:4001', host: 'test', port: 4001, serial }
const tcp: BusAddress = { kind: 'tcp', key: 'tcp://test:502', host: 'test', port: 502 }
const read3 = (start: number, count = 2): ModbusOperation => ({ functionCode: 3, start, count })
const policy = { timeoutMs: 30, retries: 2 }

function busWith(
  address: BusAddress,
  script: (unit: number, op: ModbusOperation) => ScriptedAnswer,
  latencyMs = 0,
) {
  const transport = new ScriptedTransport(script, { latencyMs })
  return { bus: new ModbusBus(address, { transport, retryBackoffMs: 5 }), transport }
}

describe('ModbusBus', () => {
  it('runs concurrent requests to different units one at a time, each with its own unit id', async () => {
    const { bus, transport } = busWith(tcp, (_u, op) => addressEcho(op), 2)
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((unit) => bus.execute(unit, read3(unit * 10), policy)),
    )
    expect(results.map((r) => r.ok && r.reply.registers)).toEqual(
      [1, 2, 3, 4, 5].map((u) => [u * 10, u * 10 + 1]),
    )
    expect(transport.calls.map((c) => c.unitId)).toEqual([1, 2, 3, 4, 5])
    expect(transport.overlaps).toBe(0)
    expect(bus.silenceMs).toBe(0)
  })

  it('keeps the RTU inter-frame silence between requests and between retries', async () => {
    let n = 0
    const { bus, transport } = busWith(
      rtu,
      (_u, op) => (n++ === 1 ? new ModbusError('frame', 'CRC error') : addressEcho(op)),
      1,
    )
    await Promise.all([
      bus.execute(1, read3(0), policy),
      bus.execute(2, read3(0), policy),
      bus.execute(3, read3(0), policy),
    ])
    expect(bus.silenceMs).toBeCloseTo(4.01, 2)
    expect(transport.calls).toHaveLength(4) // the CRC error was retried once
    for (let i = 1; i < transport.calls.length; i++) {
      expect(transport.calls[i]!.start - transport.calls[i - 1]!.end).toBeGreaterThanOrEqual(4.01 - 0.05)
    }
  })

  it('retries a timeout, then reports it with the attempts and the timeout', async () => {
    // No extra backoff after a timeout (it waited long enough): with a backoff of a minute, one
    // taken would run this test past its timeout, which says so however busy the machine is.
    const transport = new ScriptedTransport(() => 'silent')
    const bus = new ModbusBus(tcp, { transport, retryBackoffMs: 60_000 })
    const started = performance.now()
    const result = await bus.execute(7, read3(100), policy)
    const elapsed = performance.now() - started
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe('EH_ERR_MODBUS_TIMEOUT')
    expect(result.error.message).toBe('timeout (unit 7 FC3 @100×2, 3 attempts of 30 ms)')
    expect(transport.calls).toHaveLength(3)
    // Three timeouts waited out in full: a lower bound, which load cannot break.
    expect(elapsed).toBeGreaterThanOrEqual(88)
    console.info(`[timing] Modbus bus: 3 timed-out attempts of 30 ms took ${elapsed.toFixed(0)} ms`)
  })

  it('does not retry a deterministic exception and names it', async () => {
    const { bus, transport } = busWith(tcp, () => exceptionError(2))
    const result = await bus.execute(1, read3(9000), policy)
    expect(transport.calls).toHaveLength(1)
    expect(result).toMatchObject({ ok: false, attempts: 1 })
    if (!result.ok) {
      expect(result.error.message).toBe('exception 2 ILLEGAL DATA ADDRESS (unit 1 FC3 @9000×2, 1 attempt)')
      expect(result.error.exceptionCode).toBe(2)
      expect(result.error.answered).toBe(true)
    }
  })

  it('retries a busy device after a short pause, and succeeds', async () => {
    let n = 0
    const { bus, transport } = busWith(tcp, (_u, op) => (n++ < 2 ? exceptionError(6) : addressEcho(op)))
    const result = await bus.execute(1, read3(0), policy)
    expect(result).toMatchObject({ ok: true, attempts: 3 })
    expect(transport.calls[1]!.start - transport.calls[0]!.end).toBeGreaterThanOrEqual(4)
  })

  it('treats exception 0x0B from a gateway as an unreachable unit', async () => {
    const { bus } = busWith(tcp, () => exceptionError(0x0b))
    const result = await bus.execute(1, read3(0), { ...policy, retries: 0 })
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.error.message).toMatch(/GATEWAY TARGET DEVICE FAILED TO RESPOND/)
      expect(result.error.unreachable).toBe(true)
      expect(result.error.answered).toBe(false)
    }
  })

  it('lets an aborted request leave the queue without being sent', async () => {
    const { bus, transport } = busWith(tcp, (_u, op) => addressEcho(op), 20)
    const controller = new AbortController()
    const first = bus.execute(1, read3(0), policy)
    const second = bus.execute(2, read3(0), { ...policy, signal: controller.signal })
    controller.abort()
    expect(await second).toMatchObject({ ok: false, attempts: 0, error: { kind: 'aborted' } })
    expect(await first).toMatchObject({ ok: true })
    expect(transport.calls.map((c) => c.unitId)).toEqual([1])
  })

  it('fails queued requests when closed', async () => {
    const { bus } = busWith(tcp, (_u, op) => addressEcho(op), 20)
    const first = bus.execute(1, read3(0), policy)
    const queued = bus.execute(2, read3(0), policy)
    await bus.close()
    expect(await queued).toMatchObject({ ok: false, error: { code: 'EH_ERR_MODBUS_BUS_CLOSED' } })
    expect((await first).ok).toBe(true)
  })

  it('shares a concurrency limit across buses', async () => {
    const limit = new ConcurrencyLimit(2)
    let inFlight = 0
    let most = 0
    const script = async (_u: number, op: ModbusOperation) => {
      most = Math.max(most, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 10))
      inFlight--
      return addressEcho(op)
    }
    const buses = [1, 2, 3, 4].map(
      (n) =>
        new ModbusBus(
          { ...tcp, key: `tcp://h${n}:502` },
          { transport: new ScriptedTransport(script), limit },
        ),
    )
    const started = performance.now()
    await Promise.all(buses.map((bus) => bus.execute(1, read3(0), policy)))
    expect(most).toBe(2)
    expect(performance.now() - started).toBeGreaterThanOrEqual(19)
  })
})
