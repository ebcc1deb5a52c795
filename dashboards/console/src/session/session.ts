import { reactive } from 'vue'
import type { HubAnswer } from '../api/hub.ts'

/** The logged-in user, as `GET /api/v1/auth/me` answers. */
export type Me = HubAnswer<'/api/v1/auth/me'>

interface Stored {
  readonly token: string
  readonly expiresAt: string
  readonly username: string
}

const KEY = 'estatehub.session'

/**
 * The bearer token from the login: in sessionStorage (this tab, until it closes) or, with
 * "keep me logged in", in localStorage until the token expires.
 */
export const session = reactive({
  token: null as string | null,
  expiresAt: null as string | null,
  username: null as string | null,
  me: null as Me | null,
})

function read(storage: Storage): Stored | undefined {
  try {
    const stored = JSON.parse(storage.getItem(KEY) ?? 'null') as Stored | null
    if (stored && typeof stored.token === 'string' && Date.parse(stored.expiresAt) > Date.now()) return stored
  } catch {
    // unreadable: as if absent
  }
  storage.removeItem(KEY)
  return undefined
}

export function restoreSession() {
  const stored = read(sessionStorage) ?? read(localStorage)
  session.token = stored?.token ?? null
  session.expiresAt = stored?.expiresAt ?? null
  session.username = stored?.username ?? null
}

export function startSession(
  login: { token: string; expiresAt: string; username: string },
  remember: boolean,
) {
  clearSession()
  const stored: Stored = { token: login.token, expiresAt: login.expiresAt, username: login.username }
  ;(remember ? localStorage : sessionStorage).setItem(KEY, JSON.stringify(stored))
  session.token = login.token
  session.expiresAt = login.expiresAt
  session.username = login.username
}

export function clearSession() {
  sessionStorage.removeItem(KEY)
  localStorage.removeItem(KEY)
  session.token = null
  session.expiresAt = null
  session.username = null
  session.me = null
}

export function isLoggedIn(): boolean {
  return session.token !== null && session.expiresAt !== null && Date.parse(session.expiresAt) > Date.now()
}
