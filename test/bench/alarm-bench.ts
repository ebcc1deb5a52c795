/**
 * Event → work order latency on the embedded stack (PGlite, the hub's own broker, the alarm
 * engine): 1,000 forced-door events at 1,000 doors, each its own batch as a gateway sends them
 * at once, paced at 100 per second; latency is from the publish to the order's creation.
 * Baseline in the same run: the same batches' publish → the hub's ack (commit done), so the
 * ratio shows what raising the alarm and the order adds to storing the event.
 */
import mqtt from 'mqtt'
import { ackTopic, batchTopic, parseAck, type UplinkBatch } from '../../gateway/contract/index.ts'
import { AlarmEngine } from '../../hub/alarms/alarm-engine.ts'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { openStore } from '../../hub/store/open-store.ts'
import { captureLog, seedSite, startTestIngest } from '../support/ingest-fixture.ts'

const EVENTS = 1_000
const PACE_MS = 10

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const store = await openStore({ dataDir: 'memory://' })
await migrateHub(store.db)
const site = await seedSite(store.db, { code: 'BENCH-ALM', points: [] })
await store.db
  .insertInto('alarmRules')
  .values({
    estateId: site.estateId,
    name: '门被强行打开',
    kind: 'event',
    eventType: 'forced',
    workOrderCategory: 'security',
    workOrderPriority: 'urgent',
  })
  .execute()
const engine = new AlarmEngine(store.db, captureLog())
const ingest = await startTestIngest(store.db, captureLog(), { inCommit: engine.inCommit })
const gateway = await mqtt.connectAsync(ingest.url, {
  clientId: site.gatewayCode,
  username: site.gatewayCode,
  password: site.secret,
  reconnectPeriod: 0,
})
const acked = new Map<number, number>()
gateway.on('message', (_t, payload) => {
  const parsed = parseAck(payload)
  if (parsed.ok) acked.set(parsed.ack.seq, performance.now())
})
await gateway.subscribeAsync(ackTopic(site.gatewayCode), { qos: 1 })

let seq = Date.now()
const batch = (events: UplinkBatch['events']): UplinkBatch => {
  seq += 1
  return {
    v: 1,
    gateway: site.gatewayCode,
    session: 'bench',
    seq,
    oldest: seq,
    sentAt: Date.now(),
    historical: false,
    readings: [],
    events,
  }
}

const sentAt = new Map<string, number>()
const seqSentAt = new Map<number, number>()
const wallStart = Date.now()
const perfStart = performance.now()
for (let i = 0; i < EVENTS; i++) {
  const door = `door-ctl/door-${String(i).padStart(4, '0')}`
  const b = batch([{ s: door, t: Date.now(), type: 'forced', d: {} }])
  sentAt.set(door, performance.now())
  seqSentAt.set(b.seq, performance.now())
  void gateway.publishAsync(batchTopic(site.gatewayCode), JSON.stringify(b), { qos: 1 })
  await new Promise((r) => setTimeout(r, PACE_MS))
}
while (!acked.has(seq)) await new Promise((r) => setTimeout(r, 5))
await engine.idle()
const orders = await store.db.selectFrom('workOrders').select(['title', 'createdAt']).execute()
const latencies: number[] = []
for (const order of orders) {
  const door = order.title.split(': ')[1]!
  // created_at is the database clock; convert the publish instant to the same wall clock.
  const published = wallStart + (sentAt.get(door)! - perfStart)
  latencies.push(order.createdAt.getTime() - published)
}
latencies.sort((a, b) => a - b)
const roundTrips = [...seqSentAt].map(([s, sent]) => acked.get(s)! - sent).sort((a, b) => a - b)
const p50 = percentile(latencies, 50)
const p99 = percentile(latencies, 99)
console.log(
  `Event → work order on the embedded stack (PGlite): ${EVENTS} forced-door events, one per batch, ${1000 / PACE_MS}/s`,
)
console.log(`  work orders created: ${orders.length} of ${EVENTS}`)
console.log(
  `  latency publish → order: p50 ${p50.toFixed(0)} ms   p99 ${p99.toFixed(0)} ms   max ${latencies.at(-1)!.toFixed(0)} ms   (target p99 < 500 ms: ${p99 < 500 ? 'met' : 'NOT met'})`,
)
console.log(
  `  baseline, the same batches published → committed and acked: p50 ${percentile(roundTrips, 50).toFixed(1)} ms   p99 ${percentile(roundTrips, 99).toFixed(1)} ms`,
)
console.log(`  ratio p50 order latency / p50 round trip: ${(p50 / percentile(roundTrips, 50)).toFixed(1)}`)
await gateway.endAsync()
await ingest.close()
await engine.idle()
await store.close()
if (orders.length !== EVENTS) process.exitCode = 1
