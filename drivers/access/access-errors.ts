import type { TSchema } from 'typebox'
import { schemaIssues } from './schema-issues.ts'

/**
 * Errors of the access receiver, in the hub's shape and with the hub's codes
 * (docs/errors.md) so one client library reads both. Drivers import nothing of the hub,
 * hence this small copy rather than hub/kernel/api-error.ts.
 */
export const accessErrorStatus = {
  EH_ERR_VALIDATION: 400,
  EH_ERR_UNAUTHENTICATED: 401,
  EH_ERR_FORBIDDEN: 403,
  EH_ERR_NOT_FOUND: 404,
  EH_ERR_PAYLOAD_TOO_LARGE: 413,
  EH_ERR_UNSUPPORTED_MEDIA: 415,
  EH_ERR_INTERNAL: 500,
} as const

export type AccessErrorCode = keyof typeof accessErrorStatus

export interface FieldDetail {
  /** `body.door`, `body.events.3.credential.kind`, `headers.authorization`, `request`. */
  readonly field: string
  readonly message: string
}

export class AccessError extends Error {
  readonly code: AccessErrorCode
  readonly statusCode: number
  readonly details: readonly FieldDetail[]
  constructor(code: AccessErrorCode, message: string, details: readonly FieldDetail[] = []) {
    super(message)
    this.name = 'AccessError'
    this.code = code
    this.statusCode = accessErrorStatus[code]
    this.details = details
  }

  toBody() {
    return { error: this.code, message: this.message, details: this.details }
  }
}

/** A 400 whose message repeats the first detail, as the hub's errors do. */
export function validationError(details: readonly FieldDetail[]): AccessError {
  const first = details[0]
  return new AccessError('EH_ERR_VALIDATION', first ? `${first.field}: ${first.message}` : 'invalid', details)
}

/** One detail per offending field of `value` under `base` (`body`): `body.events.2.door`. */
export function schemaDetails(schema: TSchema, value: unknown, base: string): FieldDetail[] {
  return schemaIssues(schema, value).map((i) => ({ field: [base, ...i.path].join('.'), message: i.message }))
}
