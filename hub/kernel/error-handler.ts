import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, detail, ruleRef } from './api-error.ts'
import {
  fromDatabaseError,
  isStoreUnreachable,
  STORE_RETRY_AFTER_SECONDS,
  storeUnavailable,
} from './database-error.ts'
import { type ValidationIssue, validationDetails } from './validation-rules.ts'

export { validationDetails } from './validation-rules.ts'

/**
 * Fastify's own refusals (before a route runs), in our shape: each code a rule, each detail
 * naming the part of the request. Fastify's codes: fastify/lib/errors.js.
 */
function fromFastifyError(error: FastifyError): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('EH_ERR_UNSUPPORTED_MEDIA', error.message, [
        detail('headers.content-type', 'unsupported', 'request.mediaType'),
      ])
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('EH_ERR_PAYLOAD_TOO_LARGE', error.message, [
        detail('body', 'too large', 'request.bodyTooLarge'),
      ])
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('EH_ERR_VALIDATION', error.message, [
        detail('request', error.message, 'request.emptyJson'),
      ])
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('EH_ERR_VALIDATION', error.message, [
        detail('request', error.message, 'request.badJson'),
      ])
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // A path segment over Fastify's maxParamLength (100): no id is that long.
      return new ApiError('EH_ERR_URI_TOO_LONG', error.message, [
        detail('request', error.message, 'request.uriTooLong'),
      ])
    case 'FST_ERR_BAD_URL':
      return new ApiError('EH_ERR_VALIDATION', error.message, [
        detail('request', error.message, 'request.badUrl'),
      ])
    default:
      if (!error.statusCode || error.statusCode >= 500) return undefined
      // A body that is not JSON arrives as a SyntaxError with status 400 (no FST code).
      return new ApiError('EH_ERR_VALIDATION', error.message, [
        detail(
          'request',
          error.message,
          error instanceof SyntaxError ? 'request.badJson' : 'request.invalid',
        ),
      ])
  }
}

export function handleError(
  error: FastifyError | ApiError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const fastifyError = error as FastifyError & {
    validationContext?: string
    validation?: ValidationIssue[]
  }
  let apiError: ApiError
  if (error instanceof ApiError) {
    apiError = error
  } else if (fastifyError.validation) {
    // Fastify says 'querystring'; every other message of ours says 'query'.
    const context =
      fastifyError.validationContext === 'querystring' ? 'query' : (fastifyError.validationContext ?? 'body')
    const details = validationDetails(context, fastifyError.validation)
    const first = details[0]
    apiError = new ApiError(
      'EH_ERR_VALIDATION',
      first ? `${first.field}: ${first.message}` : error.message,
      details,
    )
  } else {
    const mapped = fromFastifyError(fastifyError) ?? fromDatabaseError(error)
    if (mapped) {
      apiError = mapped
    } else if (isStoreUnreachable(error)) {
      // Not the request's fault nor a bug: the database is away (restart, failover, outage).
      request.log.warn({ err: error }, 'store unavailable')
      apiError = storeUnavailable()
    } else {
      request.log.error({ err: error }, 'unhandled error')
      apiError = new ApiError(
        'EH_ERR_INTERNAL',
        'internal error; the hub log has the details',
        [],
        ruleRef('server.internal'),
      )
    }
  }
  const rule = apiError.rule ? { rule: apiError.rule.rule, params: apiError.rule.params } : {}
  if (apiError.code === 'EH_ERR_STORE_UNAVAILABLE') reply.header('retry-after', STORE_RETRY_AFTER_SECONDS)
  return reply
    .status(apiError.statusCode)
    .send({ error: apiError.code, message: apiError.message, ...rule, details: apiError.details })
}

/** No route for this method and path: the same shape, with the rule on the error itself. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?')[0] ?? request.url
  const rule = ruleRef('route.unknown', { method: request.method, path })
  return handleError(
    new ApiError('EH_ERR_NOT_FOUND', `no route ${request.method} ${path}`, [], rule),
    request,
    reply,
  )
}
