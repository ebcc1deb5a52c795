/**
 * BACnet/IP driver against the device simulator over real UDP on 127.0.0.1.
 * Ports 47940–47947: the driver and each simulator have their own (one stack per host:port).
 */
import { createSocket } from 'node:dgram'
import { EngineeringUnits } from '@bacnet-js/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BacnetDriver } from '../drivers/bacnet/bacnet-driver.ts'
import type { BacnetDeviceRef, BacnetPoint } from '../drivers/bacnet/bacnet-types.ts'
import type { DeviceEvent, Reading } from '../drivers/driver-types.ts'
import { type BacnetSim, startBacnetSim } from '../drivers/sim/bacnet-device-sim.ts'

const HOST = '127.0.0.1'
const DRIVER_PORT = 47940
const TIMEOUT_MS = 500
/** A UDP socket that counts what it is sent and answers nothing. */
const MUTE_PORT = 47947

const objects = [
  { type: 'analog-input', instance: 1, value: 21.5, units: EngineeringUnits.DEGREES_CELSIUS },
  { type: 'analog-input', instance: 2, value: 3.25, units: EngineeringUnits.KILOPASCALS },
  { type: 'binary-input', instance: 1, value: true },
  { type: 'binary-value', instance: 1, value: false },
  { type: 'multi-state-value', instance: 1, value: 2, stateText: ['off', 'low', 'high'] },
] as const

const points: BacnetPoint[] = [
  { code: 'supply-temp', objectType: 'analog-input', instance: 1 },
  { code: 'pressure', objectType: 'analog-input', instance: 2 },
  { code: 'pump-running', objectType: 'binary-input', instance: 1 },
  { code: 'enable', objectType: 'binary-value', instance: 1, property: 'present-value' },
  { code: 'fan-speed', objectType: 'multi-state-value', instance: 1 },
  { code: 'supply-temp-units', objectType: 'analog-input', instance: 1, property: 'units' },
]

const byPoint = (readings: readonly Reading[]): Record<string, Reading> =>
  Object.fromEntries(readings.map((r) => [r.point.split('/')[1], r]))

