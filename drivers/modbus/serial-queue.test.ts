import { describe, expect, it } from 'vitest'
import { QueueClosedError, SerialQueue } from './serial-queue.ts'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe('SerialQueue', () => {
  it('runs tasks one at a time in the order they were queued', async () => {
    const queue = new SerialQueue()
    let running = 0
    let most = 0
    const order: number[] = []
    const task = (n: number) => async () => {
      running++
      most = Math.max(most, running)
      await sleep(5 - (n % 3))
      order.push(n)
      running--
      return n
    }
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => queue.run(task(n))))
    expect(results).toEqual([1, 2, 3, 4, 5, 6])
    expect(order).toEqual([1, 2, 3, 4, 5, 6])
    expect(most).toBe(1)
  })

  it('keeps going after a task fails, and reports the failure to its caller only', async () => {
    const queue = new SerialQueue()
    const failing = queue.run(async () => {
      throw new Error('no reply')
    })
    const next = queue.run(async () => 'ok')
    await expect(failing).rejects.toThrow('no reply')
    await expect(next).resolves.toBe('ok')
  })

  it('leaves at least the gap between the end of one task and the start of the next', async () => {
    const queue = new SerialQueue({ gapMs: 4.01 })
    const spans: Array<[number, number]> = []
    const task = async () => {
      const start = performance.now()
      await sleep(1)
      spans.push([start, performance.now()])
    }
    await Promise.all([task, task, task, task].map((t) => queue.run(t)))
    for (let i = 1; i < spans.length; i++) {
      // Timers round up (a 4.01 ms gap waits 5 ms): never less than the gap.
      expect(spans[i]![0] - spans[i - 1]![1]).toBeGreaterThanOrEqual(4.01 - 0.05)
    }
  })

  it('counts the gap with the injected clock and sleeps only what is left', async () => {
    let now = 100
    const slept: number[] = []
    const queue = new SerialQueue({
      gapMs: 10,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms)
        now += ms
      },
    })
    await queue.run(async () => {
      now += 3
    })
    now += 4 // 4 ms idle already
    await queue.run(async () => undefined)
    expect(slept).toEqual([6])
  })

  it('drops a waiting task whose signal aborts, without touching the running one', async () => {
    const queue = new SerialQueue()
    const controller = new AbortController()
    const ran: string[] = []
    const first = queue.run(async () => {
      await sleep(20)
      ran.push('first')
    })
    const second = queue.run(async () => ran.push('second'), { signal: controller.signal })
    const third = queue.run(async () => ran.push('third'))
    controller.abort(new Error('shutdown'))
    await expect(second).rejects.toThrow('shutdown')
    await first
    await third
    expect(ran).toEqual(['first', 'third'])
    expect(queue.size).toBe(0)
  })

  it('rejects waiting and later tasks once closed', async () => {
    const queue = new SerialQueue()
    const running = queue.run(() => sleep(10).then(() => 'done'))
    const waiting = queue.run(async () => 'never')
    queue.close()
    await expect(waiting).rejects.toBeInstanceOf(QueueClosedError)
    await expect(running).resolves.toBe('done')
    await expect(queue.run(async () => 1)).rejects.toMatchObject({ code: 'EH_ERR_MODBUS_BUS_CLOSED' })
  })
})
