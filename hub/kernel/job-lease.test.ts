import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeBackends } from '../../test/support/store-backends.ts'
import { NotificationDispatcher } from '../notify/notification-dispatcher.ts'
import type { Store } from '../store/open-store.ts'
import type { JobContext } from './hub-module.ts'
import { doneKeys, JobLease, jobLeases, leasedJob, markDone, newHubId } from './job-lease.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const TTL = 600 // ms: short, so an expiry takes a moment; waits below are for the TTL, not timings

describe.each(storeBackends())('job leases on $name', (backend) => {
  let store: Store
  beforeAll(async () => {
    store = await backend.open()
  })
  afterAll(() => store?.close())

  const holders = (job: string) =>
    ['hub-a', 'hub-b', 'hub-c'].map((h) => new JobLease(store.db, job, h, { ttlMs: TTL }))

  it('names a hub by host, pid and a random part', () => {
    const [a, b] = [newHubId(), newHubId()]
    expect(a).toMatch(new RegExp(`:${process.pid}:[0-9a-f]{6}$`))
    expect(a).not.toBe(b)
  })

  it('is held by one hub at a time, renewed by it, and taken over when it expires or is released', async () => {
    const [a, b, c] = holders('lease-basics')
    expect(await a!.hold()).toBe(true)
    expect(await b!.renew()).toBe(false)
    expect(await c!.renew()).toBe(false)
    // The holder renewing keeps it past its first TTL.
    for (let i = 0; i < 3; i++) {
      await sleep(TTL / 2)
      expect(await a!.renew()).toBe(true)
      expect(await b!.renew()).toBe(false)
    }
    // The holder stops renewing (it died): after the TTL one other hub takes it.
    await sleep(TTL + 100)
    const [tookB, tookC] = [await b!.renew(), await c!.renew()]
    expect([tookB, tookC]).toEqual([true, false])
    expect(await a!.renew()).toBe(false) // the old holder learns it lost it
    const row = await store.db
      .selectFrom('jobLeases')
      .selectAll()
      .where('name', '=', 'lease-basics')
      .executeTakeFirst()
    expect(row?.holder).toBe('hub-b')
    // Released: another takes it at once.
    await b!.release()
    expect(await c!.renew()).toBe(true)
    await c!.release()
  })

  it('answers from its last answer between asks, a third of the TTL', async () => {
    const [a, b] = holders('lease-cache')
    expect(await a!.hold()).toBe(true)
    expect(a!.held).toBe(true)
    await a!.release()
    expect(a!.held).toBe(false)
    expect(await b!.hold()).toBe(true)
    // a asked moments ago (at release it forgot its answer): it asks again and is refused.
    expect(await a!.hold()).toBe(false)
    await b!.release()
  })

  it('runs a leased job on the holder only, renews it through a long run, and aborts a run whose lease was lost', async () => {
    const lines: string[] = []
    const log = {
      info: (_: object, m: string) => lines.push(m),
      warn: (_: object, m: string) => lines.push(m),
      error: (_: object, m: string) => lines.push(m),
    }
    const runs: string[] = []
    const aborted: string[] = []
    const contextOf = (hubId: string) =>
      ({
        db: store.db,
        log,
        notifications: { poke() {} },
        ...jobLeases(store.db, log, { hubId, ttlMs: TTL }),
      }) as unknown as JobContext
    let runLength = 8 // quarter TTLs: two TTLs, so the heartbeat must keep the lease meanwhile
    const jobs = ['hub-1', 'hub-2', 'hub-3'].map((hubId) =>
      leasedJob(contextOf(hubId), {
        name: 'long job',
        everyMs: 60_000,
        run: async (signal) => {
          runs.push(hubId)
          for (let i = 0; i < runLength && !signal.aborted; i++) await sleep(TTL / 4)
          if (signal.aborted) aborted.push(hubId)
        },
      }),
    )
    for (const job of jobs) job.start()
    const ticks = jobs.map((j) => j.tick())
    while (runs.length === 0) await sleep(10)
    const first = runs[0]!
    const holder = jobs.find((j) => j.lease.holder === first)!
    const others = jobs.filter((j) => j !== holder)
    // Past one TTL into the run: the lease is still the holder's, nobody else runs.
    await sleep(TTL * 1.3)
    expect((await Promise.all(others.map((j) => j.tick()))).filter(Boolean)).toEqual([])
    expect((await Promise.all(ticks)).filter(Boolean)).toHaveLength(1)
    expect(runs).toEqual([first])

    // Someone takes the lease away mid-run (the holder stalled past its TTL): the heartbeat
    // finds out and the run is told to stop.
    runLength = 200
    const stolen = holder.tick()
    while (runs.length === 1) await sleep(10)
    await store.db
      .updateTable('jobLeases')
      .set({ holder: 'intruder' })
      .where('name', '=', 'long job')
      .execute()
    expect(await stolen).toBe(true)
    expect(aborted).toEqual([first])
    expect(lines.some((l) => /job lease lost: long job now runs on intruder/.test(l))).toBe(true)
    await store.db.updateTable('jobLeases').set({ holder: first }).where('name', '=', 'long job').execute()
    runLength = 1

    // The holder dies (stops renewing, keeps the row): after the TTL the heartbeat of another
    // hub takes the lease, and that hub's next tick runs.
    expect(await holder.lease.renew()).toBe(true)
    await holder.halt()
    const deadline = Date.now() + 20 * TTL
    let next: boolean[] = []
    while (Date.now() < deadline) {
      next = await Promise.all(others.map((j) => j.tick()))
      if (next.some(Boolean)) break
      await sleep(TTL / 4)
    }
    expect(next.filter(Boolean)).toHaveLength(1)
    expect(runs).toHaveLength(3)
    expect(runs[2]).not.toBe(first)
    expect(lines.some((l) => /job lease taken over: long job runs on this hub/.test(l))).toBe(true)
    for (const job of jobs) await job.stop()
    expect(lines.some((l) => /job lease released: long job/.test(l))).toBe(true)
  })

  it('polls the notification outbox from the lease holder only (pokes are not leased)', async () => {
    class Counting extends NotificationDispatcher {
      pokes = 0
      override poke() {
        this.pokes++
      }
    }
    const [a, b] = ['hub-a', 'hub-b'].map(
      (h) => new JobLease(store.db, 'notification dispatcher', h, { ttlMs: TTL }),
    )
    const one = new Counting(store.db, { pollMs: 20 })
    const two = new Counting(store.db, { pollMs: 20 })
    one.start(undefined, a)
    while (!a!.held) await sleep(10)
    two.start(undefined, b)
    while (one.pokes < 10) await sleep(10)
    await Promise.all([one.stop(), two.stop()])
    expect(two.pokes).toBe(0)
    await a!.release()
  })

  it('records work done once per key', async () => {
    expect(await doneKeys(store.db, 'demo', [])).toEqual(new Set())
    await markDone(store.db, 'demo', 'e1/2026-10/first', 'hub-a')
    await markDone(store.db, 'demo', 'e1/2026-10/first', 'hub-b') // a second record is ignored
    expect(await doneKeys(store.db, 'demo', ['e1/2026-10/first', 'e1/2026-10/final'])).toEqual(
      new Set(['e1/2026-10/first']),
    )
    const row = await store.db.selectFrom('jobDone').selectAll().where('job', '=', 'demo').execute()
    expect(row.map((r) => r.doneBy)).toEqual(['hub-a'])
  })
})
