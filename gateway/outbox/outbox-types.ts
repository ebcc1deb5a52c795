import type { UplinkBatch } from '../contract/batch-schema.ts'

export interface OutboxOptions {
  /** Most batches held while waiting for the hub's ack. */
  readonly maxBatches: number
  /** Most bytes of pending records; also about what they take in memory (see pending()). */
  readonly maxBytes: number
  /** Compact once acked records take this much and at least half the journal. Default 1 MiB. */
  readonly compactMinBytes?: number
  /**
   * First seq of a brand-new outbox. Default Date.now(): if a gateway's disk is replaced, its new
   * outbox still starts above every seq the hub has seen from it (one batch a millisecond
   * sustained would be needed to catch up), so the hub never drops new batches as duplicates.
   */
  readonly firstSeq?: number
  /** Header defaults for append(): the gateway id and the process session. */
  readonly gateway?: string
  readonly session?: string
  /** Clock for `sentAt` when the batch does not carry one (tests pin it). */
  readonly now?: () => number
}

/** A whole batch but its seq and oldest, which the outbox assigns. */
export type UnsequencedBatch = Omit<UplinkBatch, 'seq' | 'oldest'>
/** What append() takes: the content, with the header fields defaulted from the options. */
export type BatchInput = Pick<UplinkBatch, 'readings' | 'events' | 'historical'> &
  Partial<Pick<UplinkBatch, 'v' | 'gateway' | 'session' | 'sentAt'>>

export interface OutboxEntry {
  readonly seq: number
  /** The exact bytes to publish. */
  readonly payload: Buffer
}

/** What open() found and repaired: worth a log line when anything is non-zero. */
export interface OutboxRecovery {
  readonly pending: number
  readonly tornBytes: number
  readonly corruptRecords: number
  readonly stateUnreadable: boolean
}
