import { type FieldDetail, schemaDetails, validationError } from './access-errors.ts'
import {
  type AccessEvent,
  AccessEventBatchSchema,
  AccessEventSchema,
  isoWithOffset,
  maxFutureSkewMs,
  parseEventTime,
} from './access-event-schema.ts'

export interface ParsedAccessEvent {
  readonly event: AccessEvent
  /** `ts` as epoch milliseconds. */
  readonly tsMs: number
  /** Where the event sits in the body, for error details: `body` or `body.events.3`. */
  readonly field: string
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const isoPattern = new RegExp(isoWithOffset)

/**
 * Rules a schema cannot say: a real calendar date, not too far ahead, an input name. Run on
 * the raw object so they are reported together with any schema problems of the same event.
 */
function ruleDetails(event: Record<string, unknown>, field: string, nowMs: number): FieldDetail[] {
  const out: FieldDetail[] = []
  if (typeof event.ts === 'string' && isoPattern.test(event.ts)) {
    const tsMs = parseEventTime(event.ts)
    if (Number.isNaN(tsMs)) {
      out.push({ field: `${field}.ts`, message: 'is not a real date and time' })
    } else if (tsMs > nowMs + maxFutureSkewMs) {
      out.push({ field: `${field}.ts`, message: "is more than 24 h ahead of the gateway's clock" })
    }
  }
  if (event.type === 'alarm_input' && event.input === undefined) {
    // An alarm with no input name cannot be routed (fire and leak go to different people).
    out.push({ field: `${field}.input`, message: 'is required when type is alarm_input' })
  }
  return out
}

/**
 * The events of a request body: one event, or `{ events: [...] }`. All or nothing: any
 * problem anywhere rejects the whole body with a 400 naming every bad field, so a
 * controller never has to work out which half of a batch was taken.
 */
export function parseAccessEvents(body: unknown, nowMs: number): ParsedAccessEvent[] {
  if (body === undefined || body === null || body === '') {
    throw validationError([{ field: 'body', message: 'is required (one event or { events: [...] })' }])
  }
  if (!isRecord(body)) {
    throw validationError([{ field: 'body', message: 'must be a JSON object' }])
  }
  const batch = 'events' in body
  const details = schemaDetails(batch ? AccessEventBatchSchema : AccessEventSchema, body, 'body')
  const raw: unknown[] = batch ? (Array.isArray(body.events) ? body.events : []) : [body]
  raw.forEach((event, i) => {
    if (isRecord(event)) details.push(...ruleDetails(event, batch ? `body.events.${i}` : 'body', nowMs))
  })
  if (details.length > 0) throw validationError(details)
  return (raw as AccessEvent[]).map((event, i) => ({
    event,
    tsMs: parseEventTime(event.ts),
    field: batch ? `body.events.${i}` : 'body',
  }))
}
