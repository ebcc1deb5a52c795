import { type ErrorDetail, type RuleRef, ruleRef } from './api-error.ts'

/** One complaint of a JSON schema validator: Ajv's (routes) and TypeBox's `Value.Errors` share it. */
export interface ValidationIssue {
  instancePath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
}

const limit = (params: Record<string, unknown>) => ({ limit: String(params.limit ?? '') })

/** The rule a schema keyword breaks, with the validator's parameters under the rule's names. */
export function ruleOfIssue(keyword: string, params: Record<string, unknown>): RuleRef {
  switch (keyword) {
    case 'required':
      return ruleRef('field.required')
    case 'additionalProperties':
      return ruleRef('field.unknown')
    case 'type':
      return ruleRef('value.type', { type: String(params.type ?? '') })
    case 'enum':
      return ruleRef('value.oneOf', {
        values: Array.isArray(params.allowedValues) ? params.allowedValues.join(', ') : '',
      })
    case 'minLength':
    case 'maxLength':
      return ruleRef(`string.${keyword}`, limit(params))
    case 'minItems':
    case 'maxItems':
      return ruleRef(`array.${keyword}`, limit(params))
    case 'uniqueItems':
      return ruleRef('array.uniqueItems')
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return ruleRef(`number.${keyword}`, limit(params))
    case 'multipleOf':
      return ruleRef('number.multipleOf', { limit: String(params.multipleOf ?? params.limit ?? '') })
    case 'pattern':
      return ruleRef('string.pattern', { pattern: String(params.pattern ?? '') })
    case 'format':
      return ruleRef('string.format', { format: String(params.format ?? '') })
    default:
      // const, not, if/then, …: the message says what; the rule says only "not valid".
      return ruleRef('value.invalid', { keyword })
  }
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

/** Ajv's complaints about one part of a request (`body`, `query`, `params`), one per field and message. */
export function validationDetails(context: string, issues: readonly ValidationIssue[]): ErrorDetail[] {
  const seen = new Set<string>()
  const details: ErrorDetail[] = []
  for (const issue of issues) {
    // anyOf branches repeat each other's complaints; one line per field is enough.
    if (issue.keyword === 'anyOf') continue
    const { rule, params } = ruleOfIssue(issue.keyword, issue.params)
    const one: ErrorDetail = { field: fieldOf(context, issue), rule, params, message: messageOf(issue) }
    const key = `${one.field}|${one.message}`
    if (!seen.has(key)) details.push(one)
    seen.add(key)
  }
  return details
}
