/** The result of parsing one MQTT payload: the value, or one message saying what and where. */
export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string }

/**
 * Payloads are UTF-8 JSON (docs/protocol.md: JSON over a binary encoding because every broker
 * tool, log and integrator can read it, and batches compress well on TLS links). Size is checked
 * before parsing so a hostile payload costs no more than `maxBytes` of work.
 */
export function decodeJson(bytes: Uint8Array | string, maxBytes: number): ParseResult<unknown> {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength
  if (size === 0) return { ok: false, error: '(root): empty payload' }
  if (size > maxBytes) return { ok: false, error: `(root): payload of ${size} bytes exceeds ${maxBytes}` }
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8')
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (error) {
    return { ok: false, error: `(root): not JSON: ${(error as Error).message}` }
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The version check comes before the schema, so a v2 payload on a v1 topic is refused as
 * "unsupported version" rather than as whatever v2 changed.
 */
export function checkVersion(value: unknown): string | undefined {
  if (!isRecord(value)) return '(root): must be a JSON object'
  if (!('v' in value)) return '/v: is required'
  if (value.v !== 1) return `/v: unsupported version ${JSON.stringify(value.v)} (this is protocol v1)`
  return undefined
}
