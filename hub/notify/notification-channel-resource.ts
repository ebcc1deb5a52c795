import { Type } from 'typebox'
import { alarmSeverities as severities } from '../alarms/alarms-vocabulary.ts'
import { invalid } from '../kernel/api-error.ts'
import type { EstateResource, Row } from '../kernel/estate-resource.ts'
import { Id, Name, Nullable, OneOf, Timestamp } from '../kernel/schema-parts.ts'
import { jsonb } from '../store/jsonb.ts'
import { notificationChannelKinds as channelKinds, notificationTopics } from './notify-vocabulary.ts'

export { channelKinds, notificationTopics }

const Url = Type.String({
  minLength: 1,
  maxLength: 2000,
  description: 'webhook only (required): http:// or https:// address the notices are POSTed to',
})
const Secret = Type.String({
  minLength: 16,
  maxLength: 200,
  description:
    'webhook only, write-only: signs each body (x-estatehub-signature: sha256=<HMAC-SHA256 hex>); never returned, see hasSecret; null removes it',
})
const Recipients = Type.Array(Type.String({ minLength: 3, maxLength: 254 }), {
  minItems: 1,
  maxItems: 20,
  description: 'email only (required): 1 to 20 addresses',
})
const Topics = Type.Array(OneOf(notificationTopics), {
  minItems: 1,
  maxItems: notificationTopics.length,
  uniqueItems: true,
  description: 'what the channel receives (default alarm.raised, work_order.escalated)',
})
const Department = Type.String({
  minLength: 1,
  maxLength: 100,
  description: "only alarms and orders of this department (the on-duty team's); null: all",
})

const common = {
  minSeverity: Type.Optional(OneOf(severities, 'alarms below this severity are not sent (default major)')),
  topics: Type.Optional(Topics),
  department: Type.Optional(Nullable(Department)),
  enabled: Type.Optional(Type.Boolean()),
}

/** The PATCH body (served by notification-routes.ts): everything but the estate and the kind. */
export const notificationChannelUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    url: Type.Optional(Nullable(Url)),
    secret: Type.Optional(Nullable(Secret)),
    recipients: Type.Optional(Nullable(Recipients)),
    ...common,
  },
  { additionalProperties: false },
)

// Deliberately plain: one @, no spaces, a dot in the domain. The SMTP server has the last word.
const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:".]{2,}$/
const given = (value: unknown) => value !== undefined && value !== null

/**
 * 通知渠道: where the on-duty team hears of alarms and escalated work orders: a webhook (their
 * chat bot or paging service; signed when a secret is set) or e-mail. The outbox
 * (notification-outbox.ts) queues a delivery per matching channel; the dispatcher sends it.
 */
export const notificationChannelResource: EstateResource = {
  path: 'notification-channels',
  table: 'notificationChannels',
  label: 'notification channel',
  tag: 'notifications',
  // Whoever may change the alarm rules decides who hears of them.
  writePermission: 'workOrders.manage',
  record: Type.Object(
    {
      id: Id,
      estateId: Id,
      name: Name,
      kind: OneOf(channelKinds),
      url: Nullable(
        Type.String({
          description:
            'the origin only (https://host/…): chat-bot webhooks carry their key in the path or query, and anyone who reads the estate must not be able to post to the team',
        }),
      ),
      hasSecret: Type.Boolean({ description: 'a signing secret is set (the secret itself is never shown)' }),
      recipients: Nullable(Type.Array(Type.String())),
      minSeverity: OneOf(severities),
      topics: Type.Array(OneOf(notificationTopics)),
      department: Nullable(Type.String()),
      enabled: Type.Boolean(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { title: 'NotificationChannel' },
  ),
  create: Type.Object(
    {
      estateId: Id,
      name: Name,
      kind: OneOf(channelKinds),
      url: Type.Optional(Nullable(Url)),
      secret: Type.Optional(Nullable(Secret)),
      recipients: Type.Optional(Nullable(Recipients)),
      ...common,
    },
    { additionalProperties: false },
  ),
  update: notificationChannelUpdate,
  // PATCH is notification-routes.ts's: the generic one cannot write the jsonb arrays.
  without: ['update'],
  filters: { kind: OneOf(channelKinds), enabled: Type.Boolean() },
  search: ['name'],
  orderBy: 'name',
  references: {},
  estateFrom: 'estateId',
  async check({ next }) {
    checkChannel(next)
    // `next` is the very object the create route inserts: the arrays go in as jsonb.
    toColumns(next)
  },
  present(row: Row) {
    const { secret, url, ...shown } = row
    return {
      ...shown,
      url: typeof url === 'string' ? shownUrl(url) : null,
      hasSecret: typeof secret === 'string' && secret !== '',
    }
  },
}

/** A webhook URL as the API shows it: scheme and host; the path and query may hold a bot's key. */
export function shownUrl(url: string): string {
  const parsed = new URL(url)
  return parsed.pathname === '/' && parsed.search === '' ? parsed.origin : `${parsed.origin}/…`
}

/** The rules of a channel as it will be stored; errors name the field. */
export function checkChannel(next: Record<string, unknown>): void {
  const kind = next.kind as (typeof channelKinds)[number]
  if (kind === 'webhook') {
    if (!given(next.url))
      throw invalid('body.url', 'is required for a webhook channel', 'channel.urlRequired')
    let url: URL | undefined
    try {
      url = new URL(String(next.url))
    } catch {
      url = undefined
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw invalid(
        'body.url',
        `must be an http:// or https:// address, got ${JSON.stringify(next.url)}`,
        'channel.urlScheme',
        { got: JSON.stringify(next.url) },
      )
    if (given(next.recipients))
      throw invalid('body.recipients', 'is only for email channels', 'channel.onlyEmail')
  } else {
    if (!given(next.recipients))
      throw invalid('body.recipients', 'is required for an email channel', 'channel.recipientsRequired')
    const recipients = next.recipients as string[]
    recipients.forEach((address, i) => {
      if (!EMAIL.test(address.trim()))
        throw invalid(
          `body.recipients.${i}`,
          `is not an e-mail address: ${JSON.stringify(address)}`,
          'channel.emailInvalid',
          { got: JSON.stringify(address) },
        )
    })
    if (given(next.url)) throw invalid('body.url', 'is only for webhook channels', 'channel.onlyWebhook')
    if (given(next.secret))
      throw invalid(
        'body.secret',
        'is only for webhook channels (it signs their bodies)',
        'channel.onlyWebhook',
      )
  }
}

/** Arrays as jsonb values (node-postgres would send a JS array as a PostgreSQL array). */
export function toColumns(values: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(values.recipients))
    values.recipients = jsonb([...new Set((values.recipients as string[]).map((a) => a.trim()))])
  if (Array.isArray(values.topics)) values.topics = jsonb(values.topics)
  return values
}
