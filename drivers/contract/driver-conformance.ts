/**
 * One conformance suite for every registered protocol family with a simulator (as MQTT.js
 * runs one store suite over every store): over real sockets, a live device with values of
 * every type the family reads, a wrong address, a dead device, a slow one, a device that is
 * not the one configured (families whose devices have an identity), and a close in the middle
 * of a read. read() must never throw and must give one reading per point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeviceEvent, Reading } from '../driver-types.ts'
import type { DeviceDriver, DriverDevice } from './device-driver.ts'
import type { ProtocolDefinition, ProtocolSimulator, PushSimulator } from './protocol-definition.ts'

/** Generous: two loaded cores; the simulators' devices time out after 400 ms. */
const TIMEOUT_BOUND_MS = 3000

const codes = (readings: readonly Reading[]) => readings.map((r) => r.point).sort()
const pointsOf = (device: DriverDevice) => device.points.map((p) => `${device.code}/${p.code}`).sort()

export function describeDriverConformance(family: ProtocolDefinition) {
  describe(`${family.family} driver conformance`, () => {
    let sim: ProtocolSimulator
    let driver: DeviceDriver
    beforeAll(async () => {
      if (!family.simulate) throw new Error(`${family.family} has no simulator`)
      sim = await family.simulate()
      driver = (await family.load())(sim.settings)
      await driver.open()
    })
    afterAll(async () => {
      await driver?.close()
      await sim?.close()
    })

    it('reads every point of a live device, each value of its type, all good', async () => {
      const readings = await driver.read(sim.device)
      expect(codes(readings)).toEqual(pointsOf(sim.device))
      for (const r of readings) {
        expect(r, r.point).toMatchObject({ quality: 'good' })
        expect(['number', 'boolean', 'string'], r.point).toContain(typeof r.value)
        expect(Number.isFinite(r.ts)).toBe(true)
      }
      // Among them, every kind of value the family decodes.
      const types = new Set(readings.map((r) => typeof r.value))
      expect(types.has('number')).toBe(true)
    })

    it('gives a point at a wrong address a bad reading with a reason; the others still read', async () => {
      const device = { ...sim.device, points: [...sim.device.points, sim.missingPoint] }
      const readings = await driver.read(device)
      expect(codes(readings)).toEqual(pointsOf(device))
      const ghost = readings.find((r) => r.point.endsWith(`/${sim.missingPoint.code}`))!
      expect(ghost).toMatchObject({ quality: 'bad', value: null })
      expect(ghost.reason).toBeTruthy()
      expect(readings.filter((r) => r !== ghost).every((r) => r.quality === 'good')).toBe(true)
    })

    it('reads a dead device as bad with a reason, within its timeout, without throwing', async () => {
      const started = Date.now()
      const readings = await driver.read(sim.deadDevice)
      expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS)
      expect(codes(readings)).toEqual(pointsOf(sim.deadDevice))
      for (const r of readings) {
        expect(r).toMatchObject({ quality: 'bad', value: null })
        expect(r.reason).toBeTruthy()
      }
    })

    // Families whose devices say who they are (a BACnet device instance) verify it.
    const identity = family.identityKey
    if (identity)
      it(`reads nothing as good from a device whose ${identity} is not the configured one`, async () => {
        const wrong = sim.wrongIdentityDevice
        if (!wrong)
          throw new Error(`${family.family} names identityKey but its simulator has no wrongIdentityDevice`)
        const readings = await driver.read(wrong)
        expect(codes(readings)).toEqual(pointsOf(wrong))
        for (const r of readings) {
          expect(r).toMatchObject({ quality: 'bad', value: null })
          expect(r.reason).toBeTruthy()
        }
        // The right device at the same address still reads.
        expect((await driver.read(sim.device)).every((r) => r.quality === 'good')).toBe(true)
      })

    it('waits for a slow device within its timeout, and gives up on a silent one', async () => {
      try {
        sim.delay(100)
        const slow = await driver.read(sim.device)
        expect(slow.every((r) => r.quality === 'good')).toBe(true)
        sim.delay(null)
        const started = Date.now()
        const silent = await driver.read(sim.device)
        expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS)
        expect(silent.every((r) => r.quality === 'bad' && r.reason)).toBe(true)
      } finally {
        sim.delay(0)
      }
      // Some drivers rest an offline unit for a few cycles: it comes back within them.
      let back: Reading[] = []
      for (let cycle = 0; cycle < 12 && !back.every((r) => r.quality === 'good'); cycle++) {
        back = await driver.read(sim.device)
      }
      expect(back.every((r) => r.quality === 'good')).toBe(true)
    })

    it('settles a read in flight when the driver closes, and reads bad (not throws) after', async () => {
      sim.delay(null)
      try {
        const pending = driver.read(sim.device)
        await new Promise((resolve) => setTimeout(resolve, 50))
        const started = Date.now()
        await driver.close()
        const readings = await pending
        expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS)
        expect(codes(readings)).toEqual(pointsOf(sim.device))
        expect(readings.every((r) => r.quality === 'bad')).toBe(true)
        const after = await driver.read(sim.device)
        expect(after.every((r) => r.quality === 'bad' && r.reason)).toBe(true)
      } finally {
        sim.delay(0)
      }
    })
  })
}

/** For families whose devices push events unasked: heard through `listen`, and not after close. */
export function describePushConformance(family: ProtocolDefinition) {
  describe(`${family.family} driver conformance: pushed events`, () => {
    let sim: PushSimulator
    let driver: DeviceDriver
    const events: DeviceEvent[] = []
    beforeAll(async () => {
      if (!family.simulatePush) throw new Error(`${family.family} has no push simulator`)
      sim = await family.simulatePush()
      driver = (await family.load())(sim.settings)
      driver.listen?.({ reading: () => {}, event: (e) => events.push(e) })
      await driver.open()
    })
    afterAll(async () => {
      await driver?.close()
      await sim?.close()
    })

    it('hands a pushed event to the listener within a second', async () => {
      await sim.push()
      const end = Date.now() + 1000
      while (events.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
      expect(events).toHaveLength(1)
      expect(events[0]!.source.length).toBeGreaterThan(0)
      expect(Number.isFinite(events[0]!.ts)).toBe(true)
    })

    it('hears nothing once closed', async () => {
      await driver.close()
      await sim.push().catch(() => {})
      await new Promise((r) => setTimeout(r, 200))
      expect(events).toHaveLength(1)
    })
  })
}
