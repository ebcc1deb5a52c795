import { describe, expect, it } from 'vitest'
import type { Reading } from '../../drivers/driver-types.ts'
import { type DeviceStatus, DeviceStatusBoard } from './device-status.ts'

const at = Date.UTC(2026, 11, 7, 12)
const good = (point: string, ts = at): Reading => ({ point, ts, value: 1, quality: 'good' })
const bad = (point: string, reason: string, ts = at): Reading => ({
  point,
  ts,
  value: null,
  quality: 'bad',
  reason,
})

describe('device status board', () => {
  it('derives each device state from its points and tells each change once', () => {
    const told: DeviceStatus[] = []
    const board = new DeviceStatusBoard({
      devices: [
        { code: 'm1', protocol: 'modbus-tcp', enabled: true },
        { code: 'ahu', protocol: 'bacnet-ip', enabled: true },
        { code: 'off', protocol: 'modbus-rtu', enabled: false },
        { code: 'door', protocol: 'access-webhook', enabled: true },
        { code: 'x', protocol: 'no-such-protocol', enabled: true },
      ],
      runningFamilies: new Set(['modbus', 'bacnet']),
      onChange: (s) => told.push(s),
    })
    expect(board.list().map((d) => [d.code, d.family, d.state])).toEqual([
      ['m1', 'modbus', 'waiting'],
      ['ahu', 'bacnet', 'waiting'],
      ['off', 'modbus', 'disabled'],
      ['door', 'access', 'not-running'],
      ['x', null, 'not-running'],
    ])

    board.recordReadings([good('m1/kwh'), good('m1/v')])
    const wrong = 'EH_ERR_BACNET_IDENTITY: configured device instance 9, but the device at h:1 is device 8'
    for (let poll = 0; poll < 3; poll++) board.recordReadings([bad('ahu/t', wrong, at + poll)])
    // A retry text that changes every poll is the same kind of failure.
    board.recordReadings([bad('m1/kwh', 'connection: down, next connect in 250 ms', at + 1)])
    board.recordReadings([bad('m1/kwh', 'connection: down, next connect in 500 ms', at + 2)])
    board.recordReadings([bad('m1/v', 'connection: down, next connect in 500 ms', at + 2)])
    board.recordReadings([bad('m1/v', 'connection: down, next connect in 1000 ms', at + 3)])
    board.recordReadings([good('m1/kwh', at + 4), good('m1/v', at + 4)])

    // First ok is not news; failures, a partial failure and the recovery are, each once.
    expect(told.map((s) => [s.code, s.state, s.lastError?.reason])).toEqual([
      ['ahu', 'failed', wrong],
      ['m1', 'degraded', 'connection: down, next connect in 250 ms'],
      ['m1', 'failed', 'connection: down, next connect in 500 ms'],
      ['m1', 'ok', 'connection: down, next connect in 1000 ms'],
    ])
    const m1 = board.list()[0]!
    expect(m1).toMatchObject({
      state: 'ok',
      online: true,
      lastGoodAt: new Date(at + 4).toISOString(),
      lastError: { at: new Date(at + 3).toISOString() },
    })
    expect(board.list()[1]).toMatchObject({ state: 'failed', online: false, lastGoodAt: null })
  })

  it('takes a push-only device as ok from its first event, and a failed poll as failed', () => {
    const told: string[] = []
    const board = new DeviceStatusBoard({
      devices: [
        { code: 'door', protocol: 'access-webhook', enabled: true },
        { code: 'm1', protocol: 'modbus-tcp', enabled: true },
      ],
      runningFamilies: new Set(['access', 'modbus']),
      health: (d) => (d.code === 'm1' ? { online: false } : undefined),
      onChange: (s) => told.push(`${s.code} ${s.state}`),
    })
    board.recordEvent({ source: 'door/east', ts: at, type: 'granted', payload: {} })
    board.recordFailure('m1', new Error('driver broke'))
    expect(board.list()).toMatchObject([
      { code: 'door', state: 'ok', lastEventAt: new Date(at).toISOString() },
      { code: 'm1', state: 'failed', online: false, lastError: { reason: 'driver broke' } },
    ])
    expect(told).toEqual(['m1 failed'])
  })
})
