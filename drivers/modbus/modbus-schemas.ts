/**
 * How a Modbus device is reached and how its points are addressed: the schemas the gateway
 * config, the hub's device records and profiles all check against (via the registry).
 */
import { Type } from 'typebox'
import {
  Decimalish,
  PointCode,
  PointEventSchema,
  PointKindSchema,
  strict,
  Unit,
} from '../contract/point-parts.ts'
import { byteOrders, dataTypes } from '../driver-types.ts'

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

export const modbusTcpConnection = Type.Object(
  { host: Host, port: Type.Optional(Port), unitId: UnitId, ...ReadLimits },
  strict,
)
export const modbusRtuConnection = Type.Object(
  { serialPath: Type.String({ minLength: 1 }), unitId: SerialUnitId, ...Serial, ...ReadLimits },
  strict,
)
export const modbusRtuOverTcpConnection = Type.Object(
  { host: Host, port: Port, unitId: SerialUnitId, ...Serial, ...ReadLimits },
  strict,
)

export const ModbusTableSchema = Type.Enum(['coil', 'discrete-input', 'input-register', 'holding-register'])
export const ByteOrderSchema = Type.Enum(byteOrders)

/** A point's address as the hub stores it (the typed columns hold dataType and byteOrder). */
export const modbusAddress = Type.Object(
  {
    table: ModbusTableSchema,
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

/** A point as a gateway config lists it. */
export const ModbusPointSchema = Type.Object(
  {
    code: PointCode,
    table: ModbusTableSchema,
    // Zero-based wire address: a manual's 40001 is holding-register 0 (docs/gateway.md).
    register: Type.Integer({ minimum: 0, maximum: 65535 }),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    dataType: Type.Enum([...dataTypes]),
    byteOrder: Type.Optional(ByteOrderSchema),
    scale: Type.Optional(Decimalish),
    offset: Type.Optional(Decimalish),
    // A reading outside this range is sent as bad with the reason (docs/profiles.md).
    plausibleMin: Type.Optional(Decimalish),
    plausibleMax: Type.Optional(Decimalish),
    unit: Type.Optional(Unit),
    kind: PointKindSchema,
    event: Type.Optional(PointEventSchema),
  },
  strict,
)
