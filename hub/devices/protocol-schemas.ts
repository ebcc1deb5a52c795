import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { ApiError } from '../kernel/api-error.ts'

export { connectionSchemas, dataTypes, pointAddressSchemas } from '../../gateway/contract/index.ts'

/** Validates `value` against `schema`, naming each offending key under `field`. */
export function checkShape(schema: TSchema, value: unknown, field: string, what: string) {
  const details = [...Value.Errors(schema, value)]
    .filter((e) => e.keyword !== 'boolean' || !e.instancePath)
    .map((e) => {
      const extra = e.params as { additionalProperties?: string[]; requiredProperties?: string[] }
      const key = extra.additionalProperties?.[0] ?? extra.requiredProperties?.[0]
      const path = [field, ...e.instancePath.split('/').filter(Boolean), ...(key ? [key] : [])].join('.')
      const message = extra.additionalProperties
        ? 'unknown key'
        : extra.requiredProperties
          ? 'is required'
          : (e.message ?? 'invalid')
      return { field: path, message }
    })
  if (details.length > 0) {
    throw new ApiError('EH_ERR_VALIDATION', `${details[0]!.field}: ${details[0]!.message} (${what})`, details)
  }
}
