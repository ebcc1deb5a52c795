import { alarmsModule } from '../alarms/alarms-module.ts'
import { type AuthModuleOptions, authModule } from '../auth/auth-module.ts'
import { billingModule } from '../billing/billing-module.ts'
import { devicesModule } from '../devices/devices-module.ts'
import { importModule } from '../import/import-module.ts'
import { ingestModule } from '../ingest/ingest-module.ts'
import type { HubModule } from '../kernel/hub-module.ts'
import { meteringModule } from '../metering/metering-module.ts'
import type { NotificationDispatcher } from '../notify/notification-dispatcher.ts'
import { notifyModule } from '../notify/notify-module.ts'
import { orgModule } from '../org/org-module.ts'
import { overviewModule } from '../overview/overview-module.ts'
import { propertyModule } from '../property/property-module.ts'
import type { LiveFeed } from '../timeseries/live-feed.ts'
import { timeseriesModule } from '../timeseries/timeseries-module.ts'

export interface ModuleOptions {
  readonly auth?: AuthModuleOptions
  /** Committed readings for the live stream; a silent feed when absent. */
  readonly live?: LiveFeed
  /** Poked when a failed notification is put back in the queue; the hub's dispatcher runs as notify's job. */
  readonly notifications?: { poke(): void } | NotificationDispatcher
}

/**
 * Every hub domain, in the order the API document lists them. Adding a domain is one line
 * here (docs/architecture.md, "How to add a domain").
 */
export function hubModules(options: ModuleOptions = {}): readonly HubModule[] {
  return [
    authModule(options.auth),
    orgModule,
    propertyModule,
    devicesModule,
    meteringModule,
    billingModule,
    alarmsModule,
    notifyModule(options.notifications),
    importModule,
    timeseriesModule(options.live),
    overviewModule,
    ingestModule,
  ]
}
