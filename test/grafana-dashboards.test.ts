// Keeps dashboards/grafana honest: every dashboard parses, uses only the provisioned datasources,
// and queries only what the hub really produces. The InfluxDB side is checked against the line
// protocol the hub's own InfluxWriter sends (to a local HTTP server, no InfluxDB needed); the
// Prometheus side against the metric definitions in the hub's and the gateway's source.
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { InfluxWriter, type SeriesReading } from '../hub/timeseries/influx-writer.ts'
import type { SeriesTags } from '../hub/timeseries/series-tags.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const GRAFANA = join(ROOT, 'dashboards', 'grafana')
const DASHBOARDS = join(GRAFANA, 'dashboards')

// ---- what is provisioned ----

interface Datasource {
  name: string
  uid: string
  type: string
  url?: string
  jsonData?: Record<string, unknown>
  secureJsonData?: Record<string, unknown>
}
const datasourceFile = parseYaml(
  readFileSync(join(GRAFANA, 'provisioning', 'datasources', 'estatehub.yaml'), 'utf8'),
) as { apiVersion: number; datasources: Datasource[] }
const datasources = new Map(datasourceFile.datasources.map((d) => [d.uid, d]))
const providerFile = parseYaml(
  readFileSync(join(GRAFANA, 'provisioning', 'dashboards', 'estatehub.yaml'), 'utf8'),
) as { apiVersion: number; providers: { type: string; options: { path: string } }[] }
const scrapeConfig = parseYaml(readFileSync(join(GRAFANA, 'prometheus.yml'), 'utf8')) as {
  scrape_configs: {
    job_name: string
    static_configs: { targets: string[]; labels?: Record<string, string> }[]
  }[]
}

// ---- the dashboards ----

interface Target {
  refId: string
  datasource?: { type: string; uid: string }
  query?: string | { query: string }
  expr?: string
}
interface Panel {
  id: number
  type: string
  title: string
  description?: string
  datasource?: { type: string; uid: string }
  gridPos?: { h: number; w: number; x: number; y: number }
  targets?: Target[]
  fieldConfig?: unknown
  panels?: Panel[]
}
interface Variable {
  name: string
  type: string
  datasource?: { type: string; uid: string }
  query?: string | { query: string }
}
interface Dashboard {
  uid: string
  title: string
  description?: string
  schemaVersion: number
  time: { from: string; to: string }
  templating: { list: Variable[] }
  panels: Panel[]
}

const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))
const dashboards = files.map((file) => ({
  file,
  text: readFileSync(join(DASHBOARDS, file), 'utf8'),
}))
const parsed = dashboards.map(({ file, text }) => ({ file, d: JSON.parse(text) as Dashboard }))

/** Every panel, the ones inside collapsed rows too; rows themselves left out. */
function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]))
}
const queryText = (q: Target['query'] | Variable['query']): string =>
  typeof q === 'string' ? q : (q?.query ?? '')

interface Query {
  where: string
  type: string
  text: string
  panel?: Panel
}
/** Every query of a dashboard with the type of the datasource that runs it. */
function queriesOf(d: Dashboard): Query[] {
  const out: Query[] = []
  for (const p of panelsOf(d)) {
    for (const t of p.targets ?? []) {
      const ds = t.datasource ?? p.datasource
      const type = ds ? (datasources.get(ds.uid)?.type ?? `unknown:${ds.uid}`) : 'none'
      out.push({
        where: `${d.uid} / ${p.title} / ${t.refId}`,
        type,
        text: t.expr ?? queryText(t.query),
        panel: p,
      })
    }
  }
  for (const v of d.templating.list) {
    if (v.type !== 'query' || !v.datasource) continue
    const type = datasources.get(v.datasource.uid)?.type ?? `unknown:${v.datasource.uid}`
    out.push({ where: `${d.uid} / variable ${v.name}`, type, text: queryText(v.query) })
  }
  return out
}
const allQueries = parsed.flatMap(({ d }) => queriesOf(d))

// ---- what the hub writes to InfluxDB: ask its writer ----

