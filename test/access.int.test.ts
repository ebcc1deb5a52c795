import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type AccessReceiver, startAccessReceiver } from '../drivers/access/access-receiver.ts'
import type { DeviceEvent } from '../drivers/driver-types.ts'
import { type AccessControllerSim, createAccessControllerSim } from '../drivers/sim/access-controller-sim.ts'

// The access receiver over real HTTP on loopback, driven by the simulated controller.

const controllers = [
  { id: 'ctl-east', token: 'east-token-0123456789abcdef', device: 'access-east' },
  { id: 'ctl-west', token: 'west-token-0123456789abcdef', device: 'access-west' },
]

describe('access receiver over HTTP', () => {
  let receiver: AccessReceiver
  let url: string
  let east: AccessControllerSim
  const events: DeviceEvent[] = []
  const waiters: Array<(e: DeviceEvent) => void> = []
  let failNext = false

  // The bound only catches a hang: how fast an event arrives is printed and measured by
  // test/bench/access-bench.ts, not asserted on a machine that may be busy.
  const nextEvent = (timeoutMs = 20_000) =>
    new Promise<DeviceEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no event arrived')), timeoutMs)
      waiters.push((e) => {
        clearTimeout(timer)
        resolve(e)
      })
    })

  beforeAll(async () => {
    receiver = await startAccessReceiver({
      host: '127.0.0.1',
      port: 0,
      controllers,
      onEvent: async (e) => {
        if (failNext) {
          failNext = false
          throw new Error('outbox full')
        }
        events.push(e)
        waiters.shift()?.(e)
      },
    })
    url = `http://127.0.0.1:${receiver.port}`
    east = createAccessControllerSim({ url, controllerId: 'ctl-east', token: controllers[0]!.token })
  })
  afterAll(() => receiver?.close())
  beforeEach(() => {
    events.length = 0
  })

  it('delivers a forced door from the sim as a DeviceEvent stamped with the controller’s time', async () => {
    // Warm up first: the sim's first fetch loads the HTTP client and opens a connection, which
    // a controller on site did long ago; the time printed is for the event path itself.
    await east.granted('warm-up')
    events.length = 0
    const arrived = nextEvent().then((e) => ({ e, at: performance.now() }))
    const stampedFrom = Date.now()
    const t0 = performance.now()
    const status = await east.forced('north-gate')
    const { e: event, at } = await arrived
    const stampedBy = Date.now()
    console.log(`[timing] access receiver: controller POST → DeviceEvent ${(at - t0).toFixed(1)} ms`)
    expect(status).toBe(200)
    expect(event).toMatchObject({ source: 'access-east/north-gate', type: 'forced' })
    expect(event.payload).toEqual({ controllerId: 'ctl-east', eventId: expect.any(String) })
    // The sim stamps the event (ms, local offset) as it sends: the receiver keeps that instant.
    expect(event.ts).toBeGreaterThanOrEqual(stampedFrom)
    expect(event.ts).toBeLessThanOrEqual(stampedBy)
    expect(east.last?.body).toEqual({ received: 1, emitted: 1, duplicates: 0 })
  })

  it('carries credential, person and input in the payload', async () => {
    await east.granted('lobby', { kind: 'face', ref: 'f-778' }, 'Wang Fang')
    await east.alarmInput('pump-room', 'leak')
    expect(events.map((e) => [e.source, e.type, e.payload])).toEqual([
      [
        'access-east/lobby',
        'granted',
        {
          controllerId: 'ctl-east',
          eventId: expect.any(String),
          credential: { kind: 'face', ref: 'f-778' },
          person: 'Wang Fang',
        },
      ],
      [
        'access-east/pump-room',
        'alarm_input',
        { controllerId: 'ctl-east', eventId: expect.any(String), input: 'leak' },
      ],
    ])
  })

  it('answers 401 alike for a wrong, missing or malformed token', async () => {
    const bodies = []
    for (const token of ['wrong-token-0123456789abcdef', null, 'west-token-0123456789abcde']) {
      const res = await east.post(east.build({ type: 'forced' }), { token })
      expect(res.status).toBe(401)
      bodies.push(res.body)
    }
    const basic = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Basic ${controllers[0]!.token}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(basic.status).toBe(401)
    expect(basic.headers.get('www-authenticate')).toBe('Bearer')
    bodies.push(await basic.json())
    for (const b of bodies) {
      expect(b).toEqual({
        error: 'EH_ERR_UNAUTHENTICATED',
        message: 'missing or unknown bearer token',
        details: [{ field: 'headers.authorization', message: 'missing or unknown bearer token' }],
      })
    }
    expect(events).toEqual([])
  })

  it("answers 403 for another controller's id and emits nothing of the request", async () => {
    const status = await east.sendBatch([{ type: 'granted' }, { controllerId: 'ctl-west', type: 'forced' }])
    expect(status).toBe(403)
    expect(east.last?.body).toMatchObject({
      error: 'EH_ERR_FORBIDDEN',
      details: [{ field: 'body.events.1.controllerId', message: "is not the token's controller" }],
    })
    expect(events).toEqual([])
  })

  it('names each invalid field', async () => {
    const res = await east.post({
      controllerId: 'ctl-east',
      door: 'a/b',
      type: 'opened',
      credential: { kind: 'palm', ref: '' },
      person: 7,
      ts: '2025-03-01 08:00:00',
      colour: 'red',
    })
    expect(res.status).toBe(400)
    const body = res.body as { error: string; message: string; details: { field: string; message: string }[] }
    expect(body.error).toBe('EH_ERR_VALIDATION')
    expect(body.details.map((d) => d.field).sort()).toEqual(
      [
        'body.colour',
        'body.credential.kind',
        'body.credential.ref',
        'body.door',
        'body.eventId',
        'body.person',
        'body.ts',
        'body.type',
      ].sort(),
    )
    expect(body.details).toContainEqual({ field: 'body.eventId', message: 'is required' })
    expect(body.details).toContainEqual({ field: 'body.colour', message: 'unknown field' })
    expect(body.details).toContainEqual({
      field: 'body.type',
      message: 'must be one of granted, denied, forced, held_open, tamper, alarm_input',
    })
    expect(body.message).toBe(`${body.details[0]!.field}: ${body.details[0]!.message}`)
    expect(events).toEqual([])
  })

  it('names bad fields inside a batch by index, and refuses a batch as a whole', async () => {
    const status = await east.sendBatch([
      { type: 'forced' },
      { type: 'alarm_input' },
      { door: undefined, ts: '2025-02-30T08:00:00+08:00' },
    ])
    expect(status).toBe(400)
    const details = (east.last!.body as { details: unknown[] }).details
    expect(details).toEqual(
      expect.arrayContaining([
        { field: 'body.events.1.input', message: 'is required when type is alarm_input' },
        { field: 'body.events.2.door', message: 'is required' },
        { field: 'body.events.2.ts', message: 'is not a real date and time' },
      ]),
    )
    expect(details).toHaveLength(3)
    expect(events).toEqual([])
  })

  it('takes a batch of events in order', async () => {
    const status = await east.sendBatch([
      { type: 'granted', door: 'd1' },
      { type: 'held_open', door: 'd2' },
      { type: 'tamper', door: 'd3' },
    ])
    expect(status).toBe(200)
    expect(east.last?.body).toEqual({ received: 3, emitted: 3, duplicates: 0 })
    expect(events.map((e) => `${e.source} ${e.type}`)).toEqual([
      'access-east/d1 granted',
      'access-east/d2 held_open',
      'access-east/d3 tamper',
    ])
    expect(await east.denied('d4', 5)).toBe(200)
    expect(events.filter((e) => e.type === 'denied')).toHaveLength(5)
  })

  it('refuses an empty batch and one over 500 events', async () => {
    expect(await east.sendBatch([])).toBe(400)
    expect(await east.sendBatch(Array.from({ length: 501 }, () => ({ type: 'granted' })))).toBe(400)
    expect(east.last?.body).toMatchObject({ details: [{ field: 'body.events' }] })
    expect(events).toEqual([])
  })

  it('accepts but does not re-emit a duplicate eventId', async () => {
    const event = east.build({ type: 'forced', door: 'dock' })
    expect((await east.post(event)).status).toBe(200)
    const retry = await east.post(event)
    expect(retry).toEqual({ status: 200, body: { received: 1, emitted: 0, duplicates: 1 } })
    // Twice in one batch counts once too; another controller may reuse the same id.
    const twice = await east.post({
      events: [
        { ...event, eventId: 'x-1' },
        { ...event, eventId: 'x-1' },
      ],
    })
    expect(twice.body).toEqual({ received: 2, emitted: 1, duplicates: 1 })
    const west = createAccessControllerSim({ url, controllerId: 'ctl-west', token: controllers[1]!.token })
    expect(await west.send({ eventId: 'x-1', type: 'forced' })).toBe(200)
    expect(events.map((e) => e.source)).toEqual([
      'access-east/dock',
      'access-east/dock',
      'access-west/door-1',
    ])
  })

  it('re-emits an event whose delivery failed when the controller retries', async () => {
    const event = east.build({ type: 'tamper' })
    failNext = true
    const first = await east.post(event)
    expect(first.status).toBe(500)
    expect(first.body).toMatchObject({ error: 'EH_ERR_INTERNAL' })
    expect((await east.post(event)).body).toEqual({ received: 1, emitted: 1, duplicates: 0 })
    expect(events).toHaveLength(1)
  })

  it('refuses a timestamp more than 24 h ahead, takes one an hour ahead or a week old', async () => {
    const iso = (ms: number) => new Date(ms).toISOString()
    expect(await east.send({ type: 'forced', ts: iso(Date.now() + 25 * 3600_000) })).toBe(400)
    expect(east.last?.body).toMatchObject({
      details: [{ field: 'body.ts', message: "is more than 24 h ahead of the gateway's clock" }],
    })
    expect(await east.send({ type: 'forced', ts: iso(Date.now() + 3600_000) })).toBe(200)
    expect(await east.send({ type: 'forced', ts: '2025-01-01T08:00:00.5+08:00' })).toBe(200)
    expect(events.at(-1)?.ts).toBe(Date.UTC(2025, 0, 1, 0, 0, 0, 500))
    // No offset: ambiguous, refused.
    expect(await east.send({ type: 'forced', ts: '2025-01-01T08:00:00' })).toBe(400)
  })

  it('refuses a body over 1 MB, a body that is not JSON and bad JSON', async () => {
    const token = `Bearer ${controllers[0]!.token}`
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': type },
        body,
      })
    const big = await post(JSON.stringify({ events: [{ person: 'x'.repeat(1_100_000) }] }))
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ error: 'EH_ERR_PAYLOAD_TOO_LARGE' })
    const text = await post('forced', 'text/plain')
    expect(text.status).toBe(415)
    const bad = await post('{"type": ')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: 'EH_ERR_VALIDATION', details: [{ field: 'request' }] })
  })

  it('answers /healthz without a token and 404 elsewhere', async () => {
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const missing = await fetch(`${url}/v2/events`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: 'EH_ERR_NOT_FOUND' })
  })

  it('refuses to start with a short or shared token', async () => {
    const onEvent = () => {}
    await expect(
      startAccessReceiver({
        host: '127.0.0.1',
        port: 0,
        onEvent,
        controllers: [{ id: 'a', token: 'short', device: 'd' }],
      }),
    ).rejects.toThrow(/controllers\.0\.token: must be at least 16 characters/)
    await expect(
      startAccessReceiver({
        host: '127.0.0.1',
        port: 0,
        onEvent,
        controllers: [controllers[0]!, { ...controllers[1]!, token: controllers[0]!.token }],
      }),
    ).rejects.toThrow(/controllers\.1\.token: the same as controllers\.0\.token/)
  })
})
