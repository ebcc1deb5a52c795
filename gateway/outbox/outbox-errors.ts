/**
 * Errors of the outbox, each with a stable code (docs/errors.md style) so logs and metrics
 * can count them without parsing messages.
 */

/**
 * The outbox holds its limit of batches or bytes. The gateway keeps the oldest batches (they
 * are the ones not yet billed) and refuses the new one; the caller decides what to do with it
 * (keep polling and retry, count the loss, raise an alarm).
 */
export class OutboxFullError extends Error {
  readonly code = 'EH_ERR_OUTBOX_FULL'
  constructor(
    readonly depth: number,
    readonly bytes: number,
    readonly maxBatches: number,
    readonly maxBytes: number,
  ) {
    super(`outbox full: ${depth}/${maxBatches} batches, ${bytes}/${maxBytes} bytes waiting for the hub's ack`)
    this.name = 'OutboxFullError'
  }
}

/** A batch that would be refused by the hub is refused here, so it can never block the queue. */
export class OutboxInvalidBatchError extends Error {
  readonly code = 'EH_ERR_OUTBOX_INVALID_BATCH'
  constructor(readonly problem: string) {
    super(`batch refused by the outbox: ${problem}`)
    this.name = 'OutboxInvalidBatchError'
  }
}

/**
 * The disk failed in a way the outbox could not undo (a write that could not be rolled back, a
 * failed fsync of the state file). Every later call fails with this error: restart the process,
 * which re-reads what is durable.
 */
export class OutboxBrokenError extends Error {
  readonly code = 'EH_ERR_OUTBOX_IO'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'OutboxBrokenError'
  }
}

/** Another process (or another Outbox in this one) has the directory open. */
export class OutboxLockedError extends Error {
  readonly code = 'EH_ERR_OUTBOX_LOCKED'
  constructor(dir: string, pid: number) {
    super(`outbox ${dir} is in use by process ${pid}`)
    this.name = 'OutboxLockedError'
  }
}
