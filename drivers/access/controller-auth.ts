import { createHash, timingSafeEqual } from 'node:crypto'

/** One access controller allowed to push events, as the gateway config lists it. */
export interface AccessControllerConfig {
  /** The controller's id; every event it sends must carry it as `controllerId`. */
  readonly id: string
  /** Shared secret, at least 16 characters, sent as `Authorization: Bearer <token>`. */
  readonly token: string
  /** Device code of the controller on this gateway: events come from `<device>/<door>`. */
  readonly device: string
}

export const minTokenLength = 16
const codePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** Problems with the controller list, one line each (`controllers.1.token: …`); empty if fine. */
export function checkControllers(controllers: readonly AccessControllerConfig[]): string[] {
  const problems: string[] = []
  const ids = new Map<string, number>()
  const tokens = new Map<string, number>()
  controllers.forEach((c, i) => {
    const at = `controllers.${i}`
    if (!codePattern.test(c.id)) problems.push(`${at}.id: must match ${codePattern.source}`)
    if (!codePattern.test(c.device)) problems.push(`${at}.device: must match ${codePattern.source}`)
    if (typeof c.token !== 'string' || c.token.length < minTokenLength) {
      problems.push(`${at}.token: must be at least ${minTokenLength} characters`)
    }
    const firstId = ids.get(c.id)
    if (firstId !== undefined) problems.push(`${at}.id: "${c.id}" is already controllers.${firstId}`)
    ids.set(c.id, i)
    // The token alone says who is calling, so two controllers may not share one.
    const firstToken = tokens.get(c.token)
    if (firstToken !== undefined) problems.push(`${at}.token: the same as controllers.${firstToken}.token`)
    tokens.set(c.token, i)
  })
  return problems
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/**
 * Returns a function that maps an Authorization header to the controller whose token it
 * carries, or undefined. Tokens are compared as SHA-256 digests with timingSafeEqual and
 * every controller is tried, so neither the time taken nor the answer tells a caller how
 * close a guess was, how long the token is, or which part of the header was wrong.
 */
export function createTokenMatcher(
  controllers: readonly AccessControllerConfig[],
): (authorization: string | undefined) => AccessControllerConfig | undefined {
  const known = controllers.map((c) => ({ controller: c, digest: digest(c.token) }))
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '')
    // Hash something even without a token so a missing header costs the same as a wrong one.
    const presented = digest(match?.[1] ?? '')
    let found: AccessControllerConfig | undefined
    for (const k of known) {
      if (timingSafeEqual(k.digest, presented) && match) found = k.controller
    }
    return found
  }
}
