import { describe, expect, it } from 'vitest'
import { rmbCapitals } from './rmb-capitals.ts'

describe('rmbCapitals', () => {
  it.each([
    // zero and amounts below one yuan: no 元, no leading 零
    ['0', '零元整'],
    ['0.00', '零元整'],
    ['-0.00', '零元整'],
    ['0.01', '壹分'],
    ['0.05', '伍分'],
    ['0.10', '壹角整'],
    ['0.5', '伍角整'],
    ['0.50', '伍角整'],
    ['0.68', '陆角捌分'],
  ])('%s → %s (below one yuan)', (amount, expected) => {
    expect(rmbCapitals(amount)).toBe(expected)
  })

  it.each([
    // 整 after 元 and after 角, never after 分
    ['1', '壹元整'],
    ['1.00', '壹元整'],
    ['1.20', '壹元贰角整'],
    ['1.23', '壹元贰角叁分'],
    // rule (4): 角 is 0 and 分 is not → 元零X分
    ['1.05', '壹元零伍分'],
    ['16.08', '壹拾陆元零捌分'],
    ['325.04', '叁佰贰拾伍元零肆分'],
    ['16409.02', '壹万陆仟肆佰零玖元零贰分'],
    // 10-19 in the financial form: 壹拾
    ['10', '壹拾元整'],
    ['11', '壹拾壹元整'],
    ['19.00', '壹拾玖元整'],
    ['20.00', '贰拾元整'],
    ['110', '壹佰壹拾元整'],
    ['100010', '壹拾万零壹拾元整'],
    // rule (1)/(2): zeros inside the number, one 零 per run
    ['1004.00', '壹仟零肆元整'],
    ['1409.50', '壹仟肆佰零玖元伍角整'],
    ['6007.14', '陆仟零柒元壹角肆分'],
    ['10005', '壹万零伍元整'],
    ['1000006', '壹佰万零陆元整'],
    ['100000006', '壹亿零陆元整'],
    ['100010000', '壹亿零壹万元整'],
    ['1000007000', '壹拾亿零柒仟元整'],
    // rule (3), decided: no 零 after 万 when the thousands digit is set ...
    ['105000', '壹拾万伍仟元整'],
    ['10005000', '壹仟万伍仟元整'],
    ['60036000.00', '陆仟零叁万陆仟元整'],
    // ... and 零 after 元 when the units digit is 0 but the 角 is not
    ['107000.53', '壹拾万柒仟元零伍角叁分'],
    ['1680.32', '壹仟陆佰捌拾元零叁角贰分'],
    ['10.30', '壹拾元零叁角整'],
    ['200.1', '贰佰元零壹角整'],
  ])('%s → %s', (amount, expected) => {
    expect(rmbCapitals(amount)).toBe(expected)
  })

  it.each([
    ['9999', '玖仟玖佰玖拾玖元整'],
    ['10000', '壹万元整'],
    ['10001', '壹万零壹元整'],
    ['99999999', '玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元整'],
    ['100000000', '壹亿元整'],
    ['110000000', '壹亿壹仟万元整'],
    ['999999999999', '玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元整'],
    ['1000000000000', '壹万亿元整'],
    ['1000000000001', '壹万亿零壹元整'],
    ['1000000050000', '壹万亿零伍万元整'],
    ['1000100000000', '壹万零壹亿元整'],
    ['1050000000000', '壹万零伍佰亿元整'],
    ['1234500000000', '壹万贰仟叁佰肆拾伍亿元整'],
    ['9999999999999.99', '玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分'],
  ])('%s → %s (section boundaries)', (amount, expected) => {
    expect(rmbCapitals(amount)).toBe(expected)
  })

  it.each([
    ['-0.05', '负伍分'],
    ['-10000', '负壹万元整'],
    ['-1234.56', '负壹仟贰佰叁拾肆元伍角陆分'],
    ['-9999999999999.99', '负玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分'],
  ])('%s → %s (negative)', (amount, expected) => {
    expect(rmbCapitals(amount)).toBe(expected)
  })

  it.each([
    '1.005',
    '1.000',
    '',
    'abc',
    '1,000.00',
    '1e3',
    ' 1',
    '1 ',
    '1.',
    '.5',
    '+1',
    '--1',
    '１',
    'NaN',
    '10000000000000',
    '-10000000000000.00',
  ])('rejects %j', (amount) => {
    expect(() => rmbCapitals(amount)).toThrow(RangeError)
  })

  it('rejects a non-string at run time', () => {
    expect(() => rmbCapitals(12 as unknown as string)).toThrow(TypeError)
  })

  it('keeps the written form well-formed over many amounts', () => {
    // Deterministic spread over every magnitude, many with zero runs.
    let seed = 12345n
    for (let i = 0; i < 3000; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n
      const digits = Number(seed % 13n) + 1
      let yuan = ((seed >> 8n) % 10n ** BigInt(digits)).toString()
      if (i % 3 === 0) yuan = yuan.replace(/[1-4]/g, '0') // more zeros
      const cents = ((seed >> 40n) % 100n).toString().padStart(2, '0')
      const text = rmbCapitals(`${yuan}.${cents}`)
      if (text === '零元整') continue
      expect(text).toMatch(/^[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+$/)
      expect(text).not.toMatch(/零零|零[拾佰仟万亿元角分整]|^零|分整|万万|^[拾佰仟]/)
      expect(text.endsWith('整') || text.endsWith('分')).toBe(true)
    }
  })
})
