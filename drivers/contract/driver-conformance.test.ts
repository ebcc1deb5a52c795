import { describe, expect, it } from 'vitest'
import { describeDriverConformance, describePushConformance } from './driver-conformance.ts'
import { protocolFamilies } from './protocol-registry.ts'

// Every registered family that polls points has a simulator and passes the same suite.
for (const family of protocolFamilies().filter((f) => f.point)) describeDriverConformance(family)
// And every family that hears events unasked passes the push suite.
for (const family of protocolFamilies().filter((f) => f.simulatePush)) describePushConformance(family)

describe('the registry', () => {
  it('gives every family that polls points a simulator, so the suite above covers it', () => {
    expect(protocolFamilies().filter((f) => f.point && !f.simulate)).toEqual([])
  })

  it('gives every family without points (push only) a push simulator', () => {
    expect(protocolFamilies().filter((f) => !f.point && !f.simulatePush)).toEqual([])
  })
})
