import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type InfluxConfig, InfluxWriter, type SeriesReading } from '../hub/timeseries/influx-writer.ts'
import {
  freePort,
  startVictoriaMetrics,
  type VictoriaMetrics,
  victoriaMetricsBinary,
} from './support/victoria-metrics.ts'

const vmBin = victoriaMetricsBinary()
const TOKEN = 's3cret-influx-token'

const waitUntil = async (what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function config(url: string, overrides: Partial<InfluxConfig> = {}): InfluxConfig {
  return {
    url,
    token: TOKEN,
    org: 'estatehub',
    bucket: 'estatehub',
    flushIntervalMs: 100,
    batchSize: 5000,
    maxQueue: 500_000,
    timeoutMs: 5_000,
    ...overrides,
  }
}

interface LogLine {
  level: string
  msg: string
  fields?: object
}
function logSink() {
  const lines: LogLine[] = []
  return {
    lines,
    log: (level: 'warn' | 'error' | 'info', msg: string, fields?: object) =>
      lines.push({ level, msg, ...(fields ? { fields } : {}) }),
  }
}

// Writers and servers a test made, closed even when it fails.
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
function track(writer: InfluxWriter): InfluxWriter {
  cleanups.push(() => writer.close())
  return writer
}
async function startVm(port?: number): Promise<VictoriaMetrics> {
  const vm = await startVictoriaMetrics(vmBin!, port)
  cleanups.push(() => vm.stop())
  return vm
}

function reading(
  overrides: Partial<SeriesReading> & Pick<SeriesReading, 'point' | 'at' | 'value'>,
): SeriesReading {
  return { estate: 'E1', device: 'D1', quality: 'good', ...overrides }
}

describe.skipIf(!vmBin)('InfluxWriter against VictoriaMetrics', () => {
  it('copies readings with their estate tags; decimals as floats, booleans as state, text as text', async () => {
    const vm = await startVm()
    const registry = new Registry()
    const writer = track(new InfluxWriter(config(vm.url), { registry, log: logSink().log }))
    const at = Date.now() - 60_000
    writer.enqueue([
      reading({
        estate: 'HJ',
        building: 'B1',
        unit: 'U 1.01',
        meter: 'M-1',
        device: 'D1',
        point: 'energy',
        at,
        value: '1234.56',
      }),
      reading({ estate: 'HJ', device: 'door-1', point: 'open', at: at + 1, value: true }),
      reading({ estate: 'HJ', point: 'big', at: at + 2, value: '123456789012.345', quality: 'uncertain' }),
      reading({ estate: 'HJ', point: 'temp', at: at + 3, value: 21.5 }),
      reading({ estate: 'HJ', point: 'mode', at: at + 4, value: 'running' }),
      reading({ estate: 'HJ', point: 'dead', at: at + 5, value: null, quality: 'bad' }),
    ])
    // No flush(): the writer's own timer sends it.
    await waitUntil('5 readings written', () => writer.stats.written === 5)

    const series = await vm.exportSeries('{__name__=~"reading_.*",estate="HJ"}')
    const byPoint = new Map(series.map((s) => [s.metric.point, s]))
    expect([...byPoint.keys()].sort()).toEqual(['big', 'energy', 'mode', 'open', 'temp'])
    expect(byPoint.get('energy')).toEqual({
      metric: {
        __name__: 'reading_value',
        estate: 'HJ',
        building: 'B1',
        unit: 'U 1.01',
        meter: 'M-1',
        device: 'D1',
        point: 'energy',
        quality: 'good',
      },
      values: [1234.56],
      timestamps: [at],
    })
    expect(byPoint.get('open')).toEqual({
      metric: { __name__: 'reading_state', estate: 'HJ', device: 'door-1', point: 'open', quality: 'good' },
      values: [1],
      timestamps: [at + 1],
    })
    expect(byPoint.get('big')?.metric.quality).toBe('uncertain')
    expect(byPoint.get('big')?.values).toEqual([123456789012.345])
    expect(byPoint.get('temp')?.values).toEqual([21.5])
    // VictoriaMetrics keeps no strings: a text field arrives as a series of its own with value 0.
    expect(byPoint.get('mode')?.metric.__name__).toBe('reading_text')

    expect(writer.stats).toEqual({ queued: 0, written: 5, dropped: 0, failures: 0, lagMs: 0 })
    const metrics = await registry.metrics()
    expect(metrics).toMatch(/^estatehub_influx_written_total 5$/m)
    expect(metrics).toMatch(/^estatehub_influx_queued 0$/m)
    expect(metrics).toMatch(/^estatehub_influx_lag_seconds 0$/m)
    expect(metrics).toMatch(/^estatehub_influx_failures_total 0$/m)
  })

  it('writes a large backlog in batches (gzipped bodies)', async () => {
    const vm = await startVm()
    const writer = track(new InfluxWriter(config(vm.url, { batchSize: 700, flushIntervalMs: 60_000 })))
    const at = Date.now() - 120_000
    const readings = Array.from({ length: 2_000 }, (_, i) =>
      reading({ estate: 'BULK', point: 'p', at: at + i, value: i / 4 }),
    )
    writer.enqueue(readings)
    await writer.flush()
    expect(writer.stats.written).toBe(2_000)
    const [series, ...rest] = await vm.exportSeries('reading_value{estate="BULK"}')
    expect(rest).toEqual([])
    expect(series?.values).toEqual(readings.map((r) => r.value))
    expect(series?.timestamps).toEqual(readings.map((r) => r.at))
  })

  it('server down: enqueue returns at once, the queue stays bounded, and the newest readings arrive once it is up', async () => {
    const port = await freePort() // nothing listens here until we start VictoriaMetrics on it
    const registry = new Registry()
    const sink = logSink()
    let clock = 1_000_000 // the writer's clock, for lagMs
    const writer = track(
      new InfluxWriter(config(`http://127.0.0.1:${port}`, { batchSize: 4, maxQueue: 10, timeoutMs: 2_000 }), {
        registry,
        log: sink.log,
        now: () => clock,
      }),
    )
    const at = Date.now() - 30_000
    const readings = Array.from({ length: 25 }, (_, i) =>
      reading({ estate: 'DOWN', point: 'p', at: at + i, value: i }),
    )
    // At once: enqueue() gives nothing to wait on, and what it did shows in the stats before
    // any I/O could have run (the writer's network work is all asynchronous).
    const started = performance.now()
    for (const r of readings) {
      expect(writer.enqueue([r])).toBeUndefined()
      clock += 100
    }
    console.log(
      `[timing] influx writer: 25 enqueues with the server down ${(performance.now() - started).toFixed(2)} ms`,
    )
    // The oldest kept reading (#15) was enqueued at 1_001_500; the clock now reads 1_002_500.
    expect(writer.stats).toEqual({ queued: 10, dropped: 15, written: 0, failures: 0, lagMs: 1_000 })
    expect(await registry.metrics()).toMatch(/^estatehub_influx_lag_seconds 1$/m)

    await expect(writer.flush()).rejects.toThrow(/ECONNREFUSED/)
    expect(writer.stats.failures).toBeGreaterThanOrEqual(1)
    expect(writer.stats).toMatchObject({ queued: 10, dropped: 15, written: 0 })
    expect(writer.stats.lagMs).toBe(1_000)
    const failed = sink.lines.find((l) => l.msg.includes('write failed'))
    expect(failed?.level).toBe('warn')
    expect(JSON.stringify(failed?.fields)).toMatch(/ECONNREFUSED/)
    expect(await registry.metrics()).toMatch(/^estatehub_influx_dropped_total 15$/m)

    // No flush() from here on: the writer's own retry must deliver.
    const vm = await startVm(port)
    await waitUntil('the queued readings written after the server came up', () => writer.stats.written === 10)
    // Retries backed off (1 s, 2 s, …) instead of hammering every 100 ms flush interval.
    expect(writer.stats.failures).toBeLessThan(6)
    const [series, ...rest] = await vm.exportSeries('reading_value{estate="DOWN"}')
    expect(rest).toEqual([])
    // The oldest 15 were dropped; the newest 10 arrive, in order.
    expect(series?.values).toEqual(readings.slice(15).map((r) => r.value))
    expect(series?.timestamps).toEqual(readings.slice(15).map((r) => r.at))
    expect(writer.stats).toMatchObject({ queued: 0, written: 10, dropped: 15, lagMs: 0 })
    expect(sink.lines.some((l) => l.msg.includes('writes resumed'))).toBe(true)
    expect(JSON.stringify(sink.lines)).not.toContain(TOKEN)
  })
})

/** A TCP server that accepts and never answers: a hung InfluxDB. */
async function blackhole() {
  const sockets = new Set<Socket>()
  let open = 0
  const server = createTcpServer((socket) => {
    sockets.add(socket)
    open++
    socket.on('close', () => open--)
    socket.on('error', () => {})
    socket.resume() // read (and discard) the request, so the client's close is seen
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  cleanups.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    url: `http://127.0.0.1:${address.port}`,
    accepted: () => sockets.size,
    open: () => open,
  }
}

describe('InfluxWriter close and failures', () => {
  it('close() returns at once when nothing listens, dropping what it could not write', async () => {
    const sink = logSink()
    const writer = new InfluxWriter(
      // A write timeout longer than the test's: a close() that waited on it would fail the test
      // by timing out, without the test measuring how long close() took.
      config(`http://127.0.0.1:${await freePort()}`, { timeoutMs: 600_000, flushIntervalMs: 60_000 }),
      { log: sink.log },
    )
    writer.enqueue([reading({ point: 'p', at: Date.now(), value: 1 })])
    await writer.close()
    expect(writer.stats).toMatchObject({ queued: 0, written: 0, dropped: 1 })
    expect(sink.lines.some((l) => l.msg.includes('closed with readings not written'))).toBe(true)
  })

  it('a server that never answers: writes time out, close() does not wait on it, no socket is left open', async () => {
    const hung = await blackhole()
    const sink = logSink()
    const writer = new InfluxWriter(config(hung.url, { timeoutMs: 400, flushIntervalMs: 100 }), {
      log: sink.log,
    })
    cleanups.push(() => writer.close())
    writer.enqueue([reading({ point: 'p', at: Date.now(), value: 1 })])
    await waitUntil('a timed-out write', () => writer.stats.failures >= 1)
    expect(JSON.stringify(sink.lines)).toContain('timed out after 400 ms')
    // The timed-out request was aborted, not left hanging on its socket.
    await waitUntil('the timed-out socket closed', () => hung.open() === 0)

    writer.enqueue([reading({ point: 'p', at: Date.now(), value: 2 })])
    // The server never answers: a close() that waited on it would never return (the test's
    // timeout says so), rather than a measured duration on a machine that may be busy.
    await writer.close()
    expect(writer.stats).toMatchObject({ queued: 0, written: 0, dropped: 2 })
    await waitUntil('every socket closed', () => hung.open() === 0)
    // After close nothing is queued or sent any more.
    const accepted = hung.accepted()
    writer.enqueue([reading({ point: 'p', at: Date.now(), value: 3 })])
    await new Promise((r) => setTimeout(r, 300))
    expect(hung.accepted()).toBe(accepted)
    expect(writer.stats.dropped).toBe(3)
  })
})

describe('InfluxWriter on the wire', () => {
  interface Request {
    url: string
    headers: IncomingHttpHeaders
    body: string
  }
  /** An HTTP server that records each write and answers with the next status (204 when none left). */
  async function recorder(statuses: number[] = []) {
    const requests: Request[] = []
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const raw = Buffer.concat(chunks)
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
        requests.push({ url: req.url ?? '', headers: req.headers, body: body.toString('utf8') })
        const status = statuses.shift() ?? 204
        // A refusal that echoes the request's credentials, as a careless proxy might.
        res.writeHead(status, { 'content-type': 'text/plain' })
        res.end(status === 204 ? undefined : `bad request from ${req.headers.authorization}`)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no TCP address')
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    return { url: `http://127.0.0.1:${address.port}`, requests }
  }

  it('sends escaped line protocol with ms timestamps, the token, org and bucket', async () => {
    const server = await recorder()
    const writer = track(new InfluxWriter(config(server.url, { org: 'my org', bucket: 'b/1' })))
    writer.enqueue([
      reading({
        estate: 'E 1',
        building: 'B,1',
        device: 'D=1',
        point: 'p',
        at: 1_700_000_000_123,
        value: '1234.56',
      }),
      reading({ point: 's', at: 1_700_000_000_124, value: 'say "hi"', quality: 'uncertain' }),
      reading({ point: 'b', at: 1_700_000_000_125, value: false }),
      reading({ point: 'n', at: 1_700_000_000_126, value: '-0.5e3' }),
      reading({ point: 'x', at: 1_700_000_000_127, value: '12 kWh' }),
      reading({ point: 'nan', at: 1_700_000_000_128, value: Number.NaN }),
    ])
    await writer.flush()
    expect(server.requests).toHaveLength(1)
    const [request] = server.requests
    expect(request?.url).toBe('/api/v2/write?org=my%20org&bucket=b%2F1&precision=ms')
    expect(request?.headers.authorization).toBe(`Token ${TOKEN}`)
    expect(request?.body.split('\n')).toEqual([
      'reading,building=B\\,1,device=D\\=1,estate=E\\ 1,point=p,quality=good value=1234.56 1700000000123',
      'reading,device=D1,estate=E1,point=s,quality=uncertain text="say \\"hi\\"" 1700000000124',
      'reading,device=D1,estate=E1,point=b,quality=good state=F 1700000000125',
      'reading,device=D1,estate=E1,point=n,quality=good value=-500 1700000000126',
      'reading,device=D1,estate=E1,point=x,quality=good text="12 kWh" 1700000000127',
    ])
    expect(writer.stats).toMatchObject({ written: 5, dropped: 0 })
  })

  it('a batch the server refuses (400) is dropped, not retried forever; the token never reaches the log', async () => {
    const server = await recorder([400])
    const sink = logSink()
    const writer = track(new InfluxWriter(config(server.url, { batchSize: 2 }), { log: sink.log }))
    const at = Date.now()
    writer.enqueue([1, 2, 3, 4].map((v) => reading({ point: 'p', at: at + v, value: v })))
    await writer.flush()
    expect(server.requests.map((r) => r.body.split('\n').length)).toEqual([2, 2])
    expect(server.requests[1]?.body).toContain('value=3')
    expect(writer.stats).toMatchObject({ queued: 0, written: 2, dropped: 2, failures: 1 })
    const refused = sink.lines.find((l) => l.level === 'error')
    expect(refused?.msg).toContain('refused')
    expect(JSON.stringify(refused?.fields)).toContain('Token ***')
    expect(JSON.stringify(sink.lines)).not.toContain(TOKEN)
  })
})

describe.skipIf(!vmBin)('the hub’s ingest copying to VictoriaMetrics', () => {
  it('sends each committed reading with its estate, building, unit, meter, device and point', async () => {
    const { storeBackends } = await import('./support/store-backends.ts')
    const { seedSite, startTestIngest } = await import('./support/ingest-fixture.ts')
    const { influxCopy } = await import('../hub/timeseries/influx-copy.ts')
    const { SeriesTagDirectory } = await import('../hub/timeseries/series-tags.ts')
    const mqtt = (await import('mqtt')).default
    const { batchTopic } = await import('../gateway/contract/index.ts')
    const vm = await startVm()
    const store = await storeBackends()[0]!.open()
    cleanups.push(() => store.close())
    const site = await seedSite(store.db, {
      code: 'IFX',
      points: [{ device: 'm1', point: 'energy', kind: 'counter' }],
    })
    const unit = await store.db
      .insertInto('units')
      .values({
        estateId: site.estateId,
        buildingId: site.buildingId,
        code: '1-101',
        floor: 1,
        areaM2: '90',
        use: 'residence',
        status: 'occupied',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await store.db
      .updateTable('devices')
      .set({ unitId: unit.id })
      .where('id', '=', site.deviceIds.get('m1')!)
      .execute()
    await store.db
      .insertInto('meters')
      .values({
        estateId: site.estateId,
        code: 'E-1-101',
        kind: 'electricity',
        unitId: unit.id,
        pointId: site.pointIds.get('m1/energy')!,
      })
      .execute()
    const writer = track(new InfluxWriter(config(vm.url)))
    const ingest = await startTestIngest(store.db, undefined, {
      onCommitted: influxCopy(new SeriesTagDirectory(store.db), writer, () => {}),
    })
    cleanups.push(() => ingest.close())
    const gateway = await mqtt.connectAsync(ingest.url, {
      clientId: site.gatewayCode,
      username: site.gatewayCode,
      password: site.secret,
      reconnectPeriod: 0,
    })
    cleanups.push(() => gateway.endAsync())
    const t = Date.now() - 30_000
    const seq = Date.now()
    await gateway.publishAsync(
      batchTopic(site.gatewayCode),
      JSON.stringify({
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq,
        oldest: seq,
        sentAt: seq,
        historical: false,
        readings: [{ p: 'm1/energy', t, v: 1234.56, q: 'good' }],
        events: [],
      }),
      { qos: 1 },
    )
    let series: Awaited<ReturnType<typeof vm.exportSeries>> = []
    await waitUntil('the copy in VictoriaMetrics', async () => {
      await writer.flush().catch(() => {})
      series = await vm.exportSeries('{__name__="reading_value"}')
      return series.length > 0
    })
    const estateCode = (
      await store.db
        .selectFrom('orgNodes')
        .select('code')
        .where('id', '=', site.estateId)
        .executeTakeFirstOrThrow()
    ).code
    expect(series[0]!.metric).toMatchObject({
      estate: estateCode,
      building: 'B1',
      unit: '1-101',
      meter: 'E-1-101',
      device: 'm1',
      point: 'energy',
      quality: 'good',
    })
    expect(series[0]!.values).toEqual([1234.56])
    expect(series[0]!.timestamps).toEqual([t])
  })
})
