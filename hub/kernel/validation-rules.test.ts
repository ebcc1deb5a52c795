import { describe, expect, it } from 'vitest'
import { errorRuleKeys } from './error-rules.ts'
import { ruleOfIssue, validationDetails } from './validation-rules.ts'

describe('validation rules', () => {
  it('name a defined rule for every JSON Schema keyword, unknown ones as value.invalid', () => {
    const keywords = ['required', 'additionalProperties', 'type', 'enum', 'minLength', 'maxLength']
    const more = ['minItems', 'maxItems', 'uniqueItems', 'minimum', 'maximum', 'exclusiveMinimum']
    const rest = ['exclusiveMaximum', 'multipleOf', 'pattern', 'format', 'const', 'not', 'if']
    for (const keyword of [...keywords, ...more, ...rest])
      expect(errorRuleKeys).toContain(ruleOfIssue(keyword, {}).rule)
    expect(ruleOfIssue('const', {})).toEqual({ rule: 'value.invalid', params: { keyword: 'const' } })
  })

  it('carry the validator’s parameters under the rule’s names', () => {
    expect(ruleOfIssue('maxLength', { limit: 64 })).toEqual({
      rule: 'string.maxLength',
      params: { limit: '64' },
    })
    expect(ruleOfIssue('enum', { allowedValues: ['a', 'b'] })).toEqual({
      rule: 'value.oneOf',
      params: { values: 'a, b' },
    })
    expect(ruleOfIssue('format', { format: 'uuid' }).params).toEqual({ format: 'uuid' })
    expect(ruleOfIssue('type', { type: 'string,null' }).params).toEqual({ type: 'string,null' })
  })

  it('turn Ajv issues into one detail per field and message, with the rule beside the words', () => {
    const details = validationDetails('body', [
      { instancePath: '', keyword: 'required', params: { missingProperty: 'code' } },
      { instancePath: '', keyword: 'required', params: { missingProperty: 'code' } },
      { instancePath: '/floor', keyword: 'anyOf', params: {} },
      { instancePath: '/floor', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
    ])
    expect(details).toEqual([
      { field: 'body.code', rule: 'field.required', params: {}, message: 'is required' },
      { field: 'body.floor', rule: 'value.type', params: { type: 'integer' }, message: 'must be integer' },
    ])
  })
})
