import { createHash, randomBytes } from 'node:crypto'

// Opaque bearer tokens: 32 random bytes; only their SHA-256 is stored, so a leaked
// database does not leak usable sessions, and a session can be revoked (docs/decisions).
const PREFIX = 'ehs_'

export function newSessionToken(): string {
  return PREFIX + randomBytes(32).toString('base64url')
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function looksLikeSessionToken(token: string): boolean {
  return token.startsWith(PREFIX) && token.length === PREFIX.length + 43
}
