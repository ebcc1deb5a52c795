import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as english from '@zxcvbn-ts/language-en'

/**
 * zxcvbn's score runs 0–4; 3 is "safely unguessable: moderate protection from an offline
 * slow-hash scenario" (about 10^8 guesses and more). A hub reachable from the internet holds
 * admin accounts, so below 3 is refused; 4 would refuse many passphrases people can remember.
 */
export const MIN_PASSWORD_SCORE = 3

let estimator: ZxcvbnFactory | undefined

// Built on first use: loading the dictionaries takes a few hundred milliseconds and most
// processes (gateways' checks, the demo) never judge a password.
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  })
  return estimator
}

export interface PasswordJudgement {
  readonly score: number
  /** zxcvbn's warning and suggestions in English, one sentence each; empty when it has none. */
  readonly feedback: string
}

/** How guessable a password is; `userInputs` (the username, the display name) count as known words. */
export function judgePassword(password: string, userInputs: readonly string[]): PasswordJudgement {
  const result = zxcvbn().check(password, [...userInputs])
  const feedback = [result.feedback.warning, ...result.feedback.suggestions]
    .filter((text): text is string => Boolean(text))
    .join(' ')
  return { score: result.score, feedback }
}
