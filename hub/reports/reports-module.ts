import { registerAlarmReportRoutes } from '../alarms/alarm-report-routes.ts'
import { registerReportRoutes } from '../billing/report-routes.ts'
import type { HubModule } from '../kernel/hub-module.ts'

/**
 * Reports at estate, company and group level as JSON, CSV and XLSX. Each report's query lives
 * with the domain whose tables it reads (billing/reports, alarms/reports); the scope, the
 * as-of instant and the export are shared here.
 */
export const reportsModule: HubModule = {
  name: 'reports',
  tags: [{ name: 'reports', description: 'Finance, alarm, repair and access reports' }],
  routes(app, db) {
    registerReportRoutes(app, db)
    registerAlarmReportRoutes(app, db)
  },
}
