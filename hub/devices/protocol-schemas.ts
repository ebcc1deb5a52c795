import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { ProtocolProblem } from '../../gateway/contract/index.ts'
import { ApiError, type ErrorDetail, type RuleRef } from '../kernel/api-error.ts'
import { errorRules } from '../kernel/error-rules.ts'
import { ruleOfIssue } from '../kernel/validation-rules.ts'

export {
  checkPointRecord,
  connectionSchemaOf,
  dataTypes,
  pointAddressSchemaOf,
  protocolNames,
} from '../../gateway/contract/index.ts'

/**
 * A protocol's own rule broken (registry `checkRecord`), as a validation error under `body`.
 * A rule key the hub does not know (a protocol newer than its catalogue) reads `value.invalid`.
 */
export function protocolProblem(problem: ProtocolProblem): ApiError {
  const field = ['body', ...problem.path].join('.')
  const known = problem.rule !== undefined && problem.rule in errorRules
  const ref = (
    known
      ? { rule: problem.rule, params: problem.params ?? {} }
      : { rule: 'value.invalid', params: { keyword: problem.rule ?? 'protocol' } }
  ) as RuleRef
  const detail: ErrorDetail = { field, ...ref, message: problem.message }
  return new ApiError('EH_ERR_VALIDATION', `${field}: ${problem.message}`, [detail])
}

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
      return { field: path, ...ruleOfIssue(e.keyword, e.params as Record<string, unknown>), message }
    })
  if (details.length > 0) {
    throw new ApiError('EH_ERR_VALIDATION', `${details[0]!.field}: ${details[0]!.message} (${what})`, details)
  }
}