/** Collects values pushed to a callback and waits for one that matches. */
function collector<T>() {
  const items: T[] = []
  const waiters: Array<{ match: (t: T) => boolean; resolve: (t: T) => void }> = []
  return {
    items,
    push(t: T) {
      items.push(t)
      for (const w of [...waiters]) {
        if (w.match(t)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(t)
        }
      }
    },
    // The bound only catches a hang: on a busy machine a notification can take seconds.
    next(match: (t: T) => boolean, timeoutMs = 15_000): Promise<T> {
      const seen = items.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nothing matching arrived')), timeoutMs)
        const done = (t: T): void => {
          clearTimeout(timer)
          resolve(t)
        }
        waiters.push({ match, resolve: done })
      })
    },
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('BACnet/IP driver against the simulator', () => {
  const driver = new BacnetDriver({ timeoutMs: TIMEOUT_MS, retries: 0 })
  const events = collector<DeviceEvent>()
  let ahu: BacnetSim
  let noRpm: BacnetSim
  let silent: BacnetSim
  let small: BacnetSim
  const ahuRef: BacnetDeviceRef = {
    address: `${HOST}:47941`,
    deviceInstance: 1001,
    code: 'ahu-1',
    maxApdu: 1476,
  }

  beforeAll(async () => {
    ahu = await startBacnetSim({ port: 47941, deviceInstance: 1001, objects })
    noRpm = await startBacnetSim({ port: 47942, deviceInstance: 1002, objects, refuseRpm: true })
    silent = await startBacnetSim({ port: 47943, deviceInstance: 1003, objects, silent: true })
    const many = Array.from({ length: 12 }, (_, i) => ({
      type: 'analog-input' as const,
      instance: i + 1,
      value: i,
    }))
    small = await startBacnetSim({ port: 47944, deviceInstance: 1004, objects: many, maxApdu: 206 })
    await driver.open({ port: DRIVER_PORT, interface: HOST })
    driver.onEvent((e) => events.push(e))
  })

  afterAll(async () => {
    await driver.close()
    await Promise.all([ahu, noRpm, silent, small].map((s) => s?.close()))
  })

  it('discovers devices by unicast Who-Is, with vendor and max APDU', async () => {
    // Broadcast Who-Is goes out too (it may reach nothing on loopback); the instance range keeps
    // devices of other test files that might answer it out of the result.
    const found = await driver.discover({
      timeoutMs: 300,
      addresses: [ahu.address, small.address, silent.address],
      lowLimit: 1001,
      highLimit: 1004,
    })
    expect(found).toEqual([
      {
        deviceInstance: 1001,
        address: ahu.address,
        vendorId: 999,
        maxApdu: 1476,
        segmentation: 'no-segmentation',
      },
      {
        deviceInstance: 1004,
        address: small.address,
        vendorId: 999,
        maxApdu: 206,
        segmentation: 'no-segmentation',
      },
    ])
  })

  it('reads mixed objects with one ReadPropertyMultiple', async () => {
    const before = ahu.counters()
    const r = byPoint(await driver.read(ahuRef, points))
    expect(r['supply-temp']).toMatchObject({ point: 'ahu-1/supply-temp', value: 21.5, quality: 'good' })
    expect(r.pressure).toMatchObject({ value: 3.25, quality: 'good' })
    expect(r['pump-running']).toMatchObject({ value: true, quality: 'good' })
    expect(r.enable).toMatchObject({ value: false, quality: 'good' })
    expect(r['fan-speed']).toMatchObject({ value: 2, quality: 'good' })
    expect(r['supply-temp-units']).toMatchObject({ value: EngineeringUnits.DEGREES_CELSIUS, quality: 'good' })
    expect(r['supply-temp']?.reason).toBeUndefined()
    const after = ahu.counters()
    expect(after.readPropertyMultiple - before.readPropertyMultiple).toBe(1)
    // The first read checks who answers first: one ReadProperty of Device 4194303's identifier.
    expect(after.readProperty - before.readProperty).toBe(1)
    // A device that proved its identity is trusted: the next read is the one RPM alone.
    await driver.read(ahuRef, points)
    expect(ahu.counters().readPropertyMultiple - after.readPropertyMultiple).toBe(1)
    expect(ahu.counters().readProperty).toBe(after.readProperty)
  })

  it('reads every point of a device configured with the wrong instance bad, naming both and the address', async () => {
    const wrong = { address: ahu.address, deviceInstance: 1009, code: 'ahu-9' }
    const readings = await driver.read(wrong, points)
    expect(readings).toHaveLength(points.length)
    for (const r of readings) {
      expect(r).toMatchObject({ value: null, quality: 'bad' })
      expect(r.reason).toBe(
        `EH_ERR_BACNET_IDENTITY: configured device instance 1009, but the device at ${ahu.address} is device 1001`,
      )
    }
    // The same address with the right instance still reads good.
    expect((await driver.read(ahuRef, points)).every((r) => r.quality === 'good')).toBe(true)
    // Nor is the wrong device subscribed to.
    await expect(driver.subscribeCov(wrong, points[0]!, () => {})).rejects.toThrow(
      /EH_ERR_BACNET_IDENTITY: configured device instance 1009, but .* is device 1001/,
    )
  })

  it('verifies a device older than the wildcard instance by its own Device object and Who-Is', async () => {
    const old = await startBacnetSim({ port: 47945, deviceInstance: 1005, objects, answersWildcard: false })
    try {
      const right = await driver.read({ address: old.address, deviceInstance: 1005 }, points.slice(0, 2))
      expect(right.every((r) => r.quality === 'good')).toBe(true)
      const wrong = await driver.read({ address: old.address, deviceInstance: 1006 }, points.slice(0, 2))
      expect(wrong.map((r) => [r.quality, r.reason])).toEqual([
        [
          'bad',
          `EH_ERR_BACNET_IDENTITY: configured device instance 1006, but the device at ${old.address} is device 1005`,
        ],
        [
          'bad',
          `EH_ERR_BACNET_IDENTITY: configured device instance 1006, but the device at ${old.address} is device 1005`,
        ],
      ])
    } finally {
      await old.close()
    }
  })

  it('verifies the device again after it went silent: a swapped controller reads bad, the right one good', async () => {
    const ref = { address: `${HOST}:47946`, deviceInstance: 1007, code: 'ahu-7' }
    let sim = await startBacnetSim({ port: 47946, deviceInstance: 1007, objects })
    try {
      expect((await driver.read(ref, points.slice(0, 2))).every((r) => r.quality === 'good')).toBe(true)
      await sim.close()
      const gone = await driver.read(ref, points.slice(0, 2))
      expect(gone.every((r) => r.quality === 'bad' && r.reason?.startsWith('EH_ERR_BACNET_TIMEOUT'))).toBe(
        true,
      )
      // Another controller now answers at the address.
      sim = await startBacnetSim({ port: 47946, deviceInstance: 1008, objects })
      const swapped = await driver.read(ref, points.slice(0, 2))
      expect(swapped.map((r) => r.reason)).toEqual([
        `EH_ERR_BACNET_IDENTITY: configured device instance 1007, but the device at ${ref.address} is device 1008`,
        `EH_ERR_BACNET_IDENTITY: configured device instance 1007, but the device at ${ref.address} is device 1008`,
      ])
      await sim.close()
      sim = await startBacnetSim({ port: 47946, deviceInstance: 1007, objects })
      expect((await driver.read(ref, points.slice(0, 2))).every((r) => r.quality === 'good')).toBe(true)
    } finally {
      await sim.close()
    }
  })

  it('falls back to ReadProperty when the device rejects RPM, and remembers it', async () => {
    const ref = { address: noRpm.address, deviceInstance: 1002, code: 'ahu-2' }
    const first = byPoint(await driver.read(ref, points))
    expect(first['supply-temp']).toMatchObject({ value: 21.5, quality: 'good' })
    expect(first['pump-running']).toMatchObject({ value: true, quality: 'good' })
    expect(first['supply-temp-units']).toMatchObject({
      value: EngineeringUnits.DEGREES_CELSIUS,
      quality: 'good',
    })
    const afterFirst = noRpm.counters()
    expect(afterFirst.rpmRefused).toBe(1)
    expect(afterFirst.readProperty).toBeGreaterThan(0)

    const second = await driver.read(ref, points)
    expect(second.every((x) => x.quality === 'good')).toBe(true)
    expect(noRpm.counters().readPropertyMultiple).toBe(afterFirst.readPropertyMultiple) // no RPM tried again
  })

  it('marks only the unknown object bad, with the reason', async () => {
    const r = byPoint(
      await driver.read(ahuRef, [
        points[0]!,
        { code: 'ghost', objectType: 'analog-input', instance: 99 },
        { code: 'typo', objectType: 'analog-inptu', instance: 1 },
        points[2]!,
      ]),
    )
    expect(r.ghost).toMatchObject({ value: null, quality: 'bad' })
    expect(r.ghost?.reason).toMatch(/EH_ERR_BACNET_ERROR: object\/unknown-object/)
    expect(r.typo?.reason).toMatch(/EH_ERR_BACNET_POINT: unknown object type "analog-inptu"/)
    expect(r['supply-temp']).toMatchObject({ value: 21.5, quality: 'good' })
    expect(r['pump-running']).toMatchObject({ value: true, quality: 'good' })
  })

  it('gives bad readings with a reason for a silent device, within one timeout', async () => {
    // 12 objects in 128-octet APDUs: several RPMs, two at a time per device. After the first
    // timeout the queued ones are not sent, so the read costs one timeout, not one per batch:
    // counted in requests the silent device received, not in milliseconds on a busy machine.
    const mute = createSocket('udp4')
    let received = 0
    mute.on('message', () => received++)
    await new Promise<void>((resolve) => mute.bind(MUTE_PORT, HOST, resolve))
    try {
      const many = Array.from({ length: 12 }, (_, i) => ({
        code: `t${i}`,
        objectType: 'analog-input',
        instance: i,
      }))
      const readings = await driver.read(
        { address: `${HOST}:${MUTE_PORT}`, deviceInstance: 1003, maxApdu: 128 },
        many,
      )
      expect(readings).toHaveLength(many.length)
      for (const r of readings) {
        expect(r).toMatchObject({ value: null, quality: 'bad' })
        expect(r.reason).toMatch(/EH_ERR_BACNET_TIMEOUT: no reply within 500 ms \(1 attempt\)/)
      }
      expect(received, 'requests sent before the first timeout, none after').toBeGreaterThanOrEqual(1)
      expect(received, 'requests sent before the first timeout, none after').toBeLessThanOrEqual(2)
    } finally {
      await new Promise<void>((resolve) => mute.close(() => resolve()))
    }
  })

  it('keeps RPM replies under the max APDU, and halves a batch the device aborts', async () => {
    const many = Array.from({ length: 12 }, (_, i) => ({
      code: `t${i + 1}`,
      objectType: 'analog-input',
      instance: i + 1,
    }))
    const planned = await driver.read({ address: small.address, deviceInstance: 1004, maxApdu: 206 }, many)
    expect(planned.map((r) => r.value)).toEqual(many.map((_, i) => i))
    expect(small.counters()).toMatchObject({ rpmTooBig: 0 })
    expect(small.counters().readPropertyMultiple).toBeGreaterThan(1)

    // Configured with too large an APDU: the device aborts, the driver splits and learns.
    const lying = { address: small.address, deviceInstance: 1004, maxApdu: 1476, code: 'lying' }
    const split = await driver.read(lying, many)
    expect(split.every((r) => r.quality === 'good')).toBe(true)
    const aborts = small.counters().rpmTooBig
    expect(aborts).toBeGreaterThan(0)
    await driver.read(lying, many)
    expect(small.counters().rpmTooBig).toBe(aborts)
  })

  it('maps status flags to quality: fault bad, out-of-service and in-alarm uncertain', async () => {
    ahu.setStatusFlags('analog-input', 2, { fault: true })
    ahu.setStatusFlags('analog-input', 1, { outOfService: true })
    ahu.setStatusFlags('binary-input', 1, { inAlarm: true })
    const r = byPoint(await driver.read(ahuRef, points.slice(0, 3)))
    expect(r.pressure).toMatchObject({ value: null, quality: 'bad' })
    expect(r.pressure?.reason).toMatch(/EH_ERR_BACNET_FLAGGED: status-flags fault/)
    expect(r['supply-temp']).toMatchObject({ value: 21.5, quality: 'uncertain' })
    expect(r['supply-temp']?.reason).toMatch(/out-of-service/)
    expect(r['pump-running']).toMatchObject({ value: true, quality: 'uncertain' })
    expect(r['pump-running']?.reason).toMatch(/in-alarm/)

    ahu.setStatusFlags('analog-input', 2, { fault: false })
    ahu.setStatusFlags('analog-input', 1, { outOfService: false })
    ahu.setStatusFlags('binary-input', 1, { inAlarm: false })
    const ok = await driver.read(ahuRef, points.slice(0, 3))
    expect(ok.every((x) => x.quality === 'good')).toBe(true)
  })

  it('delivers COV changes, renews before the lifetime ends, stops after cancel', async () => {
    const got = collector<Reading>()
    const cancel = await driver.subscribeCov(ahuRef, points[0]!, (r) => got.push(r), { lifetimeSeconds: 3 })
    await got.next((r) => r.value === 21.5) // the initial notification (§13.14.1.1)
    ahu.setValue('analog-input', 1, 22.5)
    expect(await got.next((r) => r.value === 22.5)).toMatchObject({
      point: 'ahu-1/supply-temp',
      quality: 'good',
    })

    await sleep(3600) // past the 3 s lifetime: alive only if renewed
    const [sub] = ahu.subscriptions().filter((s) => s.objectType === 'analog-input' && s.instance === 1)
    expect(sub).toMatchObject({ subscriber: `${HOST}:${DRIVER_PORT}`, confirmed: true, lifetimeSeconds: 3 })
    expect(sub!.renewals).toBeGreaterThanOrEqual(1)
    ahu.setValue('analog-input', 1, 23.5)
    await got.next((r) => r.value === 23.5)

    await cancel()
    expect(ahu.subscriptions()).toHaveLength(0)
    const count = got.items.length
    ahu.setValue('analog-input', 1, 24.5)
    await sleep(300)
    expect(got.items).toHaveLength(count)
    expect(got.items.every((r) => r.quality === 'good')).toBe(true)
    expect(ahu.counters().covUnacknowledged).toBe(0) // the driver acknowledged each one (§13.6)
    ahu.setValue('analog-input', 1, 21.5)
  })

  it('turns a binary-input change seen on COV into a state_change event', async () => {
    const got = collector<Reading>()
    const cancel = await driver.subscribeCov(ahuRef, points[2]!, (r) => got.push(r), {
      lifetimeSeconds: 60,
      confirmed: false,
    })
    await got.next((r) => r.value === true)
    ahu.setValue('binary-input', 1, false)
    await got.next((r) => r.value === false)
    const e = await events.next((x) => x.type === 'state_change')
    expect(e).toMatchObject({
      source: 'ahu-1/pump-running',
      type: 'state_change',
      payload: { objectType: 'binary-input', instance: 1, from: true, to: false },
    })
    await cancel()
    ahu.setValue('binary-input', 1, true)
  })

  it('turns an event notification into an alarm DeviceEvent, and acknowledges it', async () => {
    // confirmed: raiseEvent resolves only once the driver sent its SimpleACK
    await ahu.raiseEvent('analog-input', 1, 'high-limit', {
      to: `${HOST}:${DRIVER_PORT}`,
      confirmed: true,
      message: 'supply too hot',
    })
    const e = await events.next((x) => x.type === 'alarm')
    expect(e).toMatchObject({
      source: 'ahu-1/supply-temp',
      type: 'alarm',
      payload: {
        objectType: 'analog-input',
        instance: 1,
        eventState: 'high-limit',
        fromState: 'normal',
        eventType: 'out-of-range',
        notifyType: 'alarm',
        deviceInstance: 1001,
        messageText: 'supply too hot',
      },
    })
    const r = byPoint(await driver.read(ahuRef, points.slice(0, 1)))
    expect(r['supply-temp']).toMatchObject({ quality: 'uncertain' }) // in-alarm follows Event_State
    await ahu.raiseEvent('analog-input', 1, 'normal', { to: `${HOST}:${DRIVER_PORT}` })
  })
})
