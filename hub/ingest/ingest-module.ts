import type { HubModule } from '../kernel/hub-module.ts'
import { registerIngestRoutes } from './ingest-routes.ts'

/**
 * What gateways sent that the hub could not use (dead letters, unmatched readings). The broker
 * and the commit path are started by the running hub (start-ingest.ts), not by the app.
 */
export const ingestModule: HubModule = {
  name: 'ingest',
  tags: [{ name: 'ingest', description: 'Dead letters and unmatched readings' }],
  routes: registerIngestRoutes,
}
