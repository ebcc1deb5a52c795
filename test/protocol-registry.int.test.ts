import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeDriverConformance } from '../drivers/contract/driver-conformance.ts'
import { registerProtocol } from '../drivers/contract/protocol-registry.ts'
import { loadGatewayConfig } from '../gateway/config/gateway-config.ts'
import { ConfigError } from '../gateway/contract/index.ts'
import { checkDevices, formatCheckTable } from '../gateway/runtime/gateway-check.ts'
import { echoMeterProtocol } from './echo-meter/echo-meter-protocol.ts'
import { type EchoMeterSim, startEchoMeterSim } from './echo-meter/echo-meter-sim.ts'
import { seedSite, startTestIngest } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { startTestGateway, waitUntil } from './support/test-gateway.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

// The one registry line of a new protocol; everything below picks it up from there.
registerProtocol(echoMeterProtocol)

/**
 * Issue 12: a protocol is one folder (test/echo-meter/) plus one registry line. Nothing else
 * names `echo-meter`, yet the gateway config accepts it, the gateway reads it into the hub,
 * `gateway check` prints it, the hub's device API checks its connection and points, and the
 * console's form data lists it. It also passes the driver conformance suite.
 */
describe('a protocol added by one registry line', () => {
  let sim: EchoMeterSim
  const dir = mkdtempSync(join(tmpdir(), 'estatehub-echo-'))
  const device = (extra = '') => `  - code: em1
    protocol: echo-meter
    connection: { host: 127.0.0.1, port: ${sim.port}, meterId: EM0001, timeoutMs: 500${extra} }
    points:
      - { code: id, register: 0, dataType: text, kind: state }
      - { code: energy, register: 1, unit: kWh, kind: counter }
`
  const configFile = (name: string, devices: string) => {
    const file = join(dir, `${name}.yaml`)
    writeFileSync(file, `gateway:\n  id: gw-echo\n  secret: 0123456789abcdef\ndevices:\n${devices}`)
    return file
  }
  const problemsOf = (file: string) => {
    try {
      loadGatewayConfig(file, {})
    } catch (error) {
      if (error instanceof ConfigError) return error.message
      throw error
    }
    return ''
  }

  beforeAll(async () => {
    sim = await startEchoMeterSim({ EM0001: { 1: 1234.5, 2: -7 } })
  })
  afterAll(() => sim?.close())

  it('is accepted by the gateway config, with its own connection and point checks', () => {
    const config = loadGatewayConfig(configFile('ok', device()), {})
    expect(config.devices[0]).toMatchObject({ protocol: 'echo-meter', connection: { meterId: 'EM0001' } })
    expect(problemsOf(configFile('bad-key', device(', colour: red')))).toMatch(
      /devices\.0\.connection\.colour/,
    )
    const wrongType = device().replace('register: 0, dataType: text', 'register: 0')
    expect(problemsOf(configFile('bad-point', wrongType))).toMatch(
      /devices\.0\.points\.0\.dataType: register 0 holds the meter id/,
    )
    expect(problemsOf(configFile('unknown', device().replace('echo-meter', 'echo-metre')))).toMatch(
      /devices\.0\.protocol: must be one of .*echo-meter/,
    )
  })

  it('is read and printed by `gateway check`', async () => {
    const result = await checkDevices(loadGatewayConfig(configFile('check', device()), {}))
    expect(result.problems).toEqual([])
    const table = formatCheckTable(result)
    expect(table).toMatch(/^em1\/energy\s+1234\.5\s+kWh\s+good$/m)
    expect(table).toMatch(/^em1\/id\s+EM0001\s+good$/m)
    sim.delay(null)
    try {
      const silent = await checkDevices(loadGatewayConfig(configFile('silent', device()), {}))
      expect(silent.problems).toEqual([
        `em1: no point could be read: timeout (127.0.0.1:${sim.port} meter EM0001)`,
      ])
    } finally {
      sim.delay(0)
    }
  })

  describe('in the hub and through a running gateway', () => {
    let hub: TestHub
    let token: string
    let site: Awaited<ReturnType<typeof seedSite>>
    beforeAll(async () => {
      hub = await openTestHub(storeBackends()[0]!)
      site = await seedSite(hub.store.db, { code: 'ECHO', points: [] })
      token = await hub.userWithGrants('echo-admin', [{ role: 'admin', nodeId: null }])
    })
    afterAll(() => hub?.close())
    const post = (url: string, payload: object) => hub.call(token, { method: 'POST', url, payload })

    it('lists it among the device protocols, with the JSON schemas the console draws its form from', async () => {
      const listed = await hub.call(token, { method: 'GET', url: '/api/v1/device-protocols' })
      expect(listed.status).toBe(200)
      const echo = listed.body.items.find((p: { name: string }) => p.name === 'echo-meter')
      expect(echo).toMatchObject({
        family: 'echo',
        connection: { type: 'object', required: ['host', 'port', 'meterId'] },
        address: { properties: { register: { type: 'integer' } } },
      })
      expect(listed.body.items.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['modbus-tcp', 'bacnet-ip', 'access-webhook', 'echo-meter']),
      )
    })

    it('checks its connection and points in the device API, and the database takes them', async () => {
      const base = { gatewayId: site.gatewayId, code: 'em1', name: 'Echo meter', protocol: 'echo-meter' }
      const wrong = await post('/api/v1/devices', {
        ...base,
        connection: { host: 'h', port: 1, meterId: 'x' },
      })
      expect(wrong.status).toBe(400)
      expect(wrong.body.details.map((d: { field: string }) => d.field)).toEqual(['body.connection.meterId'])
      const made = await post('/api/v1/devices', {
        ...base,
        connection: { host: '127.0.0.1', port: sim.port, meterId: 'EM0001' },
      })
      expect(made.status, JSON.stringify(made.body)).toBe(201)
      const point = { deviceId: made.body.id, name: 'p', kind: 'counter' }
      const idAsNumber = await post('/api/v1/points', {
        ...point,
        code: 'id',
        address: { register: 0 },
        dataType: 'uint16',
      })
      expect(idAsNumber.status).toBe(400)
      expect(idAsNumber.body.details[0]).toMatchObject({ field: 'body.dataType' })
      const typo = await post('/api/v1/points', {
        ...point,
        code: 'energy',
        address: { registr: 1 },
        dataType: 'float64',
      })
      expect(typo.body.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['body.address.register', 'body.address.registr']),
      )
      const energy = await post('/api/v1/points', {
        ...point,
        code: 'energy',
        address: { register: 1 },
        dataType: 'float64',
        unit: 'kWh',
      })
      expect(energy.status, JSON.stringify(energy.body)).toBe(201)
      site.pointIds.set('em1/energy', energy.body.id)
    })

    it('is read by a running gateway and its readings stored by the hub', async () => {
      const ingest = await startTestIngest(hub.store.db)
      const edge = await startTestGateway(site, {
        hubUrl: ingest.url,
        devices: [
          {
            code: 'em1',
            protocol: 'echo-meter',
            connection: { host: '127.0.0.1', port: sim.port, meterId: 'EM0001' },
            points: [{ code: 'energy', register: 1, unit: 'kWh', kind: 'counter' }],
          },
        ],
      })
      try {
        await edge.gateway.pollNow()
        const pointId = site.pointIds.get('em1/energy')!
        const stored = () =>
          hub.store.db
            .selectFrom('readings')
            .select(['value', 'quality'])
            .where('pointId', '=', pointId)
            .execute()
        await waitUntil('the echo reading in the hub', async () => (await stored()).length > 0, 10_000)
        expect(await stored()).toEqual([{ value: expect.stringMatching(/^1234\.50*$/), quality: 'good' }])
      } finally {
        await edge.close()
        await ingest.close()
      }
    })
  })
})

describeDriverConformance(echoMeterProtocol)
