// Decimal: exact parsing, arithmetic, every rounding mode on both signs, and the 64-bit range.
import { describe, expect, it } from 'vitest'
import { Decimal, type Rounding } from './decimal.ts'

const d = Decimal.of
const U64_MAX = '18446744073709551615'

describe('Decimal.of', () => {
  it('parses decimal text and normalises it', () => {
    expect(d('12345.67').toString()).toBe('12345.67')
    expect(d('1000.0100').toString()).toBe('1000.01')
    expect(d('0.000').toString()).toBe('0')
    expect(d('-0.000').toString()).toBe('0')
    expect(d('-0.50').toString()).toBe('-0.5')
    expect(d('+7.25').toString()).toBe('7.25')
    expect(d('007').toString()).toBe('7')
    expect(d('0.0001').toString()).toBe('0.0001')
    expect(d('-0.0001').toString()).toBe('-0.0001')
    expect(d('100').toString()).toBe('100')
    expect(d('1200.00').scale).toBe(0)
    expect(d('12.340').scale).toBe(2)
  })

  it('accepts numbers through their shortest text, and bigints', () => {
    expect(d(0.1).toString()).toBe('0.1')
    expect(d(-2.5).toString()).toBe('-2.5')
    expect(d(-0).toString()).toBe('0')
    expect(d(123456789).toString()).toBe('123456789')
    expect(d(18446744073709551615n).toString()).toBe(U64_MAX)
    expect(d(-5n).toString()).toBe('-5')
    const x = d('1.5')
    expect(d(x)).toBe(x)
  })

  it('refuses anything that is not plain decimal text, naming the input', () => {
    for (const bad of ['', ' 1', '1 ', '1.', '.5', '1e3', '1E3', '0x10', '1,5', '--1', '+-1', 'abc', 'NaN']) {
      expect(() => d(bad), JSON.stringify(bad)).toThrow(RangeError)
    }
    expect(() => d('12a')).toThrow(/"12a"/)
    expect(() => d(Number.NaN)).toThrow(RangeError)
    expect(() => d(Number.POSITIVE_INFINITY)).toThrow(/Infinity/)
    expect(() => d(1e21)).toThrow(/1e\+21/)
    expect(() => d(1e-7)).toThrow(/1e-7/)
    expect(() => d(null as unknown as string)).toThrow(RangeError)
  })
})

describe('arithmetic', () => {
  it('adds, subtracts and multiplies exactly where doubles do not', () => {
    expect(d('0.1').plus('0.2').toString()).toBe('0.3')
    expect(d(0.1).plus(0.2).eq('0.3')).toBe(true)
    expect(d('1000').minus('0.01').toString()).toBe('999.99')
    expect(d('3.25').minus('99998.50').plus('100000').toString()).toBe('4.75')
    expect(d('1.10').times('1.10').toString()).toBe('1.21')
    expect(d('-2.5').times('4').toString()).toBe('-10')
    expect(d('0.5').minus('0.5').toString()).toBe('0')
  })

  it('stays exact across the 64-bit range and beyond', () => {
    const max = d(U64_MAX)
    expect(max.plus(1).toString()).toBe('18446744073709551616')
    expect(max.minus(U64_MAX).toString()).toBe('0')
    expect(max.times(max).toString()).toBe('340282366920938463426481119284349108225')
    expect(d('18446744073709551615.99').plus('0.01').toString()).toBe('18446744073709551616')
    expect(max.div(2, 0, 'half-up').toString()).toBe('9223372036854775808')
    expect(max.div(2, 0, 'down').toString()).toBe('9223372036854775807')
    expect(max.div(2, 1, 'down').toString()).toBe('9223372036854775807.5')
    expect(max.neg().cmp('-18446744073709551614')).toBe(-1)
  })

  it('is immutable', () => {
    const a = d('10')
    a.plus(5)
    a.neg()
    a.round(0, 'up')
    expect(a.toString()).toBe('10')
  })
})

describe('div', () => {
  it('divides once, straight to the requested scale', () => {
    expect(d(1).div(3, 4, 'half-up').toString()).toBe('0.3333')
    expect(d(2).div(3, 4, 'half-up').toString()).toBe('0.6667')
    expect(d(2).div(3, 4, 'down').toString()).toBe('0.6666')
    expect(d(-2).div(3, 4, 'half-up').toString()).toBe('-0.6667')
    expect(d(-2).div(3, 4, 'down').toString()).toBe('-0.6666')
    expect(d(2).div(-3, 4, 'up').toString()).toBe('-0.6667')
    expect(d('1.00').div('0.25', 2, 'half-up').toString()).toBe('4')
    expect(d('0.001').div('1000', 6, 'half-up').toString()).toBe('0.000001')
    expect(d('0.001').div('1000', 5, 'half-up').toString()).toBe('0')
    expect(d('7').div('2', 0, 'half-even').toString()).toBe('4')
    expect(d('5').div('2', 0, 'half-even').toString()).toBe('2')
    expect(d('120.5').times(3).div(1, 2, 'half-up').toString()).toBe('361.5')
  })

  it('refuses division by zero and bad scales', () => {
    expect(() => d(1).div(0, 2, 'half-up')).toThrow(RangeError)
    expect(() => d(1).div('0.000', 2, 'half-up')).toThrow(/division by zero/)
    expect(() => d(1).div(3, -1, 'half-up')).toThrow(RangeError)
    expect(() => d(1).div(3, 1.5, 'half-up')).toThrow(RangeError)
    expect(() => d(1).div(3, 2, 'sideways' as Rounding)).toThrow(RangeError)
  })
})

