import type { HubModule } from '../kernel/hub-module.ts'
import { registerOverviewRoutes } from './overview-routes.ts'

/** The console's first page: one answer with the estate's money, meters, alarms and orders. */
export const overviewModule: HubModule = {
  name: 'overview',
  tags: [{ name: 'overview', description: "An estate's or group's state at a glance" }],
  routes: registerOverviewRoutes,
}
