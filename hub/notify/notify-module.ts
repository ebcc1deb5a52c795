import type { HubModule } from '../kernel/hub-module.ts'
import { notificationChannelResource } from './notification-channel-resource.ts'
import type { NotificationDispatcher } from './notification-dispatcher.ts'
import { registerNotificationRoutes } from './notification-routes.ts'

/**
 * Notification channels (webhook, e-mail) and the outbox of deliveries. `dispatcher` sends them:
 * poked when a delivery is retried; when it is the hub's own dispatcher, it runs as the
 * module's job (a test app passes only something to poke, or nothing).
 */
export function notifyModule(dispatcher?: { poke(): void } | NotificationDispatcher): HubModule {
  const runs = dispatcher && 'start' in dispatcher ? dispatcher : undefined
  return {
    name: 'notify',
    tags: [{ name: 'notifications', description: 'Channels and the deliveries sent through them' }],
    resources: [notificationChannelResource],
    routes: (app, db) => registerNotificationRoutes(app, db, dispatcher),
    ...(runs
      ? {
          // The timer's poll on one hub at a time; pokes on every hub (NotificationDispatcher.start).
          jobs: ({ log, lease }) => {
            const polling = lease('notification dispatcher')
            return [
              {
                name: 'notification dispatcher',
                start: () => runs.start(log, polling),
                async stop() {
                  await runs.stop()
                  await polling
                    .release()
                    .catch((error: unknown) =>
                      log.warn({ err: (error as Error).message }, 'notifications: poll lease not released'),
                    )
                },
              },
            ]
          },
        }
      : {}),
  }
}
