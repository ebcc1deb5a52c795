// Gateway configuration schema. Unlike the hub, a gateway cannot run on defaults alone:
// it must know who it is (id), how to authenticate to the hub (secret) and what to read.
import { type Static, Type } from 'typebox'
import type { DriverPoint } from '../../drivers/contract/device-driver.ts'
import { familyOf, protocolFamilies, protocolNames } from '../../drivers/contract/protocol-registry.ts'
import { loadProfileDefinition } from '../../drivers/profiles/profile-loader.ts'
import { loadConfig, type Problem, schemaProblems } from '../contract/config-file/load-config.ts'
import { LogConfigSchema } from '../contract/config-file/log-config.ts'
import { connectionSchemaOf } from '../contract/device-schemas.ts'

const strict = { additionalProperties: false } as const
const Code = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' })

const DeviceSchema = Type.Object(
  {
    code: Code,
    // A protocol of the registry (drivers/protocols.ts), checked with the connection and the
    // points against the protocol's own schemas after the first pass (refineDevices).
    protocol: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' }),
    connection: Type.Record(Type.String(), Type.Unknown()),
    profile: Type.Optional(
      Type.String({ minLength: 1, description: 'a device profile in drivers/profiles' }),
    ),
    points: Type.Array(Type.Record(Type.String(), Type.Unknown()), { default: [] }),
    pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000 })),
    enabled: Type.Boolean({ default: true }),
  },
  strict,
)

export const GatewayConfigSchema = Type.Object(
  {
    gateway: Type.Object(
      {
        // Used in MQTT topics and client ids, hence the restricted character set.
        id: Code,
        // Shared secret with the hub; 16 characters minimum so it is not guessable.
        secret: Type.String({ minLength: 16 }),
        hubUrl: Type.String({ pattern: '^mqtts?://[^\\s/]+(:\\d+)?/?$', default: 'mqtt://127.0.0.1:1883' }),
        caFile: Type.Optional(
          Type.String({ minLength: 1, description: 'CA bundle for mqtts:// (default: system CAs)' }),
        ),
        // The hub's ack wait before a resend (gateway/uplink/uplink-options.ts: 3 s and 30 s by
        // default): learned from the acks between these bounds; the lower one bounds the stall
        // when a hub dies.
        ackTimeoutMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 600_000 })),
        ackTimeoutMaxMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 3_600_000 })),
      },
      strict,
    ),
    outbox: Type.Object(
      {
        dir: Type.String({ minLength: 1, default: './data/gateway/outbox' }),
        maxBatches: Type.Integer({ minimum: 10, maximum: 10_000_000, default: 200_000 }),
        // Pending batches are also held in memory for fast resend: keep this within RAM.
        maxBytes: Type.Integer({ minimum: 1_048_576, maximum: 4_294_967_296, default: 268_435_456 }),
      },
      { ...strict, default: {} },
    ),
    schedule: Type.Object(
      {
        // Billing counters on the quarter hour, wall-clock aligned, so every meter of an
        // estate has a reading at the same instants (the cut-off among them).
        counterIntervalMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 900_000 }),
        gaugeIntervalMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 10_000 }),
        stateIntervalMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 2_000 }),
        maxReadingsPerBatch: Type.Integer({ minimum: 1, maximum: 5000, default: 2000 }),
      },
      { ...strict, default: {} },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 9108 }),
      },
      { ...strict, default: {} },
    ),
    bacnet: Type.Object(
      { port: Type.Integer({ minimum: 1, maximum: 65535, default: 47808 }) },
      { ...strict, default: {} },
    ),
    access: Type.Optional(
      Type.Object(
        {
          host: Type.String({ default: '0.0.0.0' }),
          port: Type.Integer({ minimum: 1, maximum: 65535, default: 8088 }),
          controllers: Type.Array(
            Type.Object({ id: Code, token: Type.String({ minLength: 16 }), device: Code }, strict),
            { default: [] },
          ),
        },
        strict,
      ),
    ),
    // Where `profile: <name>` is looked up; default the shipped drivers/profiles.
    profiles: Type.Optional(
      Type.Object(
        { dir: Type.String({ minLength: 1, description: 'a folder of profile YAML files' }) },
        strict,
      ),
    ),
    devices: Type.Array(DeviceSchema, { default: [] }),
    log: LogConfigSchema,
  },
  strict,
)

export type GatewayConfig = Static<typeof GatewayConfigSchema>
export type GatewayDeviceConfig = GatewayConfig['devices'][number]

/** Per-protocol rules: connection keys, point shapes, unique codes, the protocol's own checks. */
export function refineDevices(config: GatewayConfig): Problem[] {
  const problems: Problem[] = []
  const seen = new Map<string, number>()
  config.devices.forEach((device, i) => {
    const base = ['devices', i]
    const first = seen.get(device.code)
    if (first !== undefined)
      problems.push({ path: [...base, 'code'], message: `"${device.code}" is already devices.${first}` })
    seen.set(device.code, i)
    const family = familyOf(device.protocol)
    const connection = connectionSchemaOf(device.protocol)
    if (!family || !connection) {
      problems.push({ path: [...base, 'protocol'], message: `must be one of ${protocolNames().join(', ')}` })
      return
    }
    problems.push(...schemaProblems(connection, device.connection, [...base, 'connection']))
    // A family without a point schema has nothing to poll (access controllers push events).
    const pointSchema = family.point
    if (!pointSchema) return
    if (device.profile && !family.profile) {
      problems.push({
        path: [...base, 'profile'],
        message: `profiles exist for ${profileFamilies()} devices only`,
      })
    } else if (device.profile) {
      try {
        const profile = loadProfileDefinition(device.profile, config.profiles?.dir)
        if (profile.protocol !== family.family)
          problems.push({ path: [...base, 'profile'], message: `is a ${profile.protocol} profile` })
      } catch (error) {
        problems.push({ path: [...base, 'profile'], message: (error as Error).message })
      }
    }
    if (!device.profile && device.points.length === 0) {
      problems.push({ path: [...base, 'points'], message: 'lists no points and names no profile' })
    }
    const codes = new Set<string>()
    device.points.forEach((point, j) => {
      const at = [...base, 'points', j]
      const shape = schemaProblems(pointSchema, point, at)
      problems.push(...shape)
      if (shape.length > 0) return
      const code = String(point.code)
      if (codes.has(code))
        problems.push({ path: [...at, 'code'], message: `"${code}" appears twice in this device` })
      codes.add(code)
      for (const problem of family.checkPoint?.(point as DriverPoint) ?? [])
        problems.push({ path: [...at, ...problem.path], message: problem.message })
    })
  })
  return problems
}

function profileFamilies(): string {
  return protocolFamilies()
    .filter((f) => f.profile)
    .map((f) => f.family)
    .join(', ')
}

/** Loads and validates a gateway config; the `gateway` section is required. Throws ConfigError. */
export function loadGatewayConfig(file?: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(GatewayConfigSchema, file, env, refineDevices)
}
