import { describe, expect, it } from 'vitest'
import { groupDigits, ratioToPercent, yuan } from './format.ts'

describe('overview number text', () => {
  it('groups digits without touching the decimals', () => {
    expect(groupDigits('136255.35')).toBe('136,255.35')
    expect(groupDigits('-1234')).toBe('-1,234')
    expect(groupDigits('999.999999')).toBe('999.999999')
    expect(groupDigits('0.10')).toBe('0.10')
    expect(groupDigits('n/a')).toBe('n/a')
    expect(yuan('121493.77')).toBe('¥121,493.77')
  })

  it('moves a ratio’s decimal point two places, exactly', () => {
    expect(ratioToPercent('0.1083')).toBe('10.83')
    expect(ratioToPercent('1.0000')).toBe('100.00')
    expect(ratioToPercent('0.0005')).toBe('0.05')
    expect(ratioToPercent('0.5')).toBe('50')
    expect(ratioToPercent('-0.0250')).toBe('-2.50')
  })
})
