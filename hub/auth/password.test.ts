// Password hashing: what login relies on (a stored hash verifies its own password and no other),
// and what a damaged users row must not turn into (an exception instead of a refusal).
import { describe, expect, it } from 'vitest'
import { hashPassword, UNUSABLE_PASSWORD_HASH, verifyPassword } from './password.ts'

const PASSWORD = 'correct-horse-battery-9'

describe('hashPassword / verifyPassword', () => {
  it('verifies the password a hash was made from, and stores the scrypt parameters with it', async () => {
    const stored = await hashPassword(PASSWORD)
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(stored).not.toContain(PASSWORD)
    await expect(verifyPassword(PASSWORD, stored)).resolves.toBe(true)
  })

  it('refuses a wrong password, including near misses', async () => {
    const stored = await hashPassword(PASSWORD)
    for (const wrong of [
      'wrong-password-1',
      'Correct-horse-battery-9',
      `${PASSWORD} `,
      PASSWORD.slice(0, -1),
      '',
    ]) {
      await expect(verifyPassword(wrong, stored), JSON.stringify(wrong)).resolves.toBe(false)
    }
  })

  it('salts every hash: two hashes of one password differ, and each verifies it', async () => {
    const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)])
    expect(first).not.toBe(second)
    expect(first.split('$')[4]).not.toBe(second.split('$')[4])
    await expect(verifyPassword(PASSWORD, first)).resolves.toBe(true)
    await expect(verifyPassword(PASSWORD, second)).resolves.toBe(true)
  })

  it('answers false (never throws) for a malformed stored hash', async () => {
    const good = (await hashPassword(PASSWORD)).split('$')
    const salt = good[4]!
    const key = good[5]!
    const malformed = [
      '',
      'not-a-hash',
      'scrypt$$$$$',
      `bcrypt$32768$8$1$${salt}$${key}`,
      `scrypt$32768$8$1$${salt}`,
      `scrypt$32768$8$1$${salt}$`,
      `scrypt$32768$8$1$${salt}$${key.slice(0, 20)}`,
      // Damaged parameters: a row like this must refuse the login, not crash it with a 500.
      `scrypt$abc$8$1$${salt}$${key}`,
      `scrypt$3$8$1$${salt}$${key}`,
    ]
    const results: Record<string, unknown> = {}
    for (const stored of malformed) {
      results[stored] = await verifyPassword(PASSWORD, stored).catch(
        (error: Error) => `threw ${(error as { code?: string }).code ?? error.message}`,
      )
    }
    expect(results).toEqual(Object.fromEntries(malformed.map((stored) => [stored, false])))
  })

  it('matches no password with UNUSABLE_PASSWORD_HASH (the stand-in for unknown usernames)', async () => {
    for (const password of [PASSWORD, '', 'A'.repeat(43)]) {
      await expect(verifyPassword(password, UNUSABLE_PASSWORD_HASH)).resolves.toBe(false)
    }
  })

  it('normalises to NFKC: full-width and ASCII digits are the same password', async () => {
    const fullWidth = 'ｐａｓｓ１２３４５６７８' // what a Chinese IME in full-width mode types
    const ascii = 'pass12345678'
    expect(fullWidth).not.toBe(ascii)
    await expect(verifyPassword(ascii, await hashPassword(fullWidth))).resolves.toBe(true)
    await expect(verifyPassword(fullWidth, await hashPassword(ascii))).resolves.toBe(true)
    // Normalisation is not case folding.
    await expect(verifyPassword('PASS12345678', await hashPassword(ascii))).resolves.toBe(false)
  })
})
