/**
 * Access-controller event path (npm run bench): the simulated controller POSTs one forced-door
 * event at a time over real HTTP on loopback to the gateway's access receiver; latency is from
 * the POST to the receiver handing the DeviceEvent on (what the gateway then batches). After a
 * warm-up request (a controller on site opened its connection long ago). Baseline, interleaved:
 * the same POSTs from the same client to a bare node:http server that answers 200 at once (the
 * floor of one request on loopback). Each run sends EVENTS requests and measures their p99; 3
 * runs each (test/bench/bench-runs.ts), median/min/max with the load average. Target: p99 under
 * 100 ms.
 */
import { createServer } from 'node:http'
import { startAccessReceiver } from '../../drivers/access/access-receiver.ts'
import { createAccessControllerSim } from '../../drivers/sim/access-controller-sim.ts'
import { interleave, printStats } from './bench-runs.ts'

const EVENTS = 500
const TARGET_P99_MS = 100

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const token = 'bench-token-0123456789abcdef'
let arrived: ((at: number) => void) | undefined
const receiver = await startAccessReceiver({
  host: '127.0.0.1',
  port: 0,
  controllers: [{ id: 'ctl-bench', token, device: 'access-bench' }],
  onEvent: async () => {
    arrived?.(performance.now())
  },
})
const sim = createAccessControllerSim({
  url: `http://127.0.0.1:${receiver.port}`,
  controllerId: 'ctl-bench',
  token,
})
// The floor: the controller's request to a server that does nothing but answer.
const bare = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    arrived?.(performance.now())
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
})
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve))
const bareSim = createAccessControllerSim({
  url: `http://127.0.0.1:${(bare.address() as { port: number }).port}`,
  controllerId: 'ctl-bench',
  token,
})
await sim.granted('warm-up')
await bareSim.granted('warm-up')

let refused = 0
const p50s: Record<string, number[]> = { receiver: [], bare: [] }
async function events(which: 'receiver' | 'bare'): Promise<number> {
  const client = which === 'receiver' ? sim : bareSim
  const latencies: number[] = []
  for (let i = 0; i < EVENTS; i++) {
    const event = new Promise<number>((resolve) => {
      arrived = resolve
    })
    const started = performance.now()
    if ((await client.forced(`door-${i % 20}`)) !== 200) refused++
    latencies.push((await event) - started)
  }
  latencies.sort((a, b) => a - b)
  p50s[which]!.push(percentile(latencies, 50))
  return percentile(latencies, 99)
}

const stats = await interleave([
  { name: `access receiver: p99 of ${EVENTS} POST → DeviceEvent`, run: () => events('receiver') },
  { name: `bare node:http server: p99 of ${EVENTS} POSTs`, run: () => events('bare') },
])
await receiver.close()
await new Promise((resolve) => bare.close(resolve))

printStats(
  `Access receiver over HTTP on loopback: ${EVENTS} forced-door events per run, one request each, in turn`,
  stats,
  `bare node:http server: p99 of ${EVENTS} POSTs`,
)
const p99 = stats[0]!.median
console.log(
  `  p50 per run: receiver ${p50s.receiver!.map((v) => v.toFixed(1)).join(', ')} ms; bare ${p50s.bare!.map((v) => v.toFixed(1)).join(', ')} ms`,
)
console.log(
  `  target p99 < ${TARGET_P99_MS} ms (median of runs): ${p99 < TARGET_P99_MS ? 'met' : 'NOT met'} (${p99.toFixed(1)} ms)`,
)
if (refused > 0) {
  console.log(`  refused: ${refused}`)
  process.exitCode = 1
}
