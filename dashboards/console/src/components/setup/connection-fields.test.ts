import { describe, expect, it } from 'vitest'
import { connectionFields, connectionValue, type JsonSchema } from './connection-fields.ts'

// Connection schemas as GET /api/v1/device-protocols serves them (abridged).
const schemas: Record<string, JsonSchema> = {
  'modbus-rtu': {
    type: 'object',
    required: ['serialPath', 'unitId', 'baudRate'],
    properties: {
      serialPath: { type: 'string', minLength: 1 },
      unitId: { type: 'integer', minimum: 1, maximum: 247, description: 'Modbus slave address on the bus' },
      baudRate: { enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] },
      parity: { enum: ['none', 'even', 'odd'] },
      timeoutMs: { type: 'integer', minimum: 50, maximum: 60000 },
    },
  },
  'modbus-tcp': {
    type: 'object',
    required: ['host', 'unitId'],
    properties: {
      host: { type: 'string' },
      port: { type: 'integer' },
      unitId: { type: 'integer' },
      timeoutMs: { type: 'integer' },
    },
  },
  'bacnet-ip': {
    type: 'object',
    required: ['host', 'deviceInstance'],
    properties: { host: { type: 'string' }, port: { type: 'integer' }, deviceInstance: { type: 'integer' } },
  },
}

describe("the device form's connection fields", () => {
  const schemaOf = (name: string) => schemas[name]!

  it("come from each protocol's schema as the hub serves it, required ones first", () => {
    const rtu = connectionFields(schemaOf('modbus-rtu'))
    expect(rtu.slice(0, 3).map((f) => [f.key, f.input, f.required])).toEqual([
      ['serialPath', 'text', true],
      ['unitId', 'number', true],
      ['baudRate', 'choice', true],
    ])
    expect(rtu.find((f) => f.key === 'unitId')).toMatchObject({ min: 1, max: 247 })
    expect(rtu.find((f) => f.key === 'parity')).toMatchObject({
      input: 'choice',
      options: ['none', 'even', 'odd'],
    })
    expect(connectionFields(schemaOf('bacnet-ip')).map((f) => f.key)).toEqual([
      'host',
      'deviceInstance',
      'port',
    ])
  })

  it('leave empty optional inputs out, so the hub applies its defaults', () => {
    const fields = connectionFields(schemaOf('modbus-tcp'))
    expect(connectionValue(fields, { host: '10.0.0.5', unitId: 3, port: null, timeoutMs: '' })).toEqual({
      host: '10.0.0.5',
      unitId: 3,
    })
  })
})
