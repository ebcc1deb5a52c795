import { describe, expect, it } from 'vitest'
import { nextAlignedTick, PollSchedule } from './poll-schedule.ts'

describe('poll schedule', () => {
  it('aligns ticks to the wall clock', () => {
    const quarter = 15 * 60_000
    const t = Date.UTC(2026, 10, 30, 15, 52, 10)
    expect(new Date(nextAlignedTick(t, quarter)).toISOString()).toBe('2026-11-30T16:00:00.000Z')
    expect(nextAlignedTick(Date.UTC(2026, 0, 1, 0, 15), quarter)).toBe(Date.UTC(2026, 0, 1, 0, 30))
  })

  it('runs a job on each tick and skips a tick while the previous run is still going', async () => {
    const errors: unknown[] = []
    const schedule = new PollSchedule({ onError: (_job, e) => errors.push(e) })
    const ticks: number[] = []
    let release: () => void = () => {}
    schedule.add({
      key: 'slow',
      intervalMs: 50,
      run: async (tick) => {
        ticks.push(tick)
        if (ticks.length === 2) await new Promise<void>((resolve) => (release = resolve))
      },
    })
    schedule.add({
      key: 'failing',
      intervalMs: 50,
      run: async () => {
        throw new Error('bus down')
      },
    })
    schedule.start()
    await new Promise((resolve) => setTimeout(resolve, 240))
    release()
    await new Promise((resolve) => setTimeout(resolve, 80))
    schedule.stop()
    await schedule.idle()
    const slow = schedule.stats.get('slow')!
    expect(slow.skipped).toBeGreaterThanOrEqual(2)
    expect(ticks.slice(1).every((t) => t % 50 === 0)).toBe(true)
    expect(schedule.stats.get('failing')!.failures).toBeGreaterThanOrEqual(4)
    expect(errors.length).toBe(schedule.stats.get('failing')!.failures)
  })
})
