import type { Kysely } from 'kysely'
import {
  ackTopic,
  encodeAck,
  MAX_BATCH_BYTES,
  parseBatch,
  parseStatus,
  parseTopic,
  type UplinkBatch,
} from '../../gateway/contract/index.ts'
import { isStoreUnreachable } from '../kernel/database-error.ts'
import type { Database } from '../store/database-schema.ts'
import {
  type CommitLimits,
  type CommitResult,
  commitBatch,
  type InCommitHook,
  type StoredReading,
  settleDeadLetter,
} from './batch-writer.ts'
import type { IngestMetrics } from './ingest-metrics.ts'
import type { Ingress, IngressMessage } from './ingress.ts'
import type { GatewayEntry, PointDirectory } from './point-directory.ts'
import { escapeText } from './reading-fit.ts'
import type { ReadingPartitions } from './reading-partitions.ts'

/** Bytes of a refused payload kept in dead_letters: enough to diagnose, bounded. */
export const DEAD_LETTER_MAX_BYTES = 64 * 1024

export interface IngestLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

export interface CommittedBatch {
  readonly gateway: GatewayEntry
  readonly batch: UplinkBatch
  readonly stored: readonly StoredReading[]
}

export interface IngestServiceOptions {
  readonly db: Kysely<Database>
  readonly ingress: Ingress
  readonly directory: PointDirectory
  readonly partitions: ReadingPartitions
  readonly metrics: IngestMetrics
  readonly log: IngestLog
  readonly limits?: CommitLimits
  /** Run inside each batch's transaction (batch-writer.ts InCommitHook): alarm state, live relay. */
  readonly inCommit?: InCommitHook
  /** Called after each commit, before the ack; must not throw or block (InfluxDB copy, alarms). */
  readonly onCommitted?: (committed: CommittedBatch) => void
  readonly now?: () => number
}

/**
 * Turns gateway messages into committed rows and acks. Batches of one gateway are committed
 * one at a time in arrival order; different gateways proceed independently. Nothing a gateway
 * sends can stop the ingest: a bad payload is dead-lettered, a failed commit is not acked (the
 * gateway resends it), and the next message is handled either way.
 */
export class IngestService {
  readonly #o: IngestServiceOptions
  readonly #queues = new Map<string, Promise<void>>()
  readonly #online = new Set<string>()
  #pending = 0
  /** The store stopped answering and no commit has succeeded since: said once per outage. */
  #storeAway = false
  #idleWaiters: (() => void)[] = []
  #closed = false

  constructor(options: IngestServiceOptions) {
    this.#o = options
  }

  async start(): Promise<void> {
    await this.#o.partitions.load()
    await this.#o.ingress.start((message) => this.#receive(message))
  }

