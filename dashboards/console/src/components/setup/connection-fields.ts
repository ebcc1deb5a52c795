/**
 * The inputs of a device's connection, read from its protocol's JSON schema as the hub serves
 * it (GET /api/v1/device-protocols): the console names no protocol, so one added to the
 * registry gets its form with no console change.
 */

/** The subset of JSON schema the registry's connection schemas use. */
export interface JsonSchema {
  readonly type?: string
  readonly enum?: readonly (string | number | boolean)[]
  readonly minimum?: number
  readonly maximum?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly pattern?: string
  readonly description?: string
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: readonly string[]
}

export type ConnectionField =
  | { readonly key: string; readonly input: 'text'; readonly required: boolean; readonly hint?: string }
  | {
      readonly key: string
      readonly input: 'number'
      readonly required: boolean
      readonly min?: number
      readonly max?: number
      readonly hint?: string
    }
  | {
      readonly key: string
      readonly input: 'choice'
      readonly required: boolean
      readonly options: readonly (string | number | boolean)[]
      readonly hint?: string
    }
  | { readonly key: string; readonly input: 'switch'; readonly required: boolean; readonly hint?: string }

/** One field per property, required ones first, each in the schema's order. */
export function connectionFields(schema: JsonSchema): ConnectionField[] {
  const required = new Set(schema.required ?? [])
  const fields = Object.entries(schema.properties ?? {}).map(([key, property]): ConnectionField => {
    const base = {
      key,
      required: required.has(key),
      ...(property.description ? { hint: property.description } : {}),
    }
    if (property.enum) return { ...base, input: 'choice', options: property.enum }
    if (property.type === 'integer' || property.type === 'number') {
      return {
        ...base,
        input: 'number',
        ...(property.minimum === undefined ? {} : { min: property.minimum }),
        ...(property.maximum === undefined ? {} : { max: property.maximum }),
      }
    }
    if (property.type === 'boolean') return { ...base, input: 'switch' }
    return { ...base, input: 'text' }
  })
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)]
}

/** The connection to send: empty optional inputs left out, so the hub's defaults apply. */
export function connectionValue(
  fields: readonly ConnectionField[],
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    const value = values[field.key]
    if (value === undefined || value === null || value === '') continue
    out[field.key] = value
  }
  return out
}
