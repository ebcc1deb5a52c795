import type { HubModule } from '../kernel/hub-module.ts'
import { registerMeterReadRoutes } from './meter-read-routes.ts'
import { meterReadSchedulerJob } from './meter-read-scheduler.ts'
import { meterReplacementResource } from './meter-replacement-resource.ts'
import { registerMeterReplacementRoutes } from './meter-replacement-routes.ts'
import { meterResource } from './meter-resource.ts'

/** Meters, their replacements, and the month's meter reads that fill themselves. */
export const meteringModule: HubModule = {
  name: 'metering',
  tags: [
    { name: 'metering', description: 'Meters, replacements and consumption' },
    { name: 'meter reads', description: 'Meter reads at the cut-off: review, approve, override, estimate' },
  ],
  permissions: ['meters.write', 'meterReads.review', 'meterReads.approve'],
  resources: [meterResource, meterReplacementResource],
  routes(app, db) {
    registerMeterReplacementRoutes(app, db)
    registerMeterReadRoutes(app, db)
  },
  jobs: (context) => [meterReadSchedulerJob(context)],
}
