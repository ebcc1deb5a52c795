import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { registerSpan } from '../modbus/modbus-profile-checks.ts'
import { listProfiles, loadProfile, loadProfileDefinition, ProfileError } from './profile-loader.ts'

describe('shipped profiles', () => {
  const names = listProfiles()

  it('include the Eastron SDM120 and SDM630', () => {
    expect(names).toEqual(expect.arrayContaining(['eastron-sdm120', 'eastron-sdm630']))
  })

  it.each(names)('%s loads, cites its document and has no overlapping registers', (name) => {
    const profile = loadProfileDefinition(name)
    expect(profile.source.title.length).toBeGreaterThan(0)
    expect(profile.source.version ?? profile.source.date).toBeTruthy()
    const spans = profile.points
      .map((p) => ({ table: p.table, first: p.register, last: p.register + registerSpan(p) - 1 }))
      .sort((a, b) => a.table.localeCompare(b.table) || a.first - b.first)
    spans.forEach((s, i) => {
      const next = spans[i + 1]
      if (next && next.table === s.table) expect(next.first).toBeGreaterThan(s.last)
    })
  })

  it.each(names)('%s: each register matches the document number in its description', (name) => {
    // Profiles give the hex start address and quote the document's 3xxxx/4xxxx number; the two
    // are copied separately, so a typo in either shows up as a mismatch here.
    for (const p of loadProfile(name)) {
      const n = /^(\d{5})\b/.exec(p.description ?? '')?.[1]
      if (!n) continue
      const base = p.table === 'input-register' ? 30001 : p.table === 'holding-register' ? 40001 : undefined
      if (base === undefined) continue
      expect({ code: p.code, register: p.register }).toEqual({ code: p.code, register: Number(n) - base })
    }
  })

  it.each(names)('%s: energies are counters and nothing else is', (name) => {
    for (const p of loadProfile(name)) {
      const energy = /h$/.test(p.unit ?? '')
      expect({ code: p.code, kind: p.kind }).toEqual({ code: p.code, kind: energy ? 'counter' : 'gauge' })
    }
  })

  it('SDM630 has total import kWh at input register 0x0048, float32 ABCD, as a counter', () => {
    const points = loadProfile('eastron-sdm630')
    expect(points.find((p) => p.code === 'import_kwh')).toMatchObject({
      table: 'input-register',
      register: 0x0048,
      dataType: 'float32',
      byteOrder: 'ABCD',
      kind: 'counter',
      unit: 'kWh',
    })
    expect(points.find((p) => p.code === 'voltage_l1')).toMatchObject({
      register: 0x0000,
      kind: 'gauge',
      unit: 'V',
    })
    expect(points.find((p) => p.code === 'frequency')).toMatchObject({ register: 0x0046, unit: 'Hz' })
    expect(points.find((p) => p.code === 'export_kwh')).toMatchObject({ register: 0x004a, kind: 'counter' })
    expect(loadProfileDefinition('eastron-sdm630').limits.maxRegistersPerRead).toBe(80)
  })

  it('SDM120 has import kWh at 0x0048 and current at 0x0006', () => {
    const points = loadProfile('eastron-sdm120')
    expect(points.find((p) => p.code === 'import_kwh')).toMatchObject({ register: 0x0048, kind: 'counter' })
    expect(points.find((p) => p.code === 'current')).toMatchObject({ register: 0x0006, kind: 'gauge' })
  })
})