interface InfluxSchema {
  measurements: Set<string>
  tags: Set<string>
  fields: Set<string>
}

/** Every optional tag set: a new tag in SeriesTags makes this fail to compile until added here. */
const everyTag: Required<SeriesTags> = {
  estate: 'E1',
  building: 'B1',
  unit: 'U101',
  meter: 'M1',
  device: 'D1',
  point: 'P1',
}
/** The quality values a reading can have: tsc insists on exactly the writer's set. */
const QUALITIES = Object.keys({ good: true, uncertain: true, bad: true } satisfies Record<
  SeriesReading['quality'],
  true
>)

/** Runs the hub's InfluxWriter against a local HTTP server and returns the lines it sent. */
async function linesTheWriterSends(readings: SeriesReading[]): Promise<string[]> {
  const bodies: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      bodies.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'))
      res.statusCode = 204
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const writer = new InfluxWriter(
    {
      url: `http://127.0.0.1:${port}`,
      org: 'estatehub',
      bucket: 'estatehub',
      flushIntervalMs: 60_000,
      batchSize: 1_000,
      maxQueue: 1_000,
      timeoutMs: 5_000,
    },
    { log: () => {} },
  )
  try {
    writer.enqueue(readings)
    await writer.flush()
  } finally {
    await writer.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return bodies.flatMap((b) => b.split('\n')).filter((l) => l.length > 0)
}

/** Measurement, tag keys and field keys of line-protocol lines (codes here have no escapes). */
function schemaOf(lines: string[]): InfluxSchema {
  const schema: InfluxSchema = { measurements: new Set(), tags: new Set(), fields: new Set() }
  for (const line of lines) {
    const [series, fieldSet] = line.split(' ')
    const [measurement, ...tags] = series!.split(',')
    schema.measurements.add(measurement!)
    for (const t of tags) schema.tags.add(t.split('=')[0]!)
    for (const f of fieldSet!.split(',')) schema.fields.add(f.split('=')[0]!)
  }
  return schema
}

// ---- what the Flux queries reference ----

/** Columns every Flux table has. */
const FLUX_COLUMNS = new Set(['_time', '_value', '_field', '_measurement', '_start', '_stop'])

const all = (text: string, re: RegExp, group = 1) => [...text.matchAll(re)].map((m) => m[group]!)

function fluxRefs(q: string) {
  const strings = (list: string) => all(list, /"([^"]*)"/g)
  const derived = new Set(all(q, /\br with\s+(\w+)\s*:/g))
  const columns = [
    ...all(q, /\br\.([A-Za-z_]\w*)/g),
    ...all(q, /\br\["([^"]+)"\]/g),
    ...all(q, /\b(?:columns|rowKey|columnKey)\s*:\s*\[([^\]]*)\]/g).flatMap(strings),
    ...all(q, /\b(?:tag|valueColumn|column|timeSrc|timeDst)\s*:\s*"([^"]+)"/g),
  ]
  return {
    measurements: [
      ...all(q, /\b_measurement\s*(?:==|!=)\s*"([^"]*)"/g),
      ...all(q, /\bmeasurement\s*:\s*"([^"]*)"/g),
    ],
    fields: all(q, /\b_field\s*(?:==|!=)\s*"([^"]*)"/g),
    qualities: all(q, /\br\.quality\s*(?:==|!=)\s*"([^"]*)"/g),
    columns: columns.filter((c) => !derived.has(c)),
  }
}

/** What a Flux query references that the writer does not produce. */
function unknownInFlux(q: string, schema: InfluxSchema): string[] {
  const refs = fluxRefs(q)
  return [
    ...refs.measurements.filter((m) => !schema.measurements.has(m)).map((m) => `measurement ${m}`),
    ...refs.fields.filter((f) => !schema.fields.has(f)).map((f) => `field ${f}`),
    ...refs.columns.filter((c) => !FLUX_COLUMNS.has(c) && !schema.tags.has(c)).map((c) => `tag ${c}`),
    ...refs.qualities.filter((v) => !QUALITIES.includes(v)).map((v) => `quality ${v}`),
  ]
}

