/**
 * Number text as the hub sends it, made readable without float arithmetic: money and
 * readings stay exact decimal strings (issue 7: money exactly as the hub sends it).
 */

/** "136255.35" → "136,255.35", "-1234" → "-1,234": the integer part grouped in threes. */
export function groupDigits(text: string): string {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text)
  if (!match) return text
  const [, sign = '', whole = '', fraction = ''] = match
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction}`
}

/** Money as the hub sends it ("121493.77"), with the yuan sign and grouped digits. */
export function yuan(text: string): string {
  return `¥${groupDigits(text)}`
}

/**
 * A ratio as a percentage by moving the decimal point two places: "0.1083" → "10.83",
 * "1.0000" → "100.00", "0.0005" → "0.05". Exact: no float.
 */
export function ratioToPercent(rate: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(rate)
  if (!match) return rate
  const [, sign = '', whole = '', fraction = ''] = match
  const padded = fraction.padEnd(2, '0')
  const integer = `${whole}${padded.slice(0, 2)}`.replace(/^0+(?=\d)/, '')
  const rest = padded.slice(2)
  return `${sign}${integer}${rest ? `.${rest}` : ''}`
}
