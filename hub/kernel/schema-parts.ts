import { type TSchema, Type } from 'typebox'

/** Reusable schema pieces for routes; every object refuses unknown keys. */
export const Id = Type.String({ format: 'uuid', description: 'Record id (UUID)' })
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })
export const Code = Type.String({ minLength: 1, maxLength: 64, pattern: '^\\S(.*\\S)?$' })
export const Name = Type.String({ minLength: 1, maxLength: 200 })
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
export const DateString = Type.String({ format: 'date', description: 'YYYY-MM-DD' })
export const Timestamp = Type.String({ format: 'date-time' })
export const OneOf = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Enum(values as unknown as string[], description ? { description } : {}) as unknown as TSchema & {
    static: T[number]
  }

/**
 * A decimal number with at most `scale` fractional digits, given as a JSON number or a
 * string, returned as a string: areas, readings and multipliers are never rounded silently.
 * Non-negative unless `signed` (only offsets may be below zero).
 */
export const Decimal = (scale: number, description?: string, signed = false) =>
  Type.Union(
    [
      Type.String({ pattern: `^${signed ? '-?' : ''}\\d{1,14}(\\.\\d{1,${scale}})?$` }),
      Type.Number({ description: `at most ${scale} decimal places`, ...(signed ? {} : { minimum: 0 }) }),
    ],
    { description: description ?? `${signed ? '' : 'non-negative '}decimal, up to ${scale} places` },
  )
export const DecimalOut = Type.String({ pattern: '^-?\\d+(\\.\\d+)?$' })

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
}

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  })

const RuleParams = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))

export const ErrorResponse = Type.Object(
  {
    error: Type.String({ description: 'Stable error code, e.g. EH_ERR_VALIDATION' }),
    message: Type.String(),
    rule: Type.Optional(Type.String({ description: "The message's rule key (docs/errors.md)" })),
    params: Type.Optional(RuleParams),
    details: Type.Array(
      Type.Object(
        {
          field: Type.String(),
          rule: Type.String({ description: 'Stable rule key, e.g. decimal.places (docs/errors.md)' }),
          params: RuleParams,
          message: Type.String(),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { $id: 'ErrorResponse' },
)

/** The error replies every authenticated route may give, for the OpenAPI document. */
export const errorReplies = {
  400: Type.Ref('ErrorResponse'),
  401: Type.Ref('ErrorResponse'),
  403: Type.Ref('ErrorResponse'),
  404: Type.Ref('ErrorResponse'),
  409: Type.Ref('ErrorResponse'),
}