describe('broken profiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eh-profiles-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, text: string) => writeFileSync(join(dir, `${name}.yaml`), text)
  const head = (name: string) =>
    [
      `profile: ${name}`,
      'maker: Acme',
      'model: M1',
      'source: { publisher: Acme, title: M1 Modbus map, version: "1.0" }',
      'defaults: { table: input-register, dataType: float32 }',
    ].join('\n')
  const errorOf = (name: string): ProfileError => {
    try {
      loadProfile(name, dir)
    } catch (e) {
      if (e instanceof ProfileError) return e
      throw e
    }
    throw new Error('expected a ProfileError')
  }

  it('names the file and the key of a bad value', () => {
    write(
      'bad-type',
      `${head('bad-type')}\npoints:\n  - { code: a, register: 0, kind: gauge }\n  - { code: b, register: 70000, kind: gauge }\n`,
    )
    const e = errorOf('bad-type')
    expect(e.message).toContain(join(dir, 'bad-type.yaml'))
    expect(e.problems).toEqual([{ path: 'points.1.register', message: expect.stringMatching(/65535/) }])
  })

  it('names each unknown and missing key', () => {
    write(
      'keys',
      `${head('keys')}\npoints:\n  - { code: a, register: 0, kind: gauge, colour: red }\n  - { code: b, register: 2 }\n`,
    )
    expect(errorOf('keys').problems).toEqual([
      { path: 'points.0.colour', message: 'unknown key' },
      { path: 'points.1.kind', message: 'is required' },
    ])
  })

  it('finds overlapping registers', () => {
    write(
      'overlap',
      `${head('overlap')}\npoints:\n  - { code: a, register: 0, kind: gauge }\n  - { code: b, register: 1, kind: gauge }\n`,
    )
    const e = errorOf('overlap')
    expect(e.problems).toEqual([
      { path: 'points.1.register', message: 'input-register 1-2 overlaps points.0 (a, 0-1)' },
    ])
    expect(e.message).toBe(
      `${join(dir, 'overlap.yaml')}: points.1.register: input-register 1-2 overlaps points.0 (a, 0-1)`,
    )
  })

  it('lets two bits of one register be, but not a bit and the whole register', () => {
    write(
      'bits',
      `${head('bits')}\npoints:\n  - { code: a, register: 5, dataType: bit, bit: 0, kind: state }\n  - { code: b, register: 5, dataType: bit, bit: 1, kind: state }\n  - { code: c, register: 4, kind: gauge }\n`,
    )
    expect(errorOf('bits').problems).toEqual([
      { path: 'points.2.register', message: 'input-register 4-5 overlaps points.0 (a, 5-5)' },
      { path: 'points.2.register', message: 'input-register 4-5 overlaps points.1 (b, 5-5)' },
    ])
  })

  it('finds a value running past 65535, a duplicate code and bool on a register', () => {
    write(
      'rules',
      `${head('rules')}\npoints:\n  - { code: a, register: 65535, kind: gauge }\n  - { code: a, register: 10, dataType: bool, kind: state }\n`,
    )
    expect(errorOf('rules').problems).toEqual([
      { path: 'points.0.register', message: 'a float32 at 65535 runs past 65535' },
      { path: 'points.1.dataType', message: 'bool is only for coils and discrete inputs' },
      { path: 'points.1.code', message: '"a" is already points.0' },
    ])
  })

  it('takes a plausible range on a point, and refuses one that holds no value', () => {
    write(
      'range',
      `${head('range')}\npoints:\n  - { code: v, register: 0, kind: gauge, plausibleMin: 0, plausibleMax: '300.5' }\n`,
    )
    expect(loadProfile('range', dir)[0]).toMatchObject({ plausibleMin: 0, plausibleMax: '300.5' })
    write(
      'no-range',
      `${head('no-range')}\npoints:\n  - { code: v, register: 0, kind: gauge, plausibleMin: 10, plausibleMax: 5 }\n`,
    )
    expect(errorOf('no-range').problems).toEqual([
      { path: 'points.0.plausibleMax', message: 'plausibleMin 10 must be below plausibleMax 5' },
    ])
  })

  it('gives the line of a YAML syntax error', () => {
    write('syntax', `${head('syntax')}\npoints:\n  - { code: a, register: 0, kind: gauge\n`)
    const e = errorOf('syntax')
    expect(e.message).toMatch(/syntax\.yaml: line \d+, column \d+: \S/)
    expect(e.message).not.toContain('\n')
  })

  it('wants a source version or date, and the profile key to match the file name', () => {
    write(
      'nosource',
      `profile: other\nmaker: A\nmodel: B\nsource: { publisher: A, title: T }\ndefaults: { table: coil, dataType: bool }\npoints:\n  - { code: a, register: 0, kind: state }\n`,
    )
    expect(errorOf('nosource').problems).toEqual([
      { path: 'profile', message: 'is "other" but the file is named "nosource.yaml"' },
      { path: 'source', message: "needs the document's version or date" },
    ])
  })

  it('says which profiles exist when the name is unknown, and refuses path-like names', () => {
    write('fine', `${head('fine')}\npoints:\n  - { code: a, register: 0, kind: gauge }\n`)
    expect(loadProfile('fine', dir)).toHaveLength(1)
    expect(errorOf('nope').message).toMatch(/no profile "nope"; known: .*fine/)
    expect(errorOf('../eastron-sdm630').message).toMatch(/is not a profile name/)
  })
})
