import type { ColumnType, Generated } from 'kysely'
import type { AlarmSeverity } from '../alarms/alarms-vocabulary.ts'
import type { CreatedAt, Json, Timestamp } from '../store/database-schema.ts'
import type {
  NotificationChannelKind,
  NotificationDeliveryStatus,
  NotificationTopic,
} from './notify-vocabulary.ts'

// The notify domain's tables, added to the hub's Database type from here (docs/architecture.md,
// "How to add a domain"); created by migration 0005 of the wave-1 history.

export interface NotificationChannelTable {
  id: Generated<string>
  estateId: string
  name: string
  kind: NotificationChannelKind
  url: string | null
  /** Signs webhook bodies (HMAC-SHA256); never returned by the API nor logged. */
  secret: string | null
  recipients: Json<string[] | null>
  minSeverity: ColumnType<AlarmSeverity, AlarmSeverity | undefined, AlarmSeverity>
  topics: ColumnType<NotificationTopic[], string | undefined, string>
  /** Only alarms and orders of this department (the on-duty team); null = all. */
  department: string | null
  enabled: ColumnType<boolean, boolean | undefined, boolean>
  createdAt: CreatedAt
  updatedAt: Timestamp
}

export interface NotificationDeliveryTable {
  id: Generated<number>
  channelId: string
  topic: NotificationTopic
  payload: Json<Record<string, unknown>>
  status: ColumnType<NotificationDeliveryStatus, NotificationDeliveryStatus | undefined>
  attempts: ColumnType<number, number | undefined, number>
  nextAttemptAt: ColumnType<Date, Date | string | undefined, Date | string>
  lastError: ColumnType<string | null, string | null | undefined, string | null>
  createdAt: CreatedAt
  sentAt: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

declare module '../store/database-schema.ts' {
  interface Database {
    notificationChannels: NotificationChannelTable
    notificationDeliveries: NotificationDeliveryTable
  }
}
