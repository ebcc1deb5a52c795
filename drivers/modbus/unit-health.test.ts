import { describe, expect, it } from 'vitest'
import { type CycleOutcome, UnitHealth } from './unit-health.ts'

/** Runs cycles with every polled one ending in `outcome`; returns what each cycle did. */
function run(health: UnitHealth, cycles: number, outcome: CycleOutcome): string[] {
  const seen: string[] = []
  for (let i = 0; i < cycles; i++) {
    const decision = health.begin()
    if (!decision.poll) {
      seen.push('skip')
      continue
    }
    seen.push(decision.probe ? 'probe' : 'poll')
    health.record(outcome, 1000 + i)
  }
  return seen
}

describe('UnitHealth', () => {
  it('goes offline after 3 silent cycles, then probes every 2nd, 4th, 8th, then every 10th cycle', () => {
    const health = new UnitHealth()
    const seen = run(health, 3 + 2 + 4 + 8 + 10 + 10, 'silent')
    expect(seen.slice(0, 3)).toEqual(['poll', 'poll', 'poll'])
    const probes = seen.flatMap((s, i) => (s === 'probe' ? [i + 1] : []))
    expect(probes).toEqual([5, 9, 17, 27, 37])
    expect(health.status()).toEqual({ online: false, consecutiveFailures: 8, lastOkAt: null })
  })

  it('comes back online on the first answer and polls every cycle again', () => {
    const health = new UnitHealth()
    run(health, 9, 'silent')
    expect(health.online).toBe(false)
    let decision = health.begin()
    while (!decision.poll) decision = health.begin()
    expect(decision).toEqual({ poll: true, probe: true })
    health.record('ok', 5000)
    expect(health.status()).toEqual({ online: true, consecutiveFailures: 0, lastOkAt: 5000 })
    expect(run(health, 3, 'ok')).toEqual(['poll', 'poll', 'poll'])
  })

  it('explains a skipped cycle', () => {
    const health = new UnitHealth()
    run(health, 3, 'silent')
    const decision = health.begin()
    expect(decision.poll).toBe(false)
    if (!decision.poll)
      expect(decision.reason).toMatch(/offline after 3 failed cycles; skipped, next probe in 1/)
  })

  it('keeps probing every cycle while the whole bus is down, since that fails fast', () => {
    const health = new UnitHealth()
    expect(run(health, 6, 'down')).toEqual(['poll', 'poll', 'poll', 'probe', 'probe', 'probe'])
    expect(health.status().online).toBe(false)
  })

  it('honours its policy', () => {
    const health = new UnitHealth({ offlineAfterCycles: 1, maxSkipCycles: 3 })
    expect(run(health, 10, 'silent')).toEqual([
      'poll',
      'skip',
      'probe',
      'skip',
      'skip',
      'probe',
      'skip',
      'skip',
      'probe',
      'skip',
    ])
  })
})
