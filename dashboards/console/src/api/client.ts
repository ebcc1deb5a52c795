import { ElMessage } from 'element-plus'
import { i18n } from '../i18n/index.ts'
import { session } from '../session/session.ts'
import { ruleMessage } from './hub-messages.ts'

/** One offending place, as the hub names it: `body.x`, `query.x`, `row 7: areaM2`. */
export interface ErrorDetail {
  readonly field: string
  /** The hub's rule key (docs/errors.md) and its parameters. */
  readonly rule?: string
  readonly params?: Readonly<Record<string, unknown>>
  /** In the user's language where the console knows the rule (api/hub-messages.ts). */
  readonly message: string
  /** The hub's own words. */
  readonly hubWords: string
}

/** The hub's error shape (docs/api.md, Conventions), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** `EH_ERR_*`, or `EH_ERR_NETWORK` when the hub did not answer. */
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    /** The rule of `message` and its parameters, when the hub names one. */
    readonly rule?: string,
    readonly params?: Readonly<Record<string, unknown>>,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** A list answer: `{items, total, limit, offset}`. */
export interface Page<T> {
  readonly items: T[]
  readonly total: number
  readonly limit: number
  readonly offset: number
}

export type Query = Record<string, string | number | boolean | null | undefined | readonly string[]>

export interface RequestOptions {
  readonly query?: Query
  /** Sent as JSON, or as is when FormData or a Blob. */
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly signal?: AbortSignal
  /** Do not show the error message; the caller shows it (forms, the login page). */
  readonly quiet?: boolean
}

let onUnauthenticated: (() => void) | undefined

/** What to do when a request answers 401 (the router sends the user to the login page). */
export function setUnauthenticatedHandler(handler: () => void) {
  onUnauthenticated = handler
}

/** `/api/v1/x` plus the query, leaving out empty values and repeating arrays. */
export function urlFor(path: string, query?: Query): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) for (const v of value) search.append(key, String(v))
    else search.append(key, String(value))
  }
  const text = search.toString()
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path
}

export function authHeaders(): Record<string, string> {
  return session.token ? { authorization: `Bearer ${session.token}` } : {}
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body:
    | { error?: unknown; message?: unknown; rule?: unknown; params?: unknown; details?: unknown }
    | undefined
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  const code = typeof body?.error === 'string' ? body.error : `HTTP_${response.status}`
  const message =
    typeof body?.message === 'string'
      ? body.message
      : i18n.global.t('errors.http', { status: response.status })
  const details = Array.isArray(body?.details)
    ? (body.details as { field?: unknown; rule?: unknown; params?: unknown; message?: unknown }[])
        .filter((d) => typeof d?.field === 'string')
        .map((d) => {
          // Other keys (an import problem's row and column) are kept as the hub sent them.
          const words = typeof d.message === 'string' ? d.message : ''
          return {
            ...d,
            field: d.field as string,
            rule: typeof d.rule === 'string' ? d.rule : undefined,
            params: d.params as Record<string, unknown> | undefined,
            message: ruleMessage(d.rule, d.params, words),
            hubWords: words,
          }
        })
    : []
  const rule = typeof body?.rule === 'string' ? body.rule : undefined
  return new ApiError(response.status, code, message, details, rule, body?.params as Record<string, unknown>)
}

/** A readable line for an error: the code's name in the user's language, then the hub's words. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'EH_ERR_NETWORK') return i18n.global.t('errors.network')
    const key = `errors.codes.${error.code}`
    const title = i18n.global.te(key) ? i18n.global.t(key) : ''
    // The details in the user's language when there are any; the hub's summary repeats them in English.
    const message = error.details.length
      ? error.details.map((d) => `${d.field}: ${d.message}`).join('; ')
      : ruleMessage(error.rule, error.params, error.message)
    return title ? i18n.global.t('errors.withCode', { title, message }) : message
  }
  return error instanceof Error ? error.message : String(error)
}

/** Shows an error as an Element message (at most one of the same text at a time). */
export function showError(error: unknown) {
  if (error instanceof DOMException && error.name === 'AbortError') return
  ElMessage({ type: 'error', message: errorText(error), showClose: true, duration: 6000, grouping: true })
}

async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(), ...options.headers }
  let body: BodyInit | undefined
  if (options.body instanceof FormData || options.body instanceof Blob) body = options.body
  else if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(urlFor(path, options.query), {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    const failure = new ApiError(0, 'EH_ERR_NETWORK', (error as Error).message)
    if (!options.quiet) showError(failure)
    throw failure
  }
  if (response.ok) return response
  const error = await errorFrom(response)
  // A session that ended (expired, revoked, logged out elsewhere): back to the login page.
  // The login itself answers 401 for a wrong password; that is the caller's to show.
  if (response.status === 401 && session.token && !path.endsWith('/auth/login')) {
    onUnauthenticated?.()
    throw error
  }
  // An admin reset the password of a session kept from before (a reload mid-change): the
  // login page asks for the new one after the login (issue 13).
  if (response.status === 403 && error.rule === 'auth.passwordChangeRequired' && session.token) {
    onUnauthenticated?.()
    throw error
  }
  if (!options.quiet) showError(error)
  throw error
}

async function json<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
  const response = await send(method, path, options)
  if (response.status === 204) return undefined as T
  const type = response.headers.get('content-type') ?? ''
  return (type.includes('json') ? await response.json() : await response.text()) as T
}

/** A file the hub sends (report exports, receipts), with the name it suggests. */
export interface Download {
  readonly blob: Blob
  readonly filename: string | undefined
}

function filenameOf(disposition: string | null): string | undefined {
  if (!disposition) return undefined
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)
  if (star?.[1]) return decodeURIComponent(star[1])
  return /filename="?([^";]+)"?/i.exec(disposition)?.[1]
}

/**
 * The hub's API: `api.get<Page<Unit>>('/api/v1/units', { query: { estateId } })`.
 * Errors are shown to the user (unless `quiet`) and thrown as ApiError; a 401 leads to login.
 */
export const api = {
  get: <T>(path: string, options?: RequestOptions) => json<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    json<T>('POST', path, { ...options, body }),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) =>
    json<T>('PATCH', path, { ...options, body }),
  put: <T>(path: string, body: unknown, options?: RequestOptions) =>
    json<T>('PUT', path, { ...options, body }),
  delete: <T>(path: string, options?: RequestOptions) => json<T>('DELETE', path, options),
  async download(path: string, options?: RequestOptions): Promise<Download> {
    const response = await send('GET', path, { ...options, headers: { accept: '*/*', ...options?.headers } })
    return { blob: await response.blob(), filename: filenameOf(response.headers.get('content-disposition')) }
  },
}

/** Saves a download through the browser (an `<a download>` click). */
export function saveDownload(download: Download, fallbackName: string) {
  const url = URL.createObjectURL(download.blob)
  const link = document.createElement('a')
  link.href = url
  link.download = download.filename ?? fallbackName
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
