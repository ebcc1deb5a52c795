import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { area, importsOf, type SourceImport, sourceFiles } from './support/import-graph.ts'

// The import rules of docs/architecture.md ("What may import what"), checked on every file.
const root = resolve(import.meta.dirname, '..')
const isTest = (f: string) => /\.test\.ts$/.test(f) || f.startsWith('test/')
const files = sourceFiles(root)
const imports = files.filter((f) => !isTest(f)).flatMap((f) => importsOf(root, f))
// A file that imports nothing (a plain vocabulary list) can sit under anything without making a
// cycle: edges into such leaves are left out of the layering rules below.
const leaves = new Set(files.filter((f) => importsOf(root, f).length === 0))
const layered = imports.filter((i) => !leaves.has(i.to))
const show = (i: SourceImport) => `${i.from}:${i.line} imports ${i.to}`
const top = (p: string) => p.split('/')[0]!

/** Hub folders that run a gateway and its simulators, so may reach into gateway and drivers. */
const runsAGateway = (f: string) => f.startsWith('hub/cli/') || f.startsWith('hub/demo/')
/** Hub folders that are not domains: the kernel, the store, and what composes the domains. */
const infrastructure = new Set(['hub/kernel', 'hub/store'])
const composition = new Set(['hub/app', 'hub/cli', 'hub/demo', 'hub/config'])

describe('import rules (docs/architecture.md)', () => {
  it('sees the source tree', () => {
    expect(files.length).toBeGreaterThan(300)
    expect(imports.length).toBeGreaterThan(1000)
  })

  it('drivers import nothing of ours outside drivers/', () => {
    expect(imports.filter((i) => i.from.startsWith('drivers/') && top(i.to) !== 'drivers').map(show)).toEqual(
      [],
    )
  })

  it('the gateway imports only the gateway and the drivers, never the hub', () => {
    const bad = imports.filter(
      (i) => i.from.startsWith('gateway/') && !['gateway', 'drivers'].includes(top(i.to)),
    )
    expect(bad.map(show)).toEqual([])
  })

  it('the hub reaches the gateway only through gateway/contract/index.ts, and the drivers not at all', () => {
    const bad = imports.filter(
      (i) =>
        i.from.startsWith('hub/') &&
        !runsAGateway(i.from) &&
        ((top(i.to) === 'gateway' && i.to !== 'gateway/contract/index.ts') || top(i.to) === 'drivers'),
    )
    expect(bad.map(show)).toEqual([])
  })

  it('the kernel and the store import no domain', () => {
    const bad = layered.filter(
      (i) => infrastructure.has(area(i.from)) && i.to.startsWith('hub/') && !infrastructure.has(area(i.to)),
    )
    expect(bad.map(show)).toEqual([])
  })

  it('no domain imports the app, the CLI or the demo', () => {
    const bad = imports.filter(
      (i) =>
        i.from.startsWith('hub/') &&
        !composition.has(area(i.from)) &&
        ['hub/app', 'hub/cli', 'hub/demo'].includes(area(i.to)),
    )
    expect(bad.map(show)).toEqual([])
  })

  it('no two hub folders import each other', () => {
    const edges = new Set(
      layered.filter((i) => area(i.from) !== area(i.to)).map((i) => `${area(i.from)} ${area(i.to)}`),
    )
    const pairs = [...edges]
      .map((e) => e.split(' ') as [string, string])
      .filter(([a, b]) => a.startsWith('hub/') && b.startsWith('hub/') && a < b && edges.has(`${b} ${a}`))
      .map(([a, b]) => `${a} <-> ${b}`)
    expect(pairs).toEqual([])
  })

  it('the console takes only types, or plain lists that import nothing, from the rest of the repo', () => {
    const bad = imports.filter(
      (i) =>
        i.from.startsWith('dashboards/') && top(i.to) !== 'dashboards' && !i.typeOnly && !leaves.has(i.to),
    )
    expect(bad.map(show)).toEqual([])
  })
})
