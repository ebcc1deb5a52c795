import { type Static, Type } from 'typebox'
import { firstSchemaError } from './schema-error.ts'
import { checkVersion, decodeJson } from './wire-json.ts'

/**
 * Hub → gateway on `…/{gatewayId}/ack`: "every batch of yours with seq ≤ `seq` is committed".
 * Cumulative, like a TCP ack: a lost ack is covered by the next one, and the gateway may
 * delete every batch up to `seq` from its outbox.
 */
export const AckSchema = Type.Object(
  {
    v: Type.Literal(1),
    seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
)
export type Ack = Static<typeof AckSchema>

export const MAX_ACK_BYTES = 1_024

export type ParsedAck =
  | { readonly ok: true; readonly ack: Ack }
  | { readonly ok: false; readonly error: string }

export function parseAck(bytes: Uint8Array | string): ParsedAck {
  const json = decodeJson(bytes, MAX_ACK_BYTES)
  if (!json.ok) return json
  const error = checkVersion(json.value) ?? firstSchemaError(AckSchema, json.value)
  if (error !== undefined) return { ok: false, error }
  return { ok: true, ack: json.value as Ack }
}

export function encodeAck(seq: number): Buffer {
  if (!Number.isSafeInteger(seq) || seq < 1)
    throw new RangeError(`ack seq must be a positive integer, got ${seq}`)
  const ack: Ack = { v: 1, seq }
  return Buffer.from(JSON.stringify(ack), 'utf8')
}
