/**
 * Every error the API returns is one of these: a stable code, an HTTP status and details
 * naming the offending field. The error handler turns them into `{error, message, details}`.
 * docs/errors.md lists the codes.
 */
export interface ErrorDetail {
  /** Where: `body.areaM2`, `query.limit`, `params.id`, or `row 7: areaM2` for imports. */
  readonly field: string
  readonly message: string
  readonly [extra: string]: unknown
}

export const errorCodes = {
  EH_ERR_VALIDATION: 400,
  EH_ERR_UNAUTHENTICATED: 401,
  EH_ERR_FORBIDDEN: 403,
  EH_ERR_NOT_FOUND: 404,
  EH_ERR_CONFLICT: 409,
  EH_ERR_PAYLOAD_TOO_LARGE: 413,
  EH_ERR_UNSUPPORTED_MEDIA: 415,
  EH_ERR_IMPORT_REJECTED: 422,
  EH_ERR_LOCKED: 429,
  EH_ERR_INTERNAL: 500,
} as const

export type ErrorCode = keyof typeof errorCodes

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details: readonly ErrorDetail[]
  constructor(code: ErrorCode, message: string, details: readonly ErrorDetail[] = []) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.statusCode = errorCodes[code]
    this.details = details
  }
}

/** `body.x` / `query.x` / `params.x`: where in the request. */
export const notFound = (what: string, field = 'params.id') =>
  new ApiError('EH_ERR_NOT_FOUND', `${what} not found`, [{ field, message: 'no such record you may see' }])

export const forbidden = (message: string, field?: string) =>
  new ApiError('EH_ERR_FORBIDDEN', message, field ? [{ field, message }] : [])

export const invalid = (field: string, message: string) =>
  new ApiError('EH_ERR_VALIDATION', `${field}: ${message}`, [{ field, message }])

export const conflict = (field: string, message: string) =>
  new ApiError('EH_ERR_CONFLICT', `${field}: ${message}`, [{ field, message }])
