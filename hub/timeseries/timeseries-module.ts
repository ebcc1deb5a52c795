import type { HubModule } from '../kernel/hub-module.ts'
import { LiveFeed } from './live-feed.ts'
import { registerLiveRoutes } from './live-routes.ts'
import { registerSeriesRoutes } from './series-routes.ts'

/** Readings over time, latest values, and the live stream of committed readings. */
export function timeseriesModule(live: LiveFeed = new LiveFeed()): HubModule {
  return {
    name: 'timeseries',
    tags: [{ name: 'timeseries', description: 'Readings in buckets, latest values, the live stream' }],
    routes(app, db) {
      registerSeriesRoutes(app, db)
      registerLiveRoutes(app, db, live)
    },
  }
}
