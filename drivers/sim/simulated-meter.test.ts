import { describe, expect, it } from 'vitest'
import { SimulatedMeter } from './simulated-meter.ts'

describe('simulated meter', () => {
  it('advances its counters plausibly with time', () => {
    let now = Date.UTC(2026, 0, 1)
    const meter = new SimulatedMeter({ unitId: 3, clock: () => now, startKwh: 1000 })
    const first = meter.energyKwh()
    now += 3_600_000
    const used = meter.energyKwh() - first
    expect(used).toBeGreaterThan(0.5) // 0.5–3 kW load over an hour
    expect(used).toBeLessThan(3)
  })

  it('behind a CT, its register advances 1/ratio as fast', () => {
    let now = Date.UTC(2026, 0, 1)
    const direct = new SimulatedMeter({ unitId: 4, clock: () => now, startKwh: 4000 })
    const ct = new SimulatedMeter({ unitId: 4, clock: () => now, startKwh: 4000, ctRatio: 40 })
    const [d0, c0] = [direct.energyKwh(), ct.energyKwh()]
    expect(c0).toBe(100)
    now += 10 * 3_600_000
    const directUse = direct.energyKwh() - d0
    const ctUse = ct.energyKwh() - c0
    expect(ctUse * 40).toBeCloseTo(directUse, 0)
  })

  it('rolls over like the uint32 register it sits in', () => {
    let now = Date.UTC(2026, 0, 1)
    const meter = new SimulatedMeter({ unitId: 1, clock: () => now, nearRollover: true })
    expect(meter.energyKwh()).toBeGreaterThan(42_949_672)
    now += 3_600_000
    expect(meter.energyKwh()).toBeLessThan(5)
  })
})
