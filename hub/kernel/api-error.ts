import type { ErrorRule, ErrorRuleParams, ParamsArg } from './error-rules.ts'

/**
 * Every error the API returns is one of these: a stable code, an HTTP status and details
 * naming the offending field, each with a rule key and its parameters (error-rules.ts) beside
 * the English message. The error handler turns them into `{error, message, rule, params,
 * details}`. docs/errors.md lists the codes and the rules.
 */
export interface ErrorDetail {
  /** Where: `body.areaM2`, `query.limit`, `params.id`, or `row 7: areaM2` for imports. */
  readonly field: string
  /** What: a key of error-rules.ts, which a client translates with `params`. */
  readonly rule: ErrorRule
  readonly params: Readonly<Record<string, string | number>>
  readonly message: string
  readonly [extra: string]: unknown
}

/** A rule with the parameters its key requires (checked by TypeScript). */
export interface RuleRef {
  readonly rule: ErrorRule
  readonly params: Readonly<Record<string, string | number>>
}

export const ruleRef = <R extends ErrorRule>(rule: R, ...params: ParamsArg<R>): RuleRef => ({
  rule,
  params: (params[0] ?? {}) as ErrorRuleParams<R> & Record<string, string | number>,
})

/** One detail: `detail('body.amount', 'at most 2 decimal places', 'decimal.places', { max: 2 })`. */
export const detail = <R extends ErrorRule>(
  field: string,
  message: string,
  rule: R,
  ...params: ParamsArg<R>
): ErrorDetail => ({ field, ...ruleRef(rule, ...params), message })

export const errorCodes = {
  EH_ERR_VALIDATION: 400,
  EH_ERR_UNAUTHENTICATED: 401,
  EH_ERR_FORBIDDEN: 403,
  EH_ERR_NOT_FOUND: 404,
  EH_ERR_CONFLICT: 409,
  EH_ERR_PAYLOAD_TOO_LARGE: 413,
  EH_ERR_URI_TOO_LONG: 414,
  EH_ERR_UNSUPPORTED_MEDIA: 415,
  EH_ERR_IMPORT_REJECTED: 422,
  EH_ERR_LOCKED: 429,
  EH_ERR_INTERNAL: 500,
  EH_ERR_STORE_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof errorCodes

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details: readonly ErrorDetail[]
  /** The rule of the summary `message`: given, else the first detail's. */
  readonly rule: RuleRef | undefined
  constructor(code: ErrorCode, message: string, details: readonly ErrorDetail[] = [], rule?: RuleRef) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.statusCode = errorCodes[code]
    this.details = details
    const first = details[0]
    this.rule = rule ?? (first ? { rule: first.rule, params: first.params } : undefined)
  }
}

/** `body.x` / `query.x` / `params.x`: where in the request. */
export const notFound = (what: string, field = 'params.id') =>
  new ApiError('EH_ERR_NOT_FOUND', `${what} not found`, [
    detail(field, 'no such record you may see', 'record.notFound', { what }),
  ])

/** A refusal of the request as a whole (no field): the rule rides on the error itself. */
export const forbidden = <R extends ErrorRule>(message: string, rule: R, ...params: ParamsArg<R>) =>
  new ApiError('EH_ERR_FORBIDDEN', message, [], ruleRef(rule, ...params))

/** A refusal naming the field it is about. */
export const forbiddenField = <R extends ErrorRule>(
  field: string,
  message: string,
  rule: R,
  ...params: ParamsArg<R>
) => new ApiError('EH_ERR_FORBIDDEN', message, [detail(field, message, rule, ...params)])

export const invalid = <R extends ErrorRule>(
  field: string,
  message: string,
  rule: R,
  ...params: ParamsArg<R>
) => new ApiError('EH_ERR_VALIDATION', `${field}: ${message}`, [detail(field, message, rule, ...params)])

export const conflict = <R extends ErrorRule>(
  field: string,
  message: string,
  rule: R,
  ...params: ParamsArg<R>
) => new ApiError('EH_ERR_CONFLICT', `${field}: ${message}`, [detail(field, message, rule, ...params)])
