import { randomUUID } from 'node:crypto'
import type { AccessEvent, AccessEventType } from '../access/access-event-schema.ts'

/**
 * A simulated access controller: it POSTs events to an access receiver over real HTTP with
 * its bearer token, as a door controller on site would. For tests and demos.
 */

export interface AccessControllerSimOptions {
  /** The receiver's base URL, e.g. `http://127.0.0.1:8088`. */
  readonly url: string
  readonly controllerId: string
  readonly token: string
  /** Per-request timeout; default 5 s. */
  readonly timeoutMs?: number
}

/** An event with everything optional: the sim fills in controllerId, eventId, ts. */
export type PartialAccessEvent = Partial<AccessEvent> & Record<string, unknown>

export interface SimResponse {
  readonly status: number
  readonly body: unknown
}

export interface AccessControllerSim {
  /** POSTs one event (defaults filled in); returns the HTTP status. */
  send(event?: PartialAccessEvent): Promise<number>
  /** POSTs `{ events }` in one request; returns the HTTP status. */
  sendBatch(events: readonly PartialAccessEvent[]): Promise<number>
  /** POSTs any body, with another token if given (null: no Authorization header). */
  post(body: unknown, opts?: { token?: string | null }): Promise<SimResponse>
  granted(door: string, credential?: AccessEvent['credential'], person?: string): Promise<number>
  /** `n` denied attempts at the door in one batch, as a controller flushes them. */
  denied(door: string, n?: number, credential?: AccessEvent['credential']): Promise<number>
  forced(door: string): Promise<number>
  heldOpen(door: string): Promise<number>
  tamper(door: string): Promise<number>
  alarmInput(door: string, input: string): Promise<number>
  /** The full event the sim would send, without sending it (to resend it as a retry). */
  build(event?: PartialAccessEvent): PartialAccessEvent
  /** The last reply, for tests that want the body. */
  readonly last: SimResponse | undefined
}

/** Local time with the zone's offset, as controllers usually stamp events. */
export function isoWithLocalOffset(ms: number = Date.now()): string {
  const d = new Date(ms)
  const offsetMin = -d.getTimezoneOffset()
  const sign = offsetMin >= 0 ? '+' : '-'
  const abs = Math.abs(offsetMin)
  const pad = (n: number) => String(n).padStart(2, '0')
  const local = new Date(ms + offsetMin * 60_000)
  return `${local.toISOString().slice(0, 23)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

export function createAccessControllerSim(opts: AccessControllerSimOptions): AccessControllerSim {
  const endpoint = new URL('/v1/events', opts.url).toString()
  // A per-sim prefix keeps event ids unique across sims and test runs, as a controller's own are.
  const prefix = randomUUID().slice(0, 8)
  let seq = 0
  let last: SimResponse | undefined

  const build = (event: PartialAccessEvent = {}): PartialAccessEvent => ({
    controllerId: opts.controllerId,
    eventId: `${prefix}-${++seq}`,
    door: 'door-1',
    type: 'granted',
    ts: isoWithLocalOffset(),
    ...event,
  })

  const post = async (body: unknown, o: { token?: string | null } = {}): Promise<SimResponse> => {
    const token = o.token === undefined ? opts.token : o.token
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token !== null) headers.authorization = `Bearer ${token}`
    const res = await fetch(endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      // Not JSON: keep the text for the test to look at.
    }
    last = { status: res.status, body: parsed }
    return last
  }

  const sendType = (type: AccessEventType, door: string, extra: PartialAccessEvent = {}) =>
    post(build({ type, door, ...extra })).then((r) => r.status)

  return {
    send: (event) => post(build(event)).then((r) => r.status),
    sendBatch: (events) => post({ events: events.map((e) => build(e)) }).then((r) => r.status),
    post,
    build,
    granted: (door, credential = { kind: 'card', ref: '00000001' }, person) =>
      sendType('granted', door, person === undefined ? { credential } : { credential, person }),
    denied: (door, n = 1, credential = { kind: 'card', ref: '99999999' }) =>
      post({ events: Array.from({ length: n }, () => build({ type: 'denied', door, credential })) }).then(
        (r) => r.status,
      ),
    forced: (door) => sendType('forced', door),
    heldOpen: (door) => sendType('held_open', door),
    tamper: (door) => sendType('tamper', door),
    alarmInput: (door, input) => sendType('alarm_input', door, { input }),
    get last() {
      return last
    },
  }
}
