import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, type ErrorDetail } from './api-error.ts'
import { fromDatabaseError } from './database-error.ts'

interface ValidationIssue {
  instancePath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
}

/** `/area_m2/0` → `body.area_m2.0`; required and unknown keys name the key itself. */
function fieldOf(context: string, issue: ValidationIssue): string {
  const path = issue.instancePath.split('/').filter(Boolean)
  if (issue.keyword === 'required' && typeof issue.params.missingProperty === 'string') {
    path.push(issue.params.missingProperty)
  }
  if (issue.keyword === 'additionalProperties' && typeof issue.params.additionalProperty === 'string') {
    path.push(issue.params.additionalProperty)
  }
  return [context, ...path].join('.')
}

function messageOf(issue: ValidationIssue): string {
  if (issue.keyword === 'additionalProperties') return 'unknown field'
  if (issue.keyword === 'required') return 'is required'
  if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) {
    return `must be one of ${issue.params.allowedValues.join(', ')}`
  }
  return issue.message ?? issue.keyword
}

export function validationDetails(context: string, issues: readonly ValidationIssue[]): ErrorDetail[] {
  const seen = new Set<string>()
  const details: ErrorDetail[] = []
  for (const issue of issues) {
    // anyOf branches repeat each other's complaints; one line per field is enough.
    if (issue.keyword === 'anyOf') continue
    const detail = { field: fieldOf(context, issue), message: messageOf(issue) }
    const key = `${detail.field}|${detail.message}`
    if (!seen.has(key)) details.push(detail)
    seen.add(key)
  }
  return details
}

export function handleError(
  error: FastifyError | ApiError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const fastifyError = error as FastifyError & { validationContext?: string }
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
  } else if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    apiError = new ApiError('EH_ERR_UNSUPPORTED_MEDIA', error.message, [
      { field: 'headers.content-type', message: 'unsupported' },
    ])
  } else if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    apiError = new ApiError('EH_ERR_PAYLOAD_TOO_LARGE', error.message, [
      { field: 'body', message: 'too large' },
    ])
  } else if (fastifyError.statusCode && fastifyError.statusCode < 500) {
    apiError = new ApiError('EH_ERR_VALIDATION', error.message, [
      { field: 'request', message: error.message },
    ])
  } else {
    const mapped = fromDatabaseError(error)
    if (mapped) {
      apiError = mapped
    } else {
      request.log.error({ err: error }, 'unhandled error')
      apiError = new ApiError('EH_ERR_INTERNAL', 'internal error; the hub log has the details')
    }
  }
  return reply
    .status(apiError.statusCode)
    .send({ error: apiError.code, message: apiError.message, details: apiError.details })
}
