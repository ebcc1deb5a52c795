import { describe, expect, it } from 'vitest'
import { float32Decimal } from './float32-decimal.ts'

describe('float32 to its shortest decimal', () => {
  it('gives back what the device meant, not the widened double', () => {
    expect(float32Decimal(Math.fround(14.8))).toBe(14.8)
    expect(float32Decimal(Math.fround(0.1))).toBe(0.1)
    expect(float32Decimal(Math.fround(-273.15))).toBe(-273.15)
    expect(float32Decimal(Math.fround(1234.5678))).toBe(1234.5677)
  })
  it('keeps every float32 exactly: the result rounds back to the same single', () => {
    for (const x of [16_777_217, 3.4028234663852886e38, 1.401298464324817e-45, 0, -0.5, 98765.4321]) {
      const single = Math.fround(x)
      expect(Math.fround(float32Decimal(single))).toBe(single)
    }
  })
  it('leaves non-finite values alone', () => {
    expect(float32Decimal(Number.NaN)).toBeNaN()
    expect(float32Decimal(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY)
  })
})