describe('round', () => {
  const cases: [string, Rounding, string][] = [
    // value, mode, at scale 0
    ['2.5', 'half-up', '3'],
    ['-2.5', 'half-up', '-3'],
    ['2.4', 'half-up', '2'],
    ['-2.4', 'half-up', '-2'],
    ['2.7', 'down', '2'],
    ['-2.7', 'down', '-2'],
    ['2.1', 'up', '3'],
    ['-2.1', 'up', '-3'],
    ['2.5', 'half-even', '2'],
    ['3.5', 'half-even', '4'],
    ['-2.5', 'half-even', '-2'],
    ['-3.5', 'half-even', '-4'],
    ['2.51', 'half-even', '3'],
    ['-0.4', 'half-up', '0'],
    ['-0.5', 'half-up', '-1'],
    ['-0.4', 'up', '-1'],
    ['7', 'up', '7'],
  ]
  for (const [value, mode, expected] of cases) {
    it(`${mode} of ${value} is ${expected}`, () => {
      expect(d(value).round(0, mode).toString()).toBe(expected)
    })
  }

  it('rounds at a scale and leaves shorter values alone', () => {
    expect(d('100.005').round(2, 'half-up').toString()).toBe('100.01')
    expect(d('100.004999').round(2, 'half-up').toString()).toBe('100')
    expect(d('100.125').round(2, 'half-even').toString()).toBe('100.12')
    expect(d('100.135').round(2, 'half-even').toString()).toBe('100.14')
    expect(d('99999.995').round(2, 'half-up').toString()).toBe('100000')
    expect(d('1.5').round(3, 'down').toString()).toBe('1.5')
  })
})

describe('comparison and sign', () => {
  it('compares across scales', () => {
    expect(d('1.50').cmp('1.5')).toBe(0)
    expect(d('1.5').cmp('1.49')).toBe(1)
    expect(d('-1.5').cmp('-1.49')).toBe(-1)
    expect(d('2').eq(2)).toBe(true)
    expect(d('2').lt('2.0001')).toBe(true)
    expect(d('2').lte('2.000')).toBe(true)
    expect(d('2').gt('1.9999')).toBe(true)
    expect(d('2').gte(2n)).toBe(true)
    expect(d('2').gt(2)).toBe(false)
  })

  it('reports sign, and negates and takes absolute values', () => {
    expect(d('0.00').isZero()).toBe(true)
    expect(d('-0.01').isNegative()).toBe(true)
    expect(Decimal.ZERO.isNegative()).toBe(false)
    expect(d('-3.2').abs().toString()).toBe('3.2')
    expect(d('3.2').abs().toString()).toBe('3.2')
    expect(d('3.2').neg().toString()).toBe('-3.2')
    expect(Decimal.ZERO.neg().toString()).toBe('0')
  })

  it('makes equal values structurally equal', () => {
    expect(d('1.50')).toEqual(d('1.5'))
    expect(d('1.50')).not.toEqual(d('1.51'))
  })
})

describe('formatting', () => {
  it('toFixed pads and rounds half-up', () => {
    expect(d('1.5').toFixed(3)).toBe('1.500')
    expect(d('1.005').toFixed(2)).toBe('1.01')
    expect(d('-1.005').toFixed(2)).toBe('-1.01')
    expect(d('-0.001').toFixed(2)).toBe('0.00')
    expect(d('12').toFixed(0)).toBe('12')
    expect(d('12.5').toFixed(0)).toBe('13')
    expect(d('0.05').toFixed(1)).toBe('0.1')
    expect(d(U64_MAX).toFixed(2)).toBe(`${U64_MAX}.00`)
  })

  it('toNumber, toJSON and template text', () => {
    expect(d('-0.5').toNumber()).toBe(-0.5)
    expect(d('12345.67').toNumber()).toBe(12345.67)
    expect(JSON.stringify({ amount: d('10.10') })).toBe('{"amount":"10.1"}')
    expect(`${d('3.140')} kWh`).toBe('3.14 kWh')
  })
})
