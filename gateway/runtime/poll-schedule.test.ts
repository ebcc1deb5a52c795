import { describe, expect, it, vi } from 'vitest'
import { nextAlignedTick, PollSchedule, type ScheduleTimer } from './poll-schedule.ts'

// Tests on a real timer wait for what they count (bounded only against a hang), never a
// fixed span: on a busy machine a 50 ms timer may fire far later, and fewer times.
const HANG = { timeout: 10_000, interval: 5 }

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
    // The second run hangs: the ticks that come meanwhile are skipped, the other job goes on.
    await vi.waitFor(() => {
      expect(schedule.stats.get('slow')!.skipped).toBeGreaterThanOrEqual(2)
      expect(schedule.stats.get('failing')!.failures).toBeGreaterThanOrEqual(4)
    }, HANG)
    release()
    // Released, the slow job runs on its next tick again.
    const held = ticks.length
    await vi.waitFor(() => expect(ticks.length).toBeGreaterThan(held), HANG)
    schedule.stop()
    await schedule.idle()
    const slow = schedule.stats.get('slow')!
    expect(slow.skipped).toBeGreaterThanOrEqual(2)
    expect(ticks.slice(1).every((t) => t % 50 === 0)).toBe(true)
    expect(schedule.stats.get('failing')!.failures).toBeGreaterThanOrEqual(4)
    expect(errors.length).toBe(schedule.stats.get('failing')!.failures)
  })

  /** A timer the test fires by hand, against a clock the test sets. */
  function manualTimer() {
    const pending = new Map<number, () => void>()
    let next = 0
    const timer: ScheduleTimer = {
      set(fire) {
        pending.set(++next, fire)
        return next
      },
      clear: (handle) => void pending.delete(handle as number),
    }
    return {
      timer,
      armed: () => pending.size,
      /** Fires every armed timer (whatever its delay), then lets the runs settle. */
      async fire() {
        const due = [...pending.values()]
        pending.clear()
        for (const fire of due) fire()
        await new Promise((resolve) => setImmediate(resolve))
      },
    }
  }

  it('runs no tick twice when the timer fires early or late, or the clock jumps either way', async () => {
    let clock = 10_500
    const manual = manualTimer()
    const schedule = new PollSchedule({
      onError: () => {},
      now: () => clock,
      timer: manual.timer,
      maxSleepMs: 5_000,
    })
    const runs: { tick: number; at: number }[] = []
    schedule.add({
      key: 'm1:counter',
      intervalMs: 1000,
      run: async (tick) => void runs.push({ tick, at: clock }),
    })
    schedule.start() // the start-up run, at 10 500; next tick 11 000
    await manual.fire()

    clock = 10_999 // a timer 1 ms early by Date.now(): waits out the millisecond, runs nothing
    await manual.fire()
    clock = 11_000
    await manual.fire()
    clock = 11_000 // fired again at once (the old bug re-armed to the tick just run)
    await manual.fire()
    clock = 12_003 // late
    await manual.fire()
    clock = 12_999
    await manual.fire()
    clock = 13_000
    await manual.fire()
    // The clock is set back an hour's worth of ticks: nothing runs until it passes 13 000 again.
    for (clock = 9_000; clock < 14_000; clock += 700) await manual.fire()
    clock = 14_000
    await manual.fire()
    // Set forward: the latest tick passed runs once; the ones jumped over count as skipped.
    clock = 20_500
    await manual.fire()
    clock = 20_999
    await manual.fire()

    expect(runs.map((r) => r.tick)).toEqual([10_500, 11_000, 12_000, 13_000, 14_000, 20_000])
    // Every aligned run happened at or after its tick by the wall clock.
    expect(runs.slice(1).every((r) => r.at >= r.tick)).toBe(true)
    const stats = schedule.stats.get('m1:counter')!
    expect(stats).toMatchObject({ runs: 6, lastTick: 20_000, skipped: 5 })
    expect(manual.armed()).toBe(1)
    schedule.stop()
    expect(manual.armed()).toBe(0)
  })

  it('runs distinct aligned ticks on a real timer that fires 2 ms early', async () => {
    const ticks: number[] = []
    const early: ScheduleTimer = {
      set: (fire, ms) => setTimeout(fire, Math.max(0, ms - 2)),
      clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
    }
    const schedule = new PollSchedule({ onError: () => {}, timer: early })
    schedule.add({ key: 'fast', intervalMs: 20, run: async (tick) => void ticks.push(tick) })
    schedule.start()
    await vi.waitFor(() => expect(ticks.length).toBeGreaterThanOrEqual(6), HANG)
    schedule.stop()
    await schedule.idle()
    const aligned = ticks.slice(1)
    expect(aligned.length).toBeGreaterThan(2)
    expect(aligned.every((t) => t % 20 === 0)).toBe(true)
    expect(new Set(aligned).size).toBe(aligned.length)
    expect(aligned).toEqual([...aligned].sort((a, b) => a - b))
  })
})
