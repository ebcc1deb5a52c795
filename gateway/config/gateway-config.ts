// Gateway configuration schema. Unlike the hub, a gateway cannot run on defaults alone:
// it must know who it is (id), how to authenticate to the hub (secret) and what to read.
import { type Static, Type } from 'typebox'
import { loadProfileDefinition } from '../../drivers/profiles/profile-loader.ts'
import { loadConfig, type Problem, schemaProblems } from '../contract/config-file/load-config.ts'
import { LogConfigSchema } from '../contract/config-file/log-config.ts'
import { connectionSchemas, dataTypes, deviceProtocols, registerSpan } from '../contract/device-schemas.ts'

const strict = { additionalProperties: false } as const
const Code = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' })
const Kind = Type.Enum(['counter', 'gauge', 'state', 'event'])
const Decimalish = Type.Union([Type.Number(), Type.String({ pattern: '^-?\\d+(\\.\\d+)?$' })])

// A state point (a discrete input, a BACnet binary input) may raise events when it changes:
// a leak sensor, a fire-panel dry contact, a door contact.
const PointEventSchema = Type.Object(
  {
    type: Type.Enum(['alarm_input', 'state_change', 'forced', 'held_open', 'tamper']),
    activeWhen: Type.Optional(Type.Boolean({ description: 'the raw state meaning active; default true' })),
    input: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'fire, leak, intrusion…' })),
  },
  strict,
)

const ModbusPointSchema = Type.Object(
  {
    code: Code,
    table: Type.Enum(['coil', 'discrete-input', 'input-register', 'holding-register']),
    // Zero-based wire address: a manual's 40001 is holding-register 0 (docs/gateway.md).
    register: Type.Integer({ minimum: 0, maximum: 65535 }),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    dataType: Type.Enum([...dataTypes]),
    byteOrder: Type.Optional(Type.Enum(['ABCD', 'CDAB', 'BADC', 'DCBA'])),
    scale: Type.Optional(Decimalish),
    offset: Type.Optional(Decimalish),
    unit: Type.Optional(Type.String({ maxLength: 32 })),
    kind: Kind,
    event: Type.Optional(PointEventSchema),
  },
  strict,
)

const BacnetPointSchema = Type.Object(
  {
    code: Code,
    objectType: Type.String({ minLength: 1 }),
    instance: Type.Integer({ minimum: 0, maximum: 4194302 }),
    property: Type.Optional(Type.String({ minLength: 1 })),
    unit: Type.Optional(Type.String({ maxLength: 32 })),
    kind: Kind,
    cov: Type.Optional(Type.Boolean({ description: 'subscribe to changes instead of polling' })),
    event: Type.Optional(PointEventSchema),
  },
  strict,
)

const DeviceSchema = Type.Object(
  {
    code: Code,
    protocol: Type.Enum([...deviceProtocols]),
    // Checked against the protocol's own schema after the first pass (refineDevices).
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
    devices: Type.Array(DeviceSchema, { default: [] }),
    log: LogConfigSchema,
  },
  strict,
)

export type GatewayConfig = Static<typeof GatewayConfigSchema>
export type GatewayDeviceConfig = GatewayConfig['devices'][number]
export type ModbusPointConfig = Static<typeof ModbusPointSchema>
export type BacnetPointConfig = Static<typeof BacnetPointSchema>

const modbus = new Set(['modbus-tcp', 'modbus-rtu', 'modbus-rtu-over-tcp'])

/** Per-protocol rules: connection keys, point shapes, unique codes, byte orders. */
export function refineDevices(config: GatewayConfig): Problem[] {
  const problems: Problem[] = []
  const seen = new Map<string, number>()
  config.devices.forEach((device, i) => {
    const base = ['devices', i]
    const first = seen.get(device.code)
    if (first !== undefined)
      problems.push({ path: [...base, 'code'], message: `"${device.code}" is already devices.${first}` })
    seen.set(device.code, i)
    problems.push(
      ...schemaProblems(connectionSchemas[device.protocol], device.connection, [...base, 'connection']),
    )
    if (device.protocol === 'access-webhook') return
    if (device.profile && !modbus.has(device.protocol)) {
      problems.push({ path: [...base, 'profile'], message: 'profiles exist for Modbus devices only' })
    } else if (device.profile) {
      try {
        loadProfileDefinition(device.profile)
      } catch (error) {
        problems.push({ path: [...base, 'profile'], message: (error as Error).message })
      }
    }
    if (!device.profile && device.points.length === 0) {
      problems.push({ path: [...base, 'points'], message: 'lists no points and names no profile' })
    }
    const pointSchema = modbus.has(device.protocol) ? ModbusPointSchema : BacnetPointSchema
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
      if (modbus.has(device.protocol)) problems.push(...refineModbusPoint(point as ModbusPointConfig, at))
    })
  })
  return problems
}

function refineModbusPoint(point: ModbusPointConfig, at: Path): Problem[] {
  const out: Problem[] = []
  const bitTable = point.table === 'coil' || point.table === 'discrete-input'
  if (bitTable !== (point.dataType === 'bool')) {
    out.push({
      path: [...at, 'dataType'],
      message: bitTable ? `a ${point.table} holds one bool` : `use bool only on coils and discrete inputs`,
    })
  }
  if (point.dataType === 'bit' && point.bit === undefined)
    out.push({ path: [...at, 'bit'], message: 'is required for dataType bit' })
  if (point.dataType === 'string' && point.length === undefined)
    out.push({ path: [...at, 'length'], message: 'is required for dataType string' })
  const words = registerSpan(point.dataType, point.length)
  if (point.register + words - 1 > 65535)
    out.push({ path: [...at, 'register'], message: `a ${point.dataType} here runs past 65535` })
  return out
}

type Path = readonly (string | number)[]

/** Loads and validates a gateway config; the `gateway` section is required. Throws ConfigError. */
export function loadGatewayConfig(file?: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(GatewayConfigSchema, file, env, refineDevices)
}
