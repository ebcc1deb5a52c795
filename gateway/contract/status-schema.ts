import { type Static, Type } from 'typebox'
import { SESSION_PATTERN } from './batch-schema.ts'
import { firstSchemaError } from './schema-error.ts'
import { decodeJson } from './wire-json.ts'

/**
 * Retained on `…/{gatewayId}/status`. The gateway publishes `online` after each CONNACK and
 * `offline` on an orderly close; the broker publishes the `offline` registered as the will when
 * the connection drops without DISCONNECT [MQTT-3.1.2-8], retained because the will was
 * registered with Will Retain [MQTT-3.1.2-17]. A will is built at CONNECT, so its `ts` is the
 * connect time, not the moment of the drop: consumers that need the drop time use their own
 * receive time. `session` tells a late `offline` of an old process from the current one.
 */
export const StatusSchema = Type.Object(
  {
    state: Type.Enum(['online', 'offline']),
    ts: Type.Integer({ minimum: 0 }),
    session: Type.String({ pattern: SESSION_PATTERN }),
  },
  { additionalProperties: false },
)
export type GatewayStatus = Static<typeof StatusSchema>

export const MAX_STATUS_BYTES = 1_024

export type ParsedStatus =
  | { readonly ok: true; readonly status: GatewayStatus }
  | { readonly ok: false; readonly error: string }

export function parseStatus(bytes: Uint8Array | string): ParsedStatus {
  const json = decodeJson(bytes, MAX_STATUS_BYTES)
  if (!json.ok) return json
  const error = firstSchemaError(StatusSchema, json.value)
  if (error !== undefined) return { ok: false, error }
  return { ok: true, status: json.value as GatewayStatus }
}

export function encodeStatus(status: GatewayStatus): Buffer {
  return Buffer.from(JSON.stringify(status), 'utf8')
}
