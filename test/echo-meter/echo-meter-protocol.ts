/**
 * A test-only protocol, `echo-meter`: the whole of it is this folder, registered by one line
 * in test/protocol-registry.int.test.ts. It proves a protocol added to the registry reaches
 * the gateway config, the readers, `gateway check`, the hub's device API and the console's
 * form data without an edit anywhere else (issue 12).
 */
import { Type } from 'typebox'
import { PointCode, PointKindSchema, strict, Unit } from '../../drivers/contract/point-parts.ts'
import type { ProtocolDefinition } from '../../drivers/contract/protocol-definition.ts'

const Register = Type.Integer({ minimum: 0, maximum: 999 })

export const echoMeterProtocol: ProtocolDefinition = {
  family: 'echo',
  protocols: [
    {
      name: 'echo-meter',
      title: 'Echo meter (test only)',
      connection: Type.Object(
        {
          host: Type.String({ minLength: 1 }),
          port: Type.Integer({ minimum: 1, maximum: 65535 }),
          meterId: Type.String({ pattern: '^[A-Z0-9]{4,12}$' }),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
        },
        strict,
      ),
    },
  ],
  point: Type.Object(
    {
      code: PointCode,
      register: Register,
      dataType: Type.Optional(Type.Enum(['number', 'text'])),
      unit: Type.Optional(Unit),
      kind: PointKindSchema,
    },
    strict,
  ),
  address: Type.Object({ register: Register }, strict),
  // Register 0 is the meter's id: text, in a config and in a hub record alike.
  checkPoint: (point) =>
    point.register === 0 && point.dataType !== 'text'
      ? [{ path: ['dataType'], message: 'register 0 holds the meter id: use text' }]
      : [],
  checkRecord: (point) =>
    point.address.register === 0 && point.dataType !== 'string'
      ? { path: ['dataType'], message: 'register 0 holds the meter id: use string', rule: 'echo.meterIdText' }
      : undefined,
  plan: (device) => device.points.map((p) => ({ points: [p.code], describe: `READ ${String(p.register)}` })),
  profile: {
    fields: {
      points: Type.Array(Type.Object({ code: PointCode, register: Register, kind: PointKindSchema }, strict)),
    },
    resolve: (doc) => ({ points: doc.points as never, connectionDefaults: {}, problems: [] }),
  },
  load: async () => (await import('./echo-meter-driver.ts')).createEchoMeterDriver,
  simulate: async () => (await import('./echo-meter-simulator.ts')).simulateEchoMeter(),
  where: (device) =>
    `${String(device.connection.host)}:${String(device.connection.port)} meter ${String(device.connection.meterId)}`,
}
