import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Outbox } from './outbox.ts'

const repoRoot = join(import.meta.dirname, '..', '..')
const child = join(import.meta.dirname, 'outbox-kill-child.ts')

interface Run {
  opened: number
  appended: number[]
  ackRequested: number
  ackDone: number
}

/** Runs the child until it has printed `appends` appends, then SIGKILLs it mid-flight. */
function runAndKill(dir: string, appends: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    // `--import tsx` is resolved from cwd: the repository's own tsx, as in production.
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const run: Run = { opened: 0, appended: [], ackRequested: 0, ackDone: 0 }
    let buffered = ''
    let stderr = ''
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    proc.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const [kind, n] = line.split(' ')
        const seq = Number(n)
        if (kind === 'O') run.opened = seq
        if (kind === 'A') run.appended.push(seq)
        if (kind === 'k') run.ackRequested = seq
        if (kind === 'K') run.ackDone = seq
      }
      if (run.appended.length >= appends) proc.kill('SIGKILL')
    })
    proc.on('error', reject)
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(run)
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
}

describe('Outbox under SIGKILL', () => {
  it('keeps every batch whose append resolved, once and in order, and continues the seq', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'estatehub-outbox-kill-')), 'outbox')
    let highest = 0
    for (const appends of [40, 90, 65]) {
      const run = await runAndKill(dir, appends + Math.floor(Math.random() * 20))
      expect(run.opened, 'the child continued the seq of the last run').toBe(highest)
      const outbox = await Outbox.open(dir, { maxBatches: 100_000, maxBytes: 256 * 1024 * 1024 })
      const pending = outbox.pending().map((b) => b.seq)
      expect(pending, 'strictly increasing').toEqual([...new Set(pending)].sort((a, b) => a - b))
      const mustHave = run.appended.filter((s) => s > run.ackRequested)
      expect(pending.filter((s) => s > run.ackRequested)).toEqual(expect.arrayContaining(mustHave))
      expect(
        pending.every((s) => s > run.ackDone),
        'nothing acked comes back',
      ).toBe(true)
      const lastPrinted = run.appended.at(-1)!
      // At most the one append that was in flight when the kill came is there unannounced.
      expect(outbox.lastSeq === lastPrinted || outbox.lastSeq === lastPrinted + 1).toBe(true)
      for (const b of outbox.pending()) expect(b.readings[0]!.v).toBeTypeOf('number')
      highest = outbox.lastSeq
      await outbox.close()
    }
  }, 60_000)
})
