import { type TSchema, Type } from 'typebox'

/**
 * How a device is reached and how its points are addressed, per protocol: shared by the hub
 * (which stores device records) and the gateway (whose config lists devices), so both
 * accept exactly the same shapes.
 */
export const deviceProtocols = [
  'modbus-tcp',
  'modbus-rtu',
  'modbus-rtu-over-tcp',
  'bacnet-ip',
  'access-webhook',
] as const
export type DeviceProtocol = (typeof deviceProtocols)[number]

// How a device is reached and how a point is addressed depend on the protocol; the tables
// keep them as JSON, and these schemas check them when they are written.
const Host = Type.String({ minLength: 1, maxLength: 253 })
const Port = Type.Integer({ minimum: 1, maximum: 65535 })
const UnitId = Type.Integer({ minimum: 0, maximum: 255, description: 'Modbus unit id (TCP: 0-255)' })
// On a serial bus 0 is broadcast (no reply) and 248-255 are reserved.
const SerialUnitId = Type.Integer({
  minimum: 1,
  maximum: 247,
  description: 'Modbus slave address on the bus',
})
const ReadLimits = {
  maxRegistersPerRead: Type.Optional(Type.Integer({ minimum: 1, maximum: 125 })),
  maxGap: Type.Optional(Type.Integer({ minimum: 0, maximum: 124 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
}
const Serial = {
  baudRate: Type.Enum([1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]),
  parity: Type.Optional(Type.Enum(['none', 'even', 'odd'])),
  dataBits: Type.Optional(Type.Enum([7, 8])),
  stopBits: Type.Optional(Type.Enum([1, 2])),
}
const strict = { additionalProperties: false } as const

export const connectionSchemas: Record<DeviceProtocol, TSchema> = {
  'modbus-tcp': Type.Object({ host: Host, port: Type.Optional(Port), unitId: UnitId, ...ReadLimits }, strict),
  'modbus-rtu': Type.Object(
    { serialPath: Type.String({ minLength: 1 }), unitId: SerialUnitId, ...Serial, ...ReadLimits },
    strict,
  ),
  'modbus-rtu-over-tcp': Type.Object(
    { host: Host, port: Port, unitId: SerialUnitId, ...Serial, ...ReadLimits },
    strict,
  ),
  'bacnet-ip': Type.Object(
    { host: Host, port: Type.Optional(Port), deviceInstance: Type.Integer({ minimum: 0, maximum: 4194302 }) },
    strict,
  ),
  'access-webhook': Type.Object({ controllerId: Type.String({ minLength: 1, maxLength: 64 }) }, strict),
}

const modbusAddress = Type.Object(
  {
    table: Type.Enum(['coil', 'discrete-input', 'input-register', 'holding-register']),
    // Wire addresses start at 0: holding register "40001" in a manual is register 0 here.
    // 40001 itself stays legal (SunSpec maps start at wire address 40000), so the table
    // name, not the number, says which kind of register is meant.
    register: Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'zero-based wire address (40001 in a manual is 0)',
    }),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
    length: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 120, description: 'registers of a string point' }),
    ),
  },
  strict,
)
const bacnetAddress = Type.Object(
  {
    objectType: Type.String({ minLength: 1, description: 'e.g. analog-input, binary-value' }),
    instance: Type.Integer({ minimum: 0, maximum: 4194302 }),
    property: Type.Optional(Type.String({ minLength: 1 })),
  },
  strict,
)
const accessAddress = Type.Object({ door: Type.String({ minLength: 1, maxLength: 64 }) }, strict)

export const pointAddressSchemas: Record<DeviceProtocol, TSchema> = {
  'modbus-tcp': modbusAddress,
  'modbus-rtu': modbusAddress,
  'modbus-rtu-over-tcp': modbusAddress,
  'bacnet-ip': bacnetAddress,
  'access-webhook': accessAddress,
}

// One list of data types and widths for drivers, gateway config and hub records.
export { type DataType, dataTypes, registerSpan } from '../../drivers/driver-types.ts'
