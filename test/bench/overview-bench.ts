/**
 * The console's overview (GET /api/v1/overview) on the demo estate (npm run bench), on the
 * embedded store (PGlite), as `npm start` builds it: the demo seed, meter history covering last
 * month (hourly, as the demo generates it), the fee configuration and last month billed,
 * approved and partly paid. Then the overview of the estate and of its group, each asked
 * REPEATS times after a first request (timed apart: it warms the statements). The tests print
 * one such time (test/demo-billing.int.test.ts); this measures the distribution against the
 * promise that it answers in well under a second.
 */
import { buildApp } from '../../hub/app/build-app.ts'
import { migrateHub } from '../../hub/app/hub-migrations.ts'
import { createUser, grantRole } from '../../hub/auth/user-accounts.ts'
import { backfillDemo, daysCoveringLastPeriod } from '../../hub/demo/demo-backfill.ts'
import { billDemoPeriod, demoFinanceUser, seedDemoFees } from '../../hub/demo/demo-billing.ts'
import { DEMO_GATEWAY_CODE, seedDemo } from '../../hub/demo/seed-demo.ts'
import { PointDirectory } from '../../hub/ingest/point-directory.ts'
import { ReadingPartitions } from '../../hub/ingest/reading-partitions.ts'
import { loadSettings } from '../../hub/metering/meter-read-inputs.ts'
import { openStore } from '../../hub/store/open-store.ts'

const REPEATS = 20
const TARGET_MS = 1_000
const PASSWORD = 'overview-bench-password-1'

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const store = await openStore({ dataDir: 'memory://' })
const prepared = performance.now()
await migrateHub(store.db)
const db = store.db
const seed = await seedDemo(db)
const gateway = await new PointDirectory(db).gateway(DEMO_GATEWAY_CODE)
const partitions = new ReadingPartitions(db)
await partitions.load()
const settings = await loadSettings(db, seed.estateId)
const days = daysCoveringLastPeriod(Date.now(), settings.timeZone, settings.cutoffDay)
const backfill = await backfillDemo(db, { estateId: seed.estateId, gateway: gateway!, partitions, days })
const period = backfill.periods.at(-1)!.period
const finance = await demoFinanceUser(db, seed.estateId)
await seedDemoFees(db, seed.estateId)
const billing = await billDemoPeriod(db, { estateId: seed.estateId, period, financeUserId: finance.userId })
const estate = await db
  .selectFrom('orgNodes as e')
  .innerJoin('orgNodes as c', 'c.id', 'e.parentId')
  .select('c.parentId')
  .where('e.id', '=', seed.estateId)
  .executeTakeFirstOrThrow()
const groupId = estate.parentId!

const app = await buildApp({ store })
await app.ready()
const viewer = await createUser(db, { username: 'overview-bench', password: PASSWORD })
await grantRole(db, viewer.id, 'viewer', groupId, null)
const login = await app.inject({
  method: 'POST',
  url: '/api/v1/auth/login',
  payload: { username: 'overview-bench', password: PASSWORD },
})
const token = login.json().token as string
console.log(
  `Overview on the demo estate (PGlite): ${days} days of hourly history, ${period} billed (${billing.run.lines} lines, ${billing.payments} payments); prepared in ${((performance.now() - prepared) / 1000).toFixed(0)} s`,
)

let failed = 0
async function timed(nodeId: string): Promise<number> {
  const started = performance.now()
  const response = await app.inject({
    method: 'GET',
    url: `/api/v1/overview?nodeId=${nodeId}`,
    headers: { authorization: `Bearer ${token}` },
  })
  const ms = performance.now() - started
  if (response.statusCode !== 200) failed++
  return ms
}

for (const [name, nodeId] of [
  ['estate', seed.estateId],
  ['group', groupId],
] as const) {
  const first = await timed(nodeId)
  const times: number[] = []
  for (let i = 0; i < REPEATS; i++) times.push(await timed(nodeId))
  times.sort((a, b) => a - b)
  const p99 = percentile(times, 99)
  console.log(
    `  ${name}: first ${first.toFixed(0)} ms; then ${REPEATS} requests p50 ${percentile(times, 50).toFixed(0)} ms   p99 ${p99.toFixed(0)} ms   max ${times.at(-1)!.toFixed(0)} ms   (target < ${TARGET_MS} ms: ${Math.max(first, p99) < TARGET_MS ? 'met' : 'NOT met'})`,
  )
}
await app.close()
await store.close()
if (failed > 0) {
  console.log(`  ${failed} requests did not answer 200`)
  process.exitCode = 1
}
