/**
 * Money as the hub sends it: decimal strings in yuan with up to 2 places. Sums and comparisons
 * are done exactly in fen (BigInt), never in binary floating point.
 */

const MONEY = /^-?\d{1,12}(\.\d{1,2})?$/

/** True for a yuan amount the hub accepts as typed (no sign: `Money` in the API). */
export function isMoney(text: string): boolean {
  return /^\d{1,12}(\.\d{1,2})?$/.test(text.trim())
}

/** '123.4' → 12340n fen. Throws on anything that is not a decimal with at most 2 places. */
export function toFen(text: string): bigint {
  const value = text.trim()
  if (!MONEY.test(value)) throw new RangeError(`not an amount: ${text}`)
  const negative = value.startsWith('-')
  const [whole = '0', frac = ''] = value.replace('-', '').split('.')
  const fen = BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0'))
  return negative ? -fen : fen
}

/** 12340n → '123.40'. */
export function fromFen(fen: bigint): string {
  const negative = fen < 0n
  const abs = negative ? -fen : fen
  const text = `${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
  return negative ? `-${text}` : text
}

/** Σ of the amounts, as a 2-place string. */
export function sumMoney(amounts: readonly string[]): string {
  return fromFen(amounts.reduce((sum, a) => sum + toFen(a), 0n))
}

/** '1234.5' → '¥1,234.50' (the hub's digits, grouped for reading). */
export function yuan(amount: string | null | undefined): string {
  if (amount === null || amount === undefined || amount === '') return '—'
  let text: string
  try {
    text = fromFen(toFen(amount))
  } catch {
    return amount
  }
  const negative = text.startsWith('-')
  const [whole, frac] = text.replace('-', '').split('.')
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '-' : ''}¥${grouped}.${frac}`
}

/**
 * How a payment of `amount` is spread over the ticked lines, in the order given (arrears
 * first): each line takes what is open on it until the money runs out. What is left over is
 * the prepayment (预存款) the hub will keep.
 */
export function allocate(
  amount: string,
  lines: readonly { id: string; open: string }[],
): { allocations: { receivableId: string; amount: string }[]; rest: string } {
  let left = toFen(amount)
  const allocations: { receivableId: string; amount: string }[] = []
  for (const line of lines) {
    if (left <= 0n) break
    const open = toFen(line.open)
    let take = left
    if (open < take) take = open
    if (take > 0n) allocations.push({ receivableId: line.id, amount: fromFen(take) })
    left -= take
  }
  return { allocations, rest: fromFen(left) }
}
