import { type Static, Type } from 'typebox'
import { dataTypes } from '../driver-types.ts'

/**
 * The shape of a device profile file (drivers/profiles/*.yaml; docs/profiles.md). A
 * profile names the maker's document it was transcribed from: a profile without a source
 * cannot be checked, and a wrong register map bills the wrong number.
 */

const strict = { additionalProperties: false } as const
const Code = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' })
const Decimalish = Type.Union([Type.Number(), Type.String({ pattern: '^-?\\d+(\\.\\d+)?$' })])
const Text = Type.String({ minLength: 1, maxLength: 400 })

export { dataTypes as profileDataTypes } from '../driver-types.ts'

const Table = Type.Enum(['coil', 'discrete-input', 'input-register', 'holding-register'])
const ByteOrder = Type.Enum(['ABCD', 'CDAB', 'BADC', 'DCBA'])
const DataTypeSchema = Type.Enum([...dataTypes])

/** A point as written in the file: table, dataType and byteOrder may come from `defaults`. */
export const ProfilePointInFileSchema = Type.Object(
  {
    code: Code,
    table: Type.Optional(Table),
    // Zero-based wire address, as the maker's "start address hex" column: 30073 is 0x0048.
    register: Type.Integer({ minimum: 0, maximum: 65535 }),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    dataType: Type.Optional(DataTypeSchema),
    byteOrder: Type.Optional(ByteOrder),
    scale: Type.Optional(Decimalish),
    offset: Type.Optional(Decimalish),
    unit: Type.Optional(Type.String({ maxLength: 32 })),
    kind: Type.Enum(['counter', 'gauge', 'state', 'event']),
    description: Type.Optional(Text),
  },
  strict,
)

export const ProfileFileSchema = Type.Object(
  {
    profile: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
    maker: Text,
    model: Text,
    description: Type.Optional(Text),
    source: Type.Object(
      {
        publisher: Text,
        title: Text,
        version: Type.Optional(Text),
        date: Type.Optional(Type.String({ minLength: 4, maxLength: 32 })),
        section: Type.Optional(Text),
        url: Type.Optional(Text),
      },
      strict,
    ),
    verified: Type.Optional(Text),
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
          table: Type.Optional(Table),
          dataType: Type.Optional(DataTypeSchema),
          byteOrder: Type.Optional(ByteOrder),
        },
        strict,
      ),
    ),
    points: Type.Array(ProfilePointInFileSchema, { minItems: 1 }),
  },
  strict,
)

export type ProfileFile = Static<typeof ProfileFileSchema>
export type ProfilePointInFile = Static<typeof ProfilePointInFileSchema>
