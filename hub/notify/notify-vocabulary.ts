/**
 * The notify domain's lists, each defined once (types, route schemas, the database CHECKs in
 * hub/store/vocabulary-checks.ts, the console). Imports nothing: the console imports it.
 */
export const notificationChannelKinds = ['webhook', 'email'] as const
export type NotificationChannelKind = (typeof notificationChannelKinds)[number]

export const notificationDeliveryStatuses = ['pending', 'sent', 'failed'] as const
export type NotificationDeliveryStatus = (typeof notificationDeliveryStatuses)[number]

/** What a channel may subscribe to; a delivery carries one. */
export const notificationTopics = ['alarm.raised', 'alarm.cleared', 'work_order.escalated'] as const
export type NotificationTopic = (typeof notificationTopics)[number]
