/**
 * How every bench measures (docs/benchmarks.md § Method): each case (the measured path and its
 * baselines) runs `runs` times, interleaved — round 1 runs every case once, then round 2, … —
 * so a machine that gets busier or quieter during the bench moves all cases alike. Each sample
 * keeps the 1-minute load average at its end; the summary is median, min and max per case, and
 * ratios of medians against a named baseline.
 */
import { loadavg } from 'node:os'

export interface BenchCase {
  readonly name: string
  /** One run; returns its measure (milliseconds unless the case says `unit`). */
  readonly run: (round: number) => Promise<number>
  /** What the number is ('ms' by default; e.g. 'rows/s', where higher is better). */
  readonly unit?: string
}

export interface CaseStats {
  readonly name: string
  readonly unit: string
  readonly samples: readonly number[]
  readonly loads: readonly number[]
  readonly median: number
  readonly min: number
  readonly max: number
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const load1 = (): number => loadavg()[0]!

/** Runs the cases interleaved, `runs` rounds (at least 3), and returns their statistics. */
export async function interleave(
  cases: readonly BenchCase[],
  options: { runs?: number; between?: (round: number) => Promise<void> } = {},
): Promise<CaseStats[]> {
  const runs = Math.max(3, options.runs ?? 3)
  const samples = cases.map(() => [] as number[])
  const loads = cases.map(() => [] as number[])
  for (let round = 0; round < runs; round++) {
    for (const [i, c] of cases.entries()) {
      await options.between?.(round)
      const value = await c.run(round)
      samples[i]!.push(value)
      loads[i]!.push(load1())
      console.log(
        `  [round ${round + 1}/${runs}] ${c.name}: ${format(value)} ${c.unit ?? 'ms'}  (load ${load1().toFixed(2)})`,
      )
    }
  }
  return cases.map((c, i) => ({
    name: c.name,
    unit: c.unit ?? 'ms',
    samples: samples[i]!,
    loads: loads[i]!,
    median: median(samples[i]!),
    min: Math.min(...samples[i]!),
    max: Math.max(...samples[i]!),
  }))
}

function format(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2)
}

/** The summary table: one line per case, then each case's median as a ratio of the baseline's. */
export function printStats(title: string, stats: readonly CaseStats[], baseline?: string): void {
  console.log(`\n${title}`)
  console.log('  case | median | min | max | unit | load avg (1 min) during runs')
  for (const s of stats)
    console.log(
      `  ${s.name} | ${format(s.median)} | ${format(s.min)} | ${format(s.max)} | ${s.unit} | ${s.loads.map((l) => l.toFixed(2)).join(', ')}`,
    )
  const base = baseline === undefined ? undefined : stats.find((s) => s.name === baseline)
  if (base)
    for (const s of stats)
      if (s !== base)
        console.log(`  ratio ${s.name} / ${base.name}: ${(s.median / base.median).toFixed(2)} (medians)`)
}
