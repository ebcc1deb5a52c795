/**
 * An amount of money in Chinese capital numerals (中文大写金额), as written on invoices, receipts and
 * bank forms. Rules followed (中国人民银行《支付结算办法》附件一《正确填写票据和结算凭证的基本规定》):
 *
 * - Digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟, sections 万 亿, then 元 角 分. The financial form
 *   always writes the leading 壹 of 拾 (10 → 壹拾元, 110 → 壹佰壹拾元).
 * - 到"元"为止的，在"元"之后应写"整"；在"角"之后可以不写"整"；有"分"的，"分"后面不写"整".
 *   Decided here: 整 after 元 and also after 角 (伍角整), never after 分.
 * - (1) 阿拉伯数字中间有"0"时，大写要写"零"字: 1,409.50 → 壹仟肆佰零玖元伍角整.
 * - (2) 中间连续有几个"0"时，可以只写一个"零"字: 6,007.14 → 陆仟零柒元壹角肆分. A whole section of
 *   zeros counts as part of one run: 100,000,006 → 壹亿零陆元整.
 * - (3) 万位或元位是"0"(or a run of zeros ending there), 但千位、角位不是"0"时，可以只写一个零字，
 *   也可以不写. Decided here, as in the rule's first example (107,000.53 → 壹拾万柒仟元零伍角叁分):
 *   no 零 after 万 when the thousands digit is non-zero (壹拾万柒仟, 陆仟零叁万陆仟), and a 零 after
 *   元 when the units digit of a non-zero yuan part is 0 and the jiao is not (1,680.32 →
 *   壹仟陆佰捌拾元零叁角贰分, 10.30 → 壹拾元零叁角整).
 * - (4) 角位是"0"而分位不是"0"时，"元"后面应写"零"字: 16.08 → 壹拾陆元零捌分.
 * - Below one yuan neither 元 nor a leading 零 is written (0.05 → 伍分, 0.68 → 陆角捌分); zero is
 *   零元整. Past 亿 the 亿 part is itself written with 万 (1,2345,0000,0000 → 壹万贰仟叁佰肆拾伍亿),
 *   so 10^12 is 壹万亿. A negative amount gets the prefix 负.
 *
 * The amount is text with at most two decimal places, up to 9,999,999,999,999.99 in magnitude; no
 * floating point is involved.
 */

const DIGITS = '零壹贰叁肆伍陆柒捌玖'
const PLACES = ['仟', '佰', '拾', ''] as const
const AMOUNT = /^(-?)(\d+)(?:\.(\d{1,2}))?$/
const MAX_YUAN = 9_999_999_999_999n

function digit(d: number): string {
  return DIGITS[d]!
}

/** 1..9999 without any leading 零; inner runs of zeros become one 零, trailing zeros nothing. */
function section(n: number): string {
  const text = String(n).padStart(4, '0')
  let out = ''
  let zero = false
  for (let p = 0; p < 4; p++) {
    const d = Number(text[p])
    if (d === 0) {
      zero = out !== ''
    } else {
      if (zero) out += '零'
      out += digit(d) + PLACES[p]
      zero = false
    }
  }
  return out
}

/** 1..9,999,999,999,999 yuan, without the 元. */
function integerPart(yuan: bigint): string {
  const groups: [number, string][] = [
    [Number(yuan / 1_000_000_000_000n), '万'], // 万亿: the 亿 is written with the next section
    [Number((yuan / 100_000_000n) % 10_000n), '亿'],
    [Number((yuan / 10_000n) % 10_000n), '万'],
    [Number(yuan % 10_000n), ''],
  ]
  let out = ''
  let zeroRun = false
  groups.forEach(([n, unit], i) => {
    if (n === 0) {
      if (out !== '') zeroRun = true
      // 壹万亿: the 亿 section is empty but the 亿 still belongs after the 万.
      if (i === 1 && out !== '') out += '亿'
      return
    }
    // A zero before this section: a whole section of zeros, or leading zeros (< 1000) in this one.
    if (out !== '' && (zeroRun || n < 1000)) out += '零'
    out += section(n) + unit
    zeroRun = false
  })
  return out
}

export function rmbCapitals(amount: string): string {
  if (typeof amount !== 'string') throw new TypeError(`amount must be a string, got ${typeof amount}`)
  const m = AMOUNT.exec(amount)
  if (!m) {
    throw new RangeError(`not an amount with at most 2 decimal places: ${JSON.stringify(amount)}`)
  }
  const yuan = BigInt(m[2]!)
  if (yuan > MAX_YUAN) throw new RangeError(`amount out of range (max 9999999999999.99): ${amount}`)
  const cents = (m[3] ?? '').padEnd(2, '0')
  const jiao = Number(cents[0])
  const fen = Number(cents[1])
  if (yuan === 0n && jiao === 0 && fen === 0) return '零元整'

  let out = m[1] === '-' ? '负' : ''
  if (yuan > 0n) out += `${integerPart(yuan)}元`
  if (jiao === 0 && fen === 0) return `${out}整`
  if (jiao === 0) {
    // Rule (4): 元 then 零 then 分.
    return `${out}${yuan > 0n ? '零' : ''}${digit(fen)}分`
  }
  // Rule (3), decided: 零 after 元 when the units digit of the yuan is 0.
  if (yuan > 0n && yuan % 10n === 0n) out += '零'
  out += `${digit(jiao)}角`
  return fen === 0 ? `${out}整` : `${out}${digit(fen)}分`
}
