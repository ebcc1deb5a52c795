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
  EH_ERR_HEADERS_TOO_LARGE: 431,
  EH_ERR_UNSUPPORTED_MEDIA: 415,
  EH_ERR_IMPORT_REJECTED: 422,
  EH_ERR_LOCKED: 429,
  EH_ERR_RATE_LIMITED: 429,
  EH_ERR_INTERNAL: 500,
  EH_ERR_STORE_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof errorCodes

/**
 * How much of a request's own text an error may echo: a value longer than this (a 60 MB cell,
 * a megabyte field name) is cut and marked with '…'. Cut here, where every error is built,
 * so no route can send a huge value back however it words its message.
 */
export const MAX_ECHO_CHARS = 200
/** Messages carry a sentence around the echoed value, and params lists of allowed values: a longer bound. */
export const MAX_MESSAGE_CHARS = 1000

export function cutText(text: string, max = MAX_ECHO_CHARS): string {
  if (text.length <= max) return text
  // Not between the two halves of a surrogate pair: the cut text must still be valid UTF-16.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max
  return `${text.slice(0, end)}…`
}

/**
 * `got` is the request's own value, cut short; other params are mostly the hub's own lists
 * (allowed values, known headers), which a client shows whole, so only a longer bound.
 */
const cutParams = (params: RuleRef['params']): RuleRef['params'] =>
  Object.fromEntries(
    Object.entries(params).map(([key, value]) => [
      key,
      typeof value === 'string'
        ? cutText(value, key === 'got' ? MAX_ECHO_CHARS : MAX_MESSAGE_CHARS)
        : // JSON has no Infinity or NaN (a "1e309" sent as a number): the reply must still serialise.
          typeof value === 'number' && !Number.isFinite(value)
          ? String(value)
          : value,
    ]),
  )

const cutDetail = (one: ErrorDetail): ErrorDetail => {
  const extra = Object.fromEntries(
    Object.entries(one).map(([key, value]) => [key, typeof value === 'string' ? cutText(value) : value]),
  )
  return {
    ...extra,
    field: cutText(one.field),
    rule: one.rule,
    params: cutParams(one.params),
    message: cutText(one.message, MAX_MESSAGE_CHARS),
  }
}

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details: readonly ErrorDetail[]
  /** The rule of the summary `message`: given, else the first detail's. */
  readonly rule: RuleRef | undefined
  constructor(code: ErrorCode, message: string, details: readonly ErrorDetail[] = [], rule?: RuleRef) {
    super(cutText(message, MAX_MESSAGE_CHARS))
    this.name = 'ApiError'
    this.code = code
    this.statusCode = errorCodes[code]
    this.details = details.map(cutDetail)
    const first = this.details[0]
    this.rule = rule
      ? { rule: rule.rule, params: cutParams(rule.params) }
      : first
        ? { rule: first.rule, params: first.params }
        : undefined
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
