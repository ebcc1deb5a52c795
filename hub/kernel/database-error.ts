import { ApiError, detail, ruleRef } from './api-error.ts'

interface PgErrorLike {
  code?: string
  constraint?: string
  detail?: string
  column?: string
}

const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The columns a PostgreSQL detail names: `Key (estate_id, code)=(…) already exists.` */
function columnsOf(detail: string | undefined): string[] {
  const match = detail?.match(/Key \(([^)]+)\)/)
  return match?.[1] ? match[1].split(',').map((c) => camel(c.trim().replace(/^lower\((.*)\)$/, '$1'))) : []
}

/**
 * Turns a constraint violation from PostgreSQL or PGlite into an API error naming the field,
 * so a race that slips past a service check still answers 409/400 rather than 500.
 */
export function fromDatabaseError(error: unknown): ApiError | undefined {
  const e = error as PgErrorLike
  if (typeof e?.code !== 'string') return undefined
  const columns = columnsOf(e.detail).filter((c) => c !== 'estateId')
  const field = `body.${columns.at(-1) ?? e.column ?? e.constraint ?? 'unknown'}`
  switch (e.code) {
    case '23505':
      return new ApiError('EH_ERR_CONFLICT', `${field}: a record with this value already exists`, [
        detail(field, 'already exists', 'db.unique'),
      ])
    case '23503':
      return new ApiError('EH_ERR_VALIDATION', `${field}: refers to a record that does not exist here`, [
        detail(field, 'refers to a record that does not exist in this estate', 'db.reference'),
      ])
    case '23514':
    case '23502':
      return new ApiError(
        'EH_ERR_VALIDATION',
        `value violates rule ${e.constraint ?? e.column ?? ''}`.trim(),
        [
          detail(
            e.column ? `body.${camel(e.column)}` : `constraint.${e.constraint ?? 'unknown'}`,
            'not allowed',
            'db.check',
            { constraint: e.constraint ?? e.column ?? '' },
          ),
        ],
      )
    case '22P02':
    case '22003':
    case '22007':
    case '22008':
      return new ApiError('EH_ERR_VALIDATION', 'a value has the wrong format or is out of range', [
        detail('body', e.detail ?? 'invalid value', 'db.format'),
      ])
    default:
      return undefined
  }
}

// SQLSTATEs of a server that is going away or not yet there: admin_shutdown, crash_shutdown,
// cannot_connect_now. Class 08 (connection exception) is matched by its prefix.
const SERVER_GONE = new Set(['57P01', '57P02', '57P03'])
// Socket errors of a connect or of a connection the peer dropped; ENOENT is a unix socket
// whose server is gone (only with syscall 'connect').
const SOCKET_GONE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
// node-postgres and pg-pool say these without a code ('timeout expired': pg's Client gave up
// opening a connection within its connectionTimeoutMillis).
const GONE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]
const GONE_EXACT = new Set(['timeout expired'])

/**
 * Whether `error` means the store cannot be reached (PostgreSQL stopped, restarting, ended the
 * connection, or no connection within the pool's connect timeout) rather than that the query
 * was wrong. Follows `cause` (pg-pool wraps its timeout) and AggregateError's `errors` (Node's
 * connect to every address of a host). PGlite runs in the process: it has no connection to
 * lose, so none of its errors match.
 */
export function isStoreUnreachable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false
  const e = error as {
    code?: unknown
    syscall?: unknown
    message?: unknown
    cause?: unknown
    errors?: unknown
  }
  if (typeof e.code === 'string') {
    if (/^08[0-9A-Z]{3}$/.test(e.code) || SERVER_GONE.has(e.code) || SOCKET_GONE.has(e.code)) return true
    if (e.code === 'ENOENT' && e.syscall === 'connect') return true
  }
  if (typeof e.message === 'string') {
    const message = e.message
    if (GONE_EXACT.has(message) || GONE_MESSAGES.some((m) => message.startsWith(m))) return true
  }
  if (Array.isArray(e.errors) && e.errors.some((inner) => isStoreUnreachable(inner, depth + 1))) return true
  return isStoreUnreachable(e.cause, depth + 1)
}

/** Seconds a client is told to wait (Retry-After) before sending again while the store is away. */
export const STORE_RETRY_AFTER_SECONDS = 5

/** The 503 a request gets while the store cannot be reached. */
export const storeUnavailable = () =>
  new ApiError(
    'EH_ERR_STORE_UNAVAILABLE',
    'the store (database) does not answer; try again shortly',
    [],
    ruleRef('store.unavailable'),
  )
