import type { HubModule } from '../kernel/hub-module.ts'
import { notificationChannelResource } from './notification-channel-resource.ts'
import { registerNotificationRoutes } from './notification-routes.ts'

/**
 * Notification channels (webhook, e-mail) and the outbox of deliveries. The dispatcher that
 * sends them belongs to the running hub; `dispatcher` is poked when a delivery is retried.
 */
export function notifyModule(dispatcher?: { poke(): void }): HubModule {
  return {
    name: 'notify',
    tags: [{ name: 'notifications', description: 'Channels and the deliveries sent through them' }],
    resources: [notificationChannelResource],
    routes: (app, db) => registerNotificationRoutes(app, db, dispatcher),
  }
}
