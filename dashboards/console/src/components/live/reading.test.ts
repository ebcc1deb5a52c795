import { describe, expect, it } from 'vitest'
import { readable } from './reading.ts'

describe('a reading as shown', () => {
  it('drops float32 noise, keeps exact decimals as sent', () => {
    expect(readable('14.800000190734863')).toBe('14.8')
    expect(readable('-3.299999952316284')).toBe('-3.3')
    expect(readable('14.5')).toBe('14.5')
    expect(readable('1234.560')).toBe('1234.560')
    expect(readable('117.125')).toBe('117.125')
    expect(readable('2')).toBe('2')
  })
})
