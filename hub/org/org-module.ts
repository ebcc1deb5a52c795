import type { HubModule } from '../kernel/hub-module.ts'
import { registerOrgRoutes } from './org-routes.ts'

/** The organisation tree: group → company → estate. */
export const orgModule: HubModule = {
  name: 'org',
  tags: [{ name: 'organisation', description: 'Groups, companies and estates' }],
  permissions: ['org.write'],
  routes: registerOrgRoutes,
}
