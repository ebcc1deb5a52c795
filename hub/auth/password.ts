import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

// scrypt with N=2^15, r=8, p=1 (OWASP's recommended minimum); parameters are stored with
// the hash so they can be raised later without invalidating old passwords.
const N = 2 ** 15
const R = 8
const P = 1
const KEY_LENGTH = 32
const MAX_MEMORY = 128 * N * R * 2

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}

export const MIN_PASSWORD_LENGTH = 10

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, N, R, P)
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [n, r, p] = parts
    .slice(1, 4)
    .map((part) => (/^\d{1,10}$/.test(part) ? Number(part) : Number.NaN)) as [number, number, number]
  const salt = Buffer.from(parts[4]!, 'base64url')
  const expected = Buffer.from(parts[5]!, 'base64url')
  // A damaged or hostile stored hash must fail the login, not crash it or exhaust memory.
  const sane = n > 1 && (n & (n - 1)) === 0 && r >= 1 && p >= 1 && 128 * n * r * p <= MAX_MEMORY
  if (!sane || salt.length < 8 || expected.length !== KEY_LENGTH) return false
  try {
    const actual = await derive(password, salt, n, r, p)
    return timingSafeEqual(actual, expected)
  } catch {
    return false
  }
}

/** A hash no password matches, to spend the same time on unknown usernames as on known ones. */
export const UNUSABLE_PASSWORD_HASH = `scrypt$${N}$${R}$${P}$${'A'.repeat(22)}$${'A'.repeat(43)}`
