/**
 * What went wrong with a confirmed request, from the library's error messages, and the stable
 * codes our readings carry in `reason` (`EH_ERR_BACNET_…: detail`).
 *
 * The library reports failures as plain `Error`s: `ERR_TIMEOUT`, `BacnetError - Class:1 -
 * Code:31` (Error-PDU, §20.1.7) and `BacnetAbort - Reason:4`. It decodes Reject-PDUs (§20.1.8)
 * with the Abort decoder, so a Reject and an Abort with the same number look alike (reason 9 is
 * both reject "unrecognized-service" and abort "out-of-resources"); `abort` covers both.
 */
import { AbortReason, ErrorClass, RejectReason } from '@bacnet-js/client'
import { errorName } from './bacnet-names.ts'

export const BacnetErrorCode = {
  timeout: 'EH_ERR_BACNET_TIMEOUT',
  error: 'EH_ERR_BACNET_ERROR',
  abort: 'EH_ERR_BACNET_ABORT',
  closed: 'EH_ERR_BACNET_CLOSED',
  point: 'EH_ERR_BACNET_POINT',
  decode: 'EH_ERR_BACNET_DECODE',
  flagged: 'EH_ERR_BACNET_FLAGGED',
  cov: 'EH_ERR_BACNET_COV',
  /** The device at the address is not the configured device instance (bacnet-identity.ts). */
  identity: 'EH_ERR_BACNET_IDENTITY',
} as const

export type BacnetFailure =
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly errorClass: number; readonly errorCode: number }
  | { readonly kind: 'abort'; readonly reason: number }
  | { readonly kind: 'other'; readonly message: string }

export function classifyFailure(err: unknown): BacnetFailure {
  const message = err instanceof Error ? err.message : String(err)
  if (message === 'ERR_TIMEOUT') return { kind: 'timeout' }
  const error = /BacnetError - Class:(\d+) - Code:(\d+)/.exec(message)
  if (error) return { kind: 'error', errorClass: Number(error[1]), errorCode: Number(error[2]) }
  const abort = /BacnetAbort - Reason:(\d+)/.exec(message)
  if (abort) return { kind: 'abort', reason: Number(abort[1]) }
  return { kind: 'other', message }
}

/**
 * The reply says the request was too big for the device (§5.4.5.1 and §20.1.9: the response does
 * not fit and the device cannot segment it): ask for fewer objects.
 */
export function isTooBig(f: BacnetFailure): boolean {
  if (f.kind !== 'abort') return false
  return (
    f.reason === AbortReason.SEGMENTATION_NOT_SUPPORTED ||
    f.reason === AbortReason.BUFFER_OVERFLOW ||
    f.reason === AbortReason.APDU_TOO_LONG
  )
}

/**
 * The device refused ReadPropertyMultiple as a service (Reject unrecognized-service, an Error of
 * class services, or any other Abort), not because of the objects asked for.
 */
export function refusesService(f: BacnetFailure): boolean {
  if (f.kind === 'abort') return !isTooBig(f)
  if (f.kind === 'error') return f.errorClass === ErrorClass.SERVICES
  return false
}

/**
 * An Error-PDU about the objects or properties (class object or property): for RPM it means none
 * of the requested properties could be read (§15.7.1.3.2); reading one by one finds out which.
 */
export function isObjectError(f: BacnetFailure): boolean {
  return f.kind === 'error' && (f.errorClass === ErrorClass.OBJECT || f.errorClass === ErrorClass.PROPERTY)
}

function abortName(reason: number): string {
  const abort = AbortReason[reason]
  const reject = RejectReason[reason]
  const names = [abort, reject].filter((n): n is string => typeof n === 'string')
  return names.map((n) => n.toLowerCase().replaceAll('_', '-')).join(' | ') || 'unknown'
}

export function failureReason(f: BacnetFailure, timeoutMs: number, attempts: number): string {
  switch (f.kind) {
    case 'timeout':
      return `${BacnetErrorCode.timeout}: no reply within ${timeoutMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'})`
    case 'error':
      return `${BacnetErrorCode.error}: ${errorName(f.errorClass, f.errorCode)}`
    case 'abort':
      return `${BacnetErrorCode.abort}: abort/reject reason ${f.reason} (${abortName(f.reason)})`
    case 'other':
      return `${BacnetErrorCode.decode}: ${f.message}`
  }
}
