/**
 * Helper process for outbox-kill.test.ts (not a test itself): appends batches in a loop, and
 * acks some of them so compaction runs too, printing one line per step *after* it resolved:
 * `A <seq>` appended, `k <seq>` ack requested, `K <seq>` ack durable. The test SIGKILLs it at
 * a random moment and checks the outbox against what was printed. Pipes to the parent are
 * synchronous on Linux and macOS, so a printed line was written before the next step began.
 */
import { Outbox } from './outbox.ts'

const dir = process.argv[2]
if (!dir) throw new Error('usage: outbox-kill-child.ts <dir>')
const outbox = await Outbox.open(dir, {
  maxBatches: 100_000,
  maxBytes: 256 * 1024 * 1024,
  compactMinBytes: 0,
  firstSeq: 1,
  gateway: 'gw-kill',
  session: `pid${process.pid}`,
})
process.stdout.write(`O ${outbox.lastSeq}\n`)
for (let i = 1; ; i++) {
  const readings = Array.from({ length: 1 + (i % 20) }, (_, k) => ({
    p: `meter-${k}/kwh`,
    t: Date.now(),
    v: i * 1000 + k,
    q: 'good' as const,
  }))
  const seq = await outbox.append({ readings, events: [], historical: false })
  process.stdout.write(`A ${seq}\n`)
  if (i % 7 === 0) {
    const target = seq - 3
    process.stdout.write(`k ${target}\n`)
    await outbox.ack(target)
    process.stdout.write(`K ${target}\n`)
  }
}
