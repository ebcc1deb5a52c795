/**
 * Access-controller event path (npm run bench): the simulated controller POSTs one forced-door
 * event at a time over real HTTP on loopback to the gateway's access receiver; latency is from
 * the POST to the receiver handing the DeviceEvent on (what the gateway then batches). After a
 * warm-up request (a controller on site opened its connection long ago). The tests print one
 * such time; this measures the distribution. Target: p99 under 100 ms.
 */
import { startAccessReceiver } from '../../drivers/access/access-receiver.ts'
import { createAccessControllerSim } from '../../drivers/sim/access-controller-sim.ts'

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
await sim.granted('warm-up')

const latencies: number[] = []
let refused = 0
for (let i = 0; i < EVENTS; i++) {
  const event = new Promise<number>((resolve) => {
    arrived = resolve
  })
  const started = performance.now()
  if ((await sim.forced(`door-${i % 20}`)) !== 200) refused++
  latencies.push((await event) - started)
}
await receiver.close()

latencies.sort((a, b) => a - b)
const p99 = percentile(latencies, 99)
console.log(`Access receiver over HTTP on loopback: ${EVENTS} forced-door events, one request each, in turn`)
console.log(
  `  latency POST → DeviceEvent: p50 ${percentile(latencies, 50).toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   max ${latencies.at(-1)!.toFixed(1)} ms   (target p99 < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'met' : 'NOT met'})`,
)
if (refused > 0) {
  console.log(`  refused: ${refused} of ${EVENTS}`)
  process.exitCode = 1
}
