/**
 * The shortest decimal that is the same float32: a device's REAL 14.8 arrives as the float32
 * nearest to it, 14.800000190734863 as a double. Widening that to a double invents digits the
 * device never had; the shortest decimal that rounds back to the same float32 is what it sent.
 */
export function float32Decimal(value: number): number {
  if (!Number.isFinite(value)) return value
  const single = Math.fround(value)
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits))
    if (Math.fround(candidate) === single) return candidate
  }
  return single
}
