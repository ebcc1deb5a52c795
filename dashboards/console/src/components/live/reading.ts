/**
 * A float32 register read as a double carries noise in its tail ("14.800000190734863"): a
 * value with seven or more decimals is shown to float32's seven significant digits
 * ("14.8"); the exact text stays in the tooltip. Shorter decimals are shown as sent.
 */
export function readable(value: string): string {
  const match = /^-?(\d+)\.\d{7,}$/.exec(value)
  if (!match) return value
  const decimals = Math.max(0, 7 - (match[1]?.length ?? 0))
  return String(Number(Number(value).toFixed(decimals)))
}