// ---- what the hub and the gateway export to Prometheus: read their source ----

interface MetricDef {
  name: string
  type: string
  labels: string[]
  file: string
}
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
}
const sources = ['hub', 'gateway'].flatMap((dir) => sourceFiles(join(ROOT, dir)))
const sourceText = sources.map((f) => readFileSync(f, 'utf8')).join('\n')
const metricDefs = new Map<string, MetricDef>()
for (const file of sources) {
  const text = readFileSync(file, 'utf8')
  for (const m of text.matchAll(
    /new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*'([^']+)'([\s\S]*?)\}\)/g,
  )) {
    const labels = /labelNames:\s*\[([^\]]*)\]/.exec(m[3]!)?.[1]
    metricDefs.set(m[2]!, {
      name: m[2]!,
      type: m[1]!,
      labels: labels ? all(labels, /'([^']+)'/g) : [],
      file: file.slice(ROOT.length),
    })
  }
}
const HISTOGRAM_SERIES = /^(.+)_(bucket|sum|count)$/
/** The metric a series name belongs to: itself, or the histogram/summary it is part of. */
function metricOf(series: string): MetricDef | undefined {
  const direct = metricDefs.get(series)
  if (direct) return direct
  const base = HISTOGRAM_SERIES.exec(series)?.[1]
  const def = base === undefined ? undefined : metricDefs.get(base)
  return def && (def.type === 'Histogram' || def.type === 'Summary') ? def : undefined
}
/** Labels Prometheus adds to every series of a target: job, instance and prometheus.yml's labels. */
const targetLabels = new Set([
  'job',
  'instance',
  ...scrapeConfig.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => Object.keys(s.labels ?? {}))),
])

