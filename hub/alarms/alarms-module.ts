import type { HubModule } from '../kernel/hub-module.ts'
import { registerAlarmReportRoutes } from './alarm-report-routes.ts'
import { alarmResources } from './alarm-rule-resource.ts'
import { alarmWatchJob } from './alarm-watch.ts'
import { registerEventRoutes } from './event-routes.ts'
import * as alarmState from './migrations/0013-alarm-state.ts'
import { slaEscalationJob } from './sla-escalation-job.ts'
import { slaPolicyResource } from './sla-policy-resource.ts'
import { registerWorkOrderRoutes } from './work-order-routes.ts'

/** Alarm rules and alarms, device events, work orders with their SLA clocks. */
export const alarmsModule: HubModule = {
  name: 'alarms',
  tags: [
    { name: 'alarms', description: 'Alarm rules and the alarms they raise' },
    { name: 'work orders', description: 'Repairs and alarm orders from registration to return visit' },
    { name: 'events', description: 'Access and device events' },
  ],
  permissions: ['workOrders.manage'],
  resources: [...alarmResources, slaPolicyResource],
  migrations: { '0013-alarm-state': alarmState },
  routes(app, db) {
    registerWorkOrderRoutes(app, db)
    registerEventRoutes(app, db)
    registerAlarmReportRoutes(app, db)
  },
  // Each on the hub holding the job's lease (hub/kernel/job-lease.ts).
  jobs: (context) => [slaEscalationJob(context), alarmWatchJob(context)],
}
