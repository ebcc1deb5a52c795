import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadProfileDefinition, ProfileError } from './profile-loader.ts'

/** Profiles are data for every protocol family with `profile` parts in the registry. */
describe('profiles of other families', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eh-profile-families-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const head = (name: string, protocol: string) =>
    `profile: ${name}\nprotocol: ${protocol}\nmaker: Acme\nmodel: AHU-9\nsource: { publisher: Acme, title: AHU-9 BACnet PICS, version: "2" }\n`
  const errorOf = (name: string): ProfileError => {
    try {
      loadProfileDefinition(name, dir)
    } catch (e) {
      if (e instanceof ProfileError) return e
      throw e
    }
    throw new Error('expected a ProfileError')
  }

  it("load a BACnet device's objects by its family's schema", () => {
    writeFileSync(
      join(dir, 'acme-ahu9.yaml'),
      `${head('acme-ahu9', 'bacnet')}points:\n  - { code: supply-temp, objectType: analog-input, instance: 1, unit: °C, kind: gauge }\n  - { code: running, objectType: binary-input, instance: 1, kind: state, cov: true }\n`,
    )
    const profile = loadProfileDefinition<Record<string, unknown>>('acme-ahu9', dir)
    expect(profile.protocol).toBe('bacnet')
    expect(profile.points).toEqual([
      { code: 'supply-temp', objectType: 'analog-input', instance: 1, unit: '°C', kind: 'gauge' },
      { code: 'running', objectType: 'binary-input', instance: 1, kind: 'state', cov: true },
    ])
  })

  it("name a key of the family's schema and the family's own rules", () => {
    writeFileSync(
      join(dir, 'bad-bacnet.yaml'),
      `${head('bad-bacnet', 'bacnet')}points:\n  - { code: a, objectType: analog-input, instance: 1, kind: gauge, register: 3 }\n  - { code: b, objectType: analog-input, instance: 2, kind: gauge }\n  - { code: b, objectType: analog-input, instance: 3, kind: gauge }\n`,
    )
    expect(errorOf('bad-bacnet').problems).toEqual([{ path: 'points.0.register', message: 'unknown key' }])
    writeFileSync(
      join(dir, 'twice.yaml'),
      `${head('twice', 'bacnet')}points:\n  - { code: b, objectType: analog-input, instance: 2, kind: gauge }\n  - { code: b, objectType: analog-input, instance: 3, kind: gauge }\n`,
    )
    expect(errorOf('twice').problems).toEqual([{ path: 'points.1.code', message: '"b" is already points.0' }])
  })

  it('refuse a family that has no profiles', () => {
    writeFileSync(join(dir, 'door.yaml'), `${head('door', 'access')}points: []\n`)
    expect(errorOf('door').problems).toEqual([
      {
        path: 'protocol',
        message: expect.stringMatching(/^has no profiles; profiles exist for modbus, bacnet/),
      },
    ])
  })
})