  /** Resolves when every message received so far is handled (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#o.ingress.close()
    await this.idle()
  }

  #receive(message: IngressMessage) {
    if (this.#closed) return
    const parsed = parseTopic(message.topic)
    if (parsed === undefined || (parsed.kind !== 'batch' && parsed.kind !== 'status')) return
    const key = parsed.gatewayId
    this.#pending += 1
    const previous = this.#queues.get(key) ?? Promise.resolve()
    const next = previous
      .then(() =>
        parsed.kind === 'batch'
          ? this.#handleBatch(parsed.gatewayId, message)
          : this.#handleStatus(parsed.gatewayId, message),
      )
      .catch((error: unknown) => {
        if (this.#heardStoreAway(error)) return
        this.#o.log.error({ gateway: key, err: errorText(error) }, 'ingest: message not handled')
      })
      .finally(() => {
        if (this.#queues.get(key) === next) this.#queues.delete(key)
        this.#pending -= 1
        if (this.#pending === 0) for (const wake of this.#idleWaiters.splice(0)) wake()
      })
    this.#queues.set(key, next)
  }

  async #handleBatch(gatewayCode: string, message: IngressMessage): Promise<void> {
    const { metrics, log } = this.#o
    const parsed = parseBatch(message.payload)
    if (!parsed.ok) {
      await this.#deadLetter(message, gatewayCode, 'invalid', parsed.error)
      return this.#settleInvalid(gatewayCode, message.payload)
    }
    const batch = parsed.batch
    if (batch.gateway !== gatewayCode) {
      await this.#deadLetter(
        message,
        gatewayCode,
        'gateway_mismatch',
        `/gateway: ${JSON.stringify(batch.gateway)} does not match the topic's gateway ${JSON.stringify(gatewayCode)}`,
      )
      return this.#settleInvalid(gatewayCode, message.payload)
    }
    const gateway = await this.#o.directory.gatewayFor(
      gatewayCode,
      batch.readings.map((r) => r.p),
    )
    if (gateway === undefined)
      return this.#deadLetter(
        message,
        gatewayCode,
        'unknown_gateway',
        `no gateway ${gatewayCode} is configured`,
      )
    if (!gateway.enabled)
      return this.#deadLetter(message, gatewayCode, 'gateway_disabled', `gateway ${gatewayCode} is disabled`)

    const started = performance.now()
    let result: CommitResult
    try {
      result = await commitBatch(this.#o.db, this.#o.partitions, gateway, batch, {
        now: (this.#o.now ?? Date.now)(),
        ...(this.#o.limits ? { limits: this.#o.limits } : {}),
        ...(this.#o.inCommit ? { inCommit: this.#o.inCommit } : {}),
      })
    } catch (error) {
      // Not acked: the gateway keeps the batch and sends it again (after its ack timeout).
      // Later batches of this gateway are handled as they come; the mark waits for this seq.
      metrics.batches.inc({ result: 'failed' })
      if (!this.#heardStoreAway(error))
        log.error({ gateway: gatewayCode, seq: batch.seq, err: errorText(error) }, 'ingest: commit failed')
      return
    }
    if (this.#storeAway) {
      this.#storeAway = false
      log.info({ gateway: gatewayCode }, 'ingest: the store answers again; batches are acked again')
    }
    metrics.commitSeconds.observe((performance.now() - started) / 1000)
    if (result.duplicate) {
      metrics.batches.inc({ result: 'duplicate' })
    } else {
      metrics.batches.inc({ result: 'committed' })
      metrics.readings.inc(result.stored.length)
      metrics.unmatched.inc(result.unmatched)
      metrics.events.inc(result.events)
      metrics.lagSeconds.set({ gateway: gatewayCode }, Math.max(0, Date.now() - batch.sentAt) / 1000)
      if (result.unmatched > 0)
        log.warn(
          { gateway: gatewayCode, seq: batch.seq, count: result.unmatched },
          'ingest: readings or events set aside as ingest problems',
        )
      try {
        // Set-aside events are ingest problems, not facts: the hooks (alarms) see the stored ones.
        this.#o.onCommitted?.({
          gateway,
          batch: { ...batch, events: [...result.storedEvents] },
          stored: result.stored,
        })
      } catch (error) {
        log.error({ gateway: gatewayCode, err: errorText(error) }, 'ingest: after-commit hook failed')
      }
    }
    if (result.committedSeq > 0) {
      await this.#o.ingress
        .publish(ackTopic(gatewayCode), encodeAck(result.committedSeq))
        .catch((error: unknown) => {
          // The next ack covers this one (acks are cumulative).
          log.warn({ gateway: gatewayCode, err: errorText(error) }, 'ingest: ack not published')
        })
    }
  }

  /**
   * A failure because the store cannot be reached (an outage, not a bad batch): logged once
   * until a commit succeeds again, instead of once per batch of every gateway.
   */
  #heardStoreAway(error: unknown): boolean {
    if (!isStoreUnreachable(error)) return false
    if (!this.#storeAway)
      this.#o.log.warn(
        { err: errorText(error) },
        'ingest: the store does not answer; batches are not acked until it does (gateways keep them)',
      )
    this.#storeAway = true
    return true
  }

  /**
   * A refused batch that still names this gateway and a seq is settled (dead-lettered, not
   * lost), so the gateway's outbox moves past it instead of resending it forever.
   */
  async #settleInvalid(gatewayCode: string, payload: Buffer): Promise<void> {
    const claimed = claimedSeq(payload)
    if (claimed === undefined) return
    const gateway = await this.#o.directory.gateway(gatewayCode)
    if (gateway === undefined || !gateway.enabled) return
    const mark = await settleDeadLetter(this.#o.db, gateway, claimed.seq, claimed.oldest, {
      ...(this.#o.inCommit ? { inCommit: this.#o.inCommit } : {}),
    })
    if (mark > 0) await this.#o.ingress.publish(ackTopic(gatewayCode), encodeAck(mark)).catch(() => {})
  }

  async #handleStatus(gatewayCode: string, message: IngressMessage): Promise<void> {
    // An empty retained message clears the status; nothing to record.
    if (message.payload.length === 0) return
    const parsed = parseStatus(message.payload)
    if (!parsed.ok) return this.#deadLetter(message, gatewayCode, 'invalid_status', parsed.error)
    const gateway = await this.#o.directory.gateway(gatewayCode)
    if (gateway === undefined) return
    const { state, session } = parsed.status
    const now = new Date((this.#o.now ?? Date.now)())
    await this.#o.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('gatewayLinks')
        .values({ gatewayId: gateway.id })
        .onConflict((oc) => oc.column('gatewayId').doNothing())
        .execute()
      const link = await trx
        .selectFrom('gatewayLinks')
        .select(['statusSession', 'status'])
        .where('gatewayId', '=', gateway.id)
        .forUpdate()
        .executeTakeFirstOrThrow()
      // A late will of an older process must not mark the current one offline.
      if (state === 'offline' && link.status === 'online' && link.statusSession !== session) return
      await trx
        .updateTable('gatewayLinks')
        .set({ status: state, statusSession: session, statusAt: now, updatedAt: now })
        .where('gatewayId', '=', gateway.id)
        .execute()
    })
    if (state === 'online') this.#online.add(gatewayCode)
    else this.#online.delete(gatewayCode)
    this.#o.metrics.gatewaysOnline.set(this.#online.size)
    this.#o.log.info({ gateway: gatewayCode, state }, `gateway ${gatewayCode} ${state}`)
  }

  async #deadLetter(
    message: IngressMessage,
    gatewayCode: string,
    kind: string,
    reason: string,
  ): Promise<void> {
    this.#o.metrics.deadLetters.inc({ reason: kind })
    this.#o.metrics.batches.inc({ result: 'dead_letter' })
    this.#o.log.warn({ gateway: gatewayCode, topic: message.topic, reason }, 'ingest: payload dead-lettered')
    await this.#o.db
      .insertInto('deadLetters')
      .values({
        // A parser's message quotes the payload (NULs and all): stored escaped, or the insert
        // itself fails and the garbage is counted but not kept.
        topic: escapeText(message.topic, 500),
        gatewayCode,
        reason: escapeText(reason, 2_000),
        payload: message.payload.subarray(0, DEAD_LETTER_MAX_BYTES),
        payloadBytes: message.payload.length,
      })
      .execute()
  }
}

/**
 * The seq (and oldest) a refused payload claims. Only the topic's own gateway can publish on
 * its topic (the broker's ACL), so the seq is in that gateway's stream whatever else is wrong.
 */
function claimedSeq(payload: Buffer): { seq: number; oldest: number } | undefined {
  if (payload.length > MAX_BATCH_BYTES) return undefined
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { seq, oldest } = value as Record<string, unknown>
  const valid = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1
  if (!valid(seq)) return undefined
  return { seq, oldest: valid(oldest) && oldest <= seq ? oldest : seq }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