function unknownInPromQL(expr: string): string[] {
  const problems: string[] = []
  const names = [...new Set(all(expr, /\b(estatehub_[a-z0-9_]+)\b/g))]
  if (names.length === 0) problems.push('no estatehub_ metric')
  const defs = names.map((n) => [n, metricOf(n)] as const)
  for (const [n, def] of defs) if (!def) problems.push(`metric ${n} is defined nowhere in hub/ or gateway/`)
  const known = new Set(['__name__', ...targetLabels])
  for (const [n, def] of defs) {
    for (const l of def?.labels ?? []) known.add(l)
    if (def && n !== def.name) known.add(def.type === 'Histogram' ? 'le' : 'quantile')
  }
  const matchers = [...expr.matchAll(/\b([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)]
  const grouping = all(expr, /\b(?:by|without)\s*\(([^)]*)\)/g).flatMap((l) =>
    l
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  for (const l of [...matchers.map((m) => m[1]!), ...grouping])
    if (!known.has(l)) problems.push(`label ${l} is on none of ${names.join(', ')}`)
  // An exact value of a label the code sets must be a literal somewhere in the code.
  for (const [, label, op, value] of matchers)
    if (op === '=' && !targetLabels.has(label!) && label !== '__name__' && !sourceText.includes(`'${value}'`))
      problems.push(`value ${label}="${value}" appears nowhere in hub/ or gateway/`)
  return problems
}

// ---- the tests ----

let schema: InfluxSchema

beforeAll(async () => {
  const at = Date.UTC(2025, 0, 1)
  const lines = await linesTheWriterSends([
    ...QUALITIES.map((quality, i) => ({ ...everyTag, at: at + i, value: 1.5, quality }) as SeriesReading),
    { ...everyTag, at: at + 10, value: '123456789012.345', quality: 'good' },
    { ...everyTag, at: at + 11, value: true, quality: 'good' },
    { ...everyTag, at: at + 12, value: 'open', quality: 'good' },
    { estate: 'E1', device: 'D1', point: 'P2', at: at + 13, value: 2, quality: 'good' },
  ])
  schema = schemaOf(lines)
})

describe('Grafana provisioning', () => {
  it('defines an InfluxDB (Flux) and a Prometheus datasource with stable uids', () => {
    expect(datasourceFile.apiVersion).toBe(1)
    expect(datasources.get('estatehub-influxdb')?.type).toBe('influxdb')
    expect(datasources.get('estatehub-influxdb')?.jsonData?.version).toBe('Flux')
    expect(datasources.get('estatehub-prometheus')?.type).toBe('prometheus')
  })

  it('commits no secrets or addresses: URLs, org, bucket and token come from the environment', () => {
    const placeholder = /^\$\{?[A-Z][A-Z0-9_]*\}?$/
    for (const ds of datasourceFile.datasources) {
      expect(ds.url, ds.name).toMatch(placeholder)
      for (const [key, value] of Object.entries(ds.secureJsonData ?? {}))
        expect(value, `${ds.name} ${key}`).toMatch(placeholder)
    }
    const influx = datasources.get('estatehub-influxdb')!
    expect(influx.jsonData?.organization).toMatch(placeholder)
    expect(influx.jsonData?.defaultBucket).toMatch(placeholder)
  })

  it('loads the dashboards from one folder with a file provider', () => {
    expect(providerFile.providers).toHaveLength(1)
    expect(providerFile.providers[0]!.type).toBe('file')
    expect(providerFile.providers[0]!.options.path).toMatch(/^\/\S+$/)
  })

  it('scrapes the hub and the gateways in the Prometheus example', () => {
    expect(scrapeConfig.scrape_configs.map((j) => j.job_name).sort()).toEqual([
      'estatehub-gateway',
      'estatehub-hub',
    ])
  })
})

describe('Grafana dashboards', () => {
  it('has the three dashboards, each valid JSON with a unique uid and a Chinese title', () => {
    expect(files.sort()).toEqual(['energy-by-building.json', 'gateway-ingest.json', 'meter-health.json'])
    const uids = parsed.map(({ d }) => d.uid)
    expect(new Set(uids).size).toBe(uids.length)
    for (const { file, d } of parsed) {
      expect(d.uid, file).toMatch(/^estatehub-[a-z0-9-]+$/)
      expect(d.uid.length, file).toBeLessThanOrEqual(40)
      expect(d.title, file).toMatch(/[\u4e00-\u9fff]/)
      expect(d.description, file).toBeTruthy()
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(39)
      expect(d.time.from, file).toMatch(/^now-/)
      expect(d.templating.list.length, file).toBeGreaterThan(0)
    }
  })

  it('gives every panel an id, a place, a description and a provisioned datasource', () => {
    for (const { d } of parsed) {
      const ids = d.panels.flatMap((p) => [p.id, ...(p.panels ?? []).map((c) => c.id)])
      expect(new Set(ids).size, d.uid).toBe(ids.length)
      for (const p of panelsOf(d)) {
        const where = `${d.uid} / ${p.title}`
        expect(p.gridPos, where).toBeDefined()
        expect(p.description, where).toBeTruthy()
        expect(p.datasource, where).toBeDefined()
        const ds = datasources.get(p.datasource!.uid)
        expect(ds, `${where}: datasource ${p.datasource!.uid} is not provisioned`).toBeDefined()
        expect(p.datasource!.type, where).toBe(ds!.type)
        expect(p.targets?.length, where).toBeGreaterThan(0)
        for (const t of p.targets ?? []) {
          const tds = t.datasource ?? p.datasource!
          expect(datasources.get(tds.uid)?.type, `${where} / ${t.refId}`).toBe(tds.type)
        }
      }
      for (const v of d.templating.list)
        if (v.type === 'query')
          expect(datasources.has(v.datasource?.uid ?? ''), `${d.uid} / ${v.name}`).toBe(true)
    }
  })

  it('uses only template variables that the dashboard defines', () => {
    const builtins = new Set(['__rate_interval', '__interval', '__range', '__field', '__all'])
    for (const { d, file } of parsed) {
      const defined = new Set(d.templating.list.map((v) => v.name))
      const text = JSON.stringify({ panels: d.panels, templating: d.templating })
      const used = new Set([...all(text, /\$\{(\w+)/g), ...all(text, /\$(\w+)/g)])
      for (const name of used) expect(defined.has(name) || builtins.has(name), `${file}: $${name}`).toBe(true)
    }
  })

  it('queries InfluxDB in Flux for only the measurement, tags, fields and qualities the hub writes', () => {
    // The writer as it is: this is what the dashboards may rely on.
    expect(schema.measurements.size).toBeGreaterThan(0)
    expect(schema.tags).toContain('estate')
    const influx = allQueries.filter((q) => q.type === 'influxdb')
    expect(influx.length).toBeGreaterThan(10)
    for (const q of influx) {
      expect(q.text, q.where).toMatch(/\bv\.defaultBucket\b/)
      expect(fluxRefs(q.text).measurements.length, `${q.where}: filters no measurement`).toBeGreaterThan(0)
      expect(unknownInFlux(q.text, schema), q.where).toEqual([])
    }
    // Series names built from labels (Flux group-key columns) must be tags too.
    for (const { d } of parsed)
      for (const p of panelsOf(d).filter((p) => p.datasource?.type === 'influxdb'))
        for (const label of all(JSON.stringify(p.fieldConfig ?? {}), /__field\.labels\.(\w+)/g))
          expect(schema.tags.has(label), `${d.uid} / ${p.title}: label ${label}`).toBe(true)
  })

  it('catches a Flux query that relies on something the hub does not write', () => {
    const q = [
      'from(bucket: v.defaultBucket)',
      '  |> filter(fn: (r) => r._measurement == "meter_reading" and r._field == "kwh" and r.quality == "ok")',
      '  |> filter(fn: (r) => r.floor == "3" and r.building == "1")',
      '  |> group(columns: ["zone", "meter"])',
      '  |> map(fn: (r) => ({r with age: 1.0}))',
      '  |> keep(columns: ["_time", "age"])',
    ].join('\n')
    expect(unknownInFlux(q, schema)).toEqual([
      'measurement meter_reading',
      'field kwh',
      'tag floor',
      'tag zone',
      'quality ok',
    ])
  })

  it('queries Prometheus for only metrics and labels that the hub or a gateway exports', () => {
    expect(metricDefs.size).toBeGreaterThan(10)
    const prom = allQueries.filter((q) => q.type === 'prometheus')
    expect(prom.length).toBeGreaterThan(10)
    for (const q of prom) expect(unknownInPromQL(q.text), q.where).toEqual([])
    // What the brief asks the gateway dashboard to show, by the metrics that carry it.
    const used = prom.map((q) => q.text).join('\n')
    for (const metric of [
      'estatehub_gateway_outbox_batches',
      'estatehub_gateway_last_ack_timestamp_seconds',
      'estatehub_ingest_lag_seconds',
      'estatehub_ingest_batches_total',
      'estatehub_ingest_dead_letters_total',
    ])
      expect(used, metric).toContain(metric)
  })

  it('catches a PromQL query on a metric, label or value that does not exist', () => {
    expect(unknownInPromQL('sum by (result) (rate(estatehub_ingest_batches_total[5m]))')).toEqual([])
    expect(
      unknownInPromQL(
        'histogram_quantile(0.9, sum by (le) (rate(estatehub_ingest_commit_seconds_bucket[5m])))',
      ),
    ).toEqual([])
    expect(unknownInPromQL('estatehub_gateway_outbox_oldest_age_seconds')).toEqual([
      'metric estatehub_gateway_outbox_oldest_age_seconds is defined nowhere in hub/ or gateway/',
    ])
    expect(unknownInPromQL('sum by (device) (estatehub_ingest_lag_seconds{result="committed"})')).toEqual([
      'label result is on none of estatehub_ingest_lag_seconds',
      'label device is on none of estatehub_ingest_lag_seconds',
    ])
    expect(unknownInPromQL('estatehub_ingest_batches_total{result="committed_ok"}')).toEqual([
      'value result="committed_ok" appears nowhere in hub/ or gateway/',
    ])
  })
})
