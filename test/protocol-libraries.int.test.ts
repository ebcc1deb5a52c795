import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
// A loader hook that tells which protocol libraries a process resolves.
const recorder = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(\`export async function resolve(s, c, next) {
  const r = await next(s, c)
  const m = /node_modules\\\\/(modbus-serial|@bacnet-js\\\\/client)\\\\//.exec(r.url)
  if (m) process._rawDebug('LOADED ' + m[1])
  return r
}\`))
`)}`

function librariesLoadedBy(script: string): string[] {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', recorder, '--input-type=module', '-e', script],
    {
      cwd: root,
      encoding: 'utf8',
    },
  )
  if (run.status !== 0) throw new Error(run.stderr)
  return [...new Set([...run.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!))].sort()
}

/** The registry loads driver code lazily: schema users never load a protocol library. */
describe('protocol libraries', () => {
  it('are not loaded by the gateway contract, the gateway config or the hub device API', () => {
    const script = [
      "await import('./gateway/contract/index.ts')",
      "await import('./gateway/config/gateway-config.ts')",
      "await import('./hub/devices/devices-module.ts')",
    ].join(';')
    expect(librariesLoadedBy(script)).toEqual([])
  })

  it('are loaded when a gateway opens the family', () => {
    const script = [
      "const { familyOf } = await import('./drivers/contract/protocol-registry.ts')",
      "await familyOf('modbus-tcp').load()",
      "await familyOf('bacnet-ip').load()",
    ].join(';')
    expect(librariesLoadedBy(script)).toEqual(['@bacnet-js/client', 'modbus-serial'])
  })
})
