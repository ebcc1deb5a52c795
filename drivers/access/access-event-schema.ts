import { type Static, Type } from 'typebox'

/**
 * The wire shape of an access-control event as a controller POSTs it to the gateway's
 * receiver (docs/access-events.md is the contract for vendors; keep the two in step).
 */

export const accessEventTypes = ['granted', 'denied', 'forced', 'held_open', 'tamper', 'alarm_input'] as const
export type AccessEventType = (typeof accessEventTypes)[number]

export const credentialKinds = ['card', 'face', 'qr', 'pin'] as const

/** Most events one request may carry; more is a controller bug or an attack, not a backlog. */
export const maxEventsPerRequest = 500
/** A clock this far ahead is wrong; accepting it would put the event in tomorrow's reports. */
export const maxFutureSkewMs = 24 * 60 * 60 * 1000

// Same rule as device and controller codes in the gateway config (gateway/config).
const Code = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'controller id' })

// Doors become the second half of a DeviceEvent source (`<device>/<door>`) and of MQTT
// topics, so no slash, no MQTT wildcard, no control character; anything else (东门) is fine.
const Door = Type.String({
  pattern: '^[^/#+\\u0000-\\u001f]{1,64}$',
  description: 'door or gate name, 1-64 characters, no "/", "#", "+" or control characters',
})

// ISO 8601 with seconds and an explicit offset: a local time without one is ambiguous on a
// site whose controllers and gateway may not share a time zone setting.
export const isoWithOffset = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$'

export const CredentialSchema = Type.Object(
  {
    kind: Type.Enum([...credentialKinds]),
    ref: Type.String({ minLength: 1, maxLength: 128, description: 'card number, face id, QR payload id' }),
  },
  { additionalProperties: false },
)

export const AccessEventSchema = Type.Object(
  {
    controllerId: Code,
    eventId: Type.String({
      minLength: 1,
      maxLength: 128,
      description: "the controller's own id for this event; a retry repeats it",
    }),
    door: Door,
    type: Type.Enum([...accessEventTypes]),
    credential: Type.Optional(CredentialSchema),
    person: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    input: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'alarm input name: fire, leak, intrusion' }),
    ),
    ts: Type.String({
      pattern: isoWithOffset,
      description: 'ISO 8601 with offset, e.g. 2025-03-01T08:15:00+08:00',
    }),
  },
  { additionalProperties: false },
)

export const AccessEventBatchSchema = Type.Object(
  { events: Type.Array(AccessEventSchema, { minItems: 1, maxItems: maxEventsPerRequest }) },
  { additionalProperties: false },
)

export type AccessEvent = Static<typeof AccessEventSchema>

/**
 * Epoch milliseconds of an ISO 8601 timestamp that passed the pattern, or NaN when the date
 * does not exist. Date.parse alone rolls 2025-02-30 over to March; a calendar check does not.
 */
export function parseEventTime(ts: string): number {
  const ms = Date.parse(ts)
  if (!Number.isFinite(ms)) return Number.NaN
  const [year, month, day] = ts.slice(0, 10).split('-').map(Number) as [number, number, number]
  const hour = Number(ts.slice(11, 13))
  const minute = Number(ts.slice(14, 16))
  const second = Number(ts.slice(17, 19))
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return Number.NaN
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN
  return ms
}
