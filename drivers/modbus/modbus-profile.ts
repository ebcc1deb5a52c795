/**
 * The Modbus part of a device profile (docs/profiles.md): read limits, defaults for table,
 * data type and byte order, and the register map, checked for overlaps and impossible types.
 */
import { type Static, Type } from 'typebox'
import type { DriverPoint } from '../contract/device-driver.ts'
import { Decimalish, PointCode, PointKindSchema, strict, Unit } from '../contract/point-parts.ts'
import type { Problem, ProfileParts } from '../contract/protocol-definition.ts'
import { dataTypes } from '../driver-types.ts'
import { checkProfilePoints, type ProfilePoint } from './modbus-profile-checks.ts'
import { ByteOrderSchema, ModbusTableSchema } from './modbus-schemas.ts'

const DataTypeSchema = Type.Enum([...dataTypes])
const Text = Type.String({ minLength: 1, maxLength: 400 })

/** A point as written in the file: table, dataType and byteOrder may come from `defaults`. */
export const ProfilePointInFileSchema = Type.Object(
  {
    code: PointCode,
    table: Type.Optional(ModbusTableSchema),
    // Zero-based wire address, as the maker's "start address hex" column: 30073 is 0x0048.
    register: Type.Integer({ minimum: 0, maximum: 65535 }),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    dataType: Type.Optional(DataTypeSchema),
    byteOrder: Type.Optional(ByteOrderSchema),
    scale: Type.Optional(Decimalish),
    offset: Type.Optional(Decimalish),
    // A reading outside this range is sent as bad with the reason (docs/profiles.md).
    plausibleMin: Type.Optional(Decimalish),
    plausibleMax: Type.Optional(Decimalish),
    unit: Type.Optional(Unit),
    kind: PointKindSchema,
    description: Type.Optional(Text),
  },
  strict,
)

const fields = {
  limits: Type.Optional(
    Type.Object(
      {
        maxRegistersPerRead: Type.Optional(Type.Integer({ minimum: 1, maximum: 125 })),
        maxGap: Type.Optional(Type.Integer({ minimum: 0, maximum: 124 })),
      },
      strict,
    ),
  ),
  defaults: Type.Optional(
    Type.Object(
      {
        table: Type.Optional(ModbusTableSchema),
        dataType: Type.Optional(DataTypeSchema),
        byteOrder: Type.Optional(ByteOrderSchema),
      },
      strict,
    ),
  ),
  points: Type.Array(ProfilePointInFileSchema, { minItems: 1 }),
}
const ModbusProfilePart = Type.Object(fields)
type ModbusProfileDoc = Static<typeof ModbusProfilePart>

function resolvePoints(doc: ModbusProfileDoc): ProfilePoint[] {
  const d = doc.defaults ?? {}
  return doc.points.map((p) => {
    const { table = d.table, dataType = d.dataType, byteOrder = d.byteOrder, ...rest } = p
    return {
      ...rest,
      table: table ?? 'holding-register',
      dataType: dataType ?? 'uint16',
      ...(byteOrder !== undefined ? { byteOrder } : {}),
    } as ProfilePoint
  })
}

function missingTypeProblems(doc: ModbusProfileDoc): Problem[] {
  // A register without a table or type would silently default; make the file say it.
  return doc.points.flatMap((p, i) => [
    ...((p.table ?? doc.defaults?.table)
      ? []
      : [{ path: ['points', i, 'table'], message: 'is required (or set defaults.table)' }]),
    ...((p.dataType ?? doc.defaults?.dataType)
      ? []
      : [{ path: ['points', i, 'dataType'], message: 'is required (or set defaults.dataType)' }]),
  ])
}

export const modbusProfile: ProfileParts = {
  fields,
  resolve(value) {
    const doc = value as unknown as ModbusProfileDoc
    const missing = missingTypeProblems(doc)
    const points = resolvePoints(doc)
    return {
      // A ModbusPoint is a DriverPoint with the Modbus address keys; the schema checked them.
      points: points as unknown as DriverPoint[],
      connectionDefaults: { ...doc.limits },
      problems: missing.length > 0 ? missing : checkProfilePoints(points).map(toProblem),
    }
  },
}

/** `points.3.register` → ['points', 3, 'register']. */
function toProblem(p: { path: string; message: string }): Problem {
  return { path: p.path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)), message: p.message }
}
