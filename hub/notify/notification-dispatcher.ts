import { createHmac } from 'node:crypto'
import type { Kysely } from 'kysely'
import { createTransport } from 'nodemailer'
import type { HubConfig } from '../config/hub-config.ts'
import type { AlarmSeverity, Database } from '../store/database-schema.ts'

export type SmtpConfig = NonNullable<HubConfig['notifications']['smtp']>

export interface NotifyLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

export interface DispatcherOptions {
  /** How often due deliveries are looked for (a poke looks at once). */
  readonly pollMs?: number
  /** Tries per delivery before it is marked failed. */
  readonly maxAttempts?: number
  /** Absent: e-mail deliveries fail at once, saying so. */
  readonly smtp?: SmtpConfig | undefined
  readonly log?: NotifyLog
  /** Wait before try n+1: base × 2^(n−1), at most max (default 30 s … 1 h). */
  readonly backoffMs?: { readonly base: number; readonly max: number }
  /** Deliveries claimed per round (default 10). */
  readonly batchSize?: number
  /** Time limit of one webhook request (default 5 s). */
  readonly timeoutMs?: number
  /** The clock deciding what is due and when a retry is; tests control it. */
  readonly now?: () => number
}

export const SMTP_NOT_CONFIGURED = 'SMTP is not configured: notifications.smtp in the hub config'

/**
 * A claimed delivery is leased to this hub for so long (its next_attempt_at moves ahead): no
 * other hub takes it meanwhile, and if this one dies mid-send it is tried again afterwards.
 * Far longer than any send can take (webhook 5 s, SMTP timeouts below).
 */
const LEASE_MS = 120_000

const severityZh: Record<AlarmSeverity, string> = {
  critical: '严重',
  major: '重要',
  minor: '次要',
  info: '提示',
}
const breachZh: Record<string, string> = { response: '响应超时', completion: '完成超时' }

type Outcome = { ok: true } | { ok: false; error: string; permanent: boolean }

interface Claimed {
  readonly id: string
  readonly channelId: string
  readonly topic: string
  readonly payload: Record<string, unknown>
  readonly attempts: number
  readonly createdAt: Date
}

interface Channel {
  readonly id: string
  readonly estateId: string
  readonly estateName: string
  readonly timezone: string
  readonly name: string
  readonly kind: 'webhook' | 'email'
  readonly url: string | null
  readonly secret: string | null
  readonly recipients: string[] | null
  readonly enabled: boolean
}

const quiet: NotifyLog = { info() {}, warn() {}, error() {} }

/**
 * Sends the notification outbox (notification_deliveries, filled by enqueueNotice in the
 * transaction that raised the alarm or escalated the order): webhooks (signed JSON POSTs) and
 * e-mail. Each round claims a few due deliveries in one statement (`for update skip locked`,
 * and a lease), so hubs sharing one PostgreSQL never send one twice, and no transaction is
 * held while sending (PGlite has one connection). A failed send is retried with exponential
 * back-off and marked failed after `maxAttempts`; staff see it and can retry it through the
 * API. Receivers de-duplicate on the delivery id: a hub dying between the send and the mark
 * sends that one again.
 */
export class NotificationDispatcher {
  readonly #db: Kysely<Database>
  readonly #pollMs: number
  readonly #maxAttempts: number
  readonly #smtp: SmtpConfig | undefined
  readonly #backoff: { readonly base: number; readonly max: number }
  readonly #batchSize: number
  readonly #timeoutMs: number
  readonly #now: () => number
  #log: NotifyLog
  #timer: NodeJS.Timeout | undefined
  #current: Promise<void> = Promise.resolve()
  #busy = false
  #again = false
  #stopped = false
  #transport: ReturnType<typeof createTransport> | undefined

  constructor(db: Kysely<Database>, options: DispatcherOptions = {}) {
    this.#db = db
    this.#pollMs = options.pollMs ?? 1000
    this.#maxAttempts = options.maxAttempts ?? 10
    this.#smtp = options.smtp
    this.#log = options.log ?? quiet
    this.#backoff = options.backoffMs ?? { base: 30_000, max: 3_600_000 }
    this.#batchSize = options.batchSize ?? 10
    this.#timeoutMs = options.timeoutMs ?? 5_000
    this.#now = options.now ?? Date.now
  }

  /**
   * Starts polling (and sends what is due now); `log` replaces the one given at construction.
   * With a `lease` (a running hub's, hub/kernel/job-lease.ts) the timer's poll runs only on the
   * hub holding it: N hubs would find the same rows (SKIP LOCKED keeps that safe, not cheap), and
   * the poll's work — retries coming due, deliveries of a hub that died — needs one hub. A poke
   * (a notice this hub just queued, a retry through its API) still drains here at once, lease
   * or not: it is what makes a notification leave within milliseconds, and skip locked keeps it
   * from sending what another hub has claimed. If the holder dies, due retries wait for the TTL.
   */
  start(log?: NotifyLog, lease?: { hold(): Promise<boolean> }): void {
    if (log) this.#log = log
    if (this.#timer || this.#stopped) return
    const poll = lease
      ? () =>
          void lease
            .hold()
            .then((held) => held && this.poke())
            .catch((error: unknown) =>
              this.#log.warn({ err: (error as Error).message }, 'notifications: poll lease not asked'),
            )
      : () => this.poke()
    this.#timer = setInterval(poll, this.#pollMs)
    this.#timer.unref()
    poll()
  }

  /** Look for due deliveries now (a notice was just queued, a delivery put back to pending). */
  poke(): void {
    void this.drain()
  }

  /** Sends everything due now; resolves when done (including a round asked for meanwhile). */
  drain(): Promise<void> {
    if (this.#stopped) return this.#current
    if (this.#busy) {
      this.#again = true
      return this.#current
    }
    this.#busy = true
    this.#current = this.#loop().finally(() => {
      this.#busy = false
    })
    return this.#current
  }

  /** Stops polling and waits for the sends in flight (they are recorded before it resolves). */
  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#current
    this.#transport?.close()
    this.#transport = undefined
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false
        while (!this.#stopped && (await this.#round()) === this.#batchSize) {
          // a full batch: more may be due
        }
      } while (this.#again && !this.#stopped)
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'notifications: outbox not read')
    }
  }

  /** Claims up to one batch of due deliveries, sends them, records each outcome. */
  async #round(): Promise<number> {
    const now = this.#now()
    const claimed = await this.#db
      .updateTable('notificationDeliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), nextAttemptAt: new Date(now + LEASE_MS) }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('notificationDeliveries')
          .select('id')
          .where('status', '=', 'pending')
          .where('nextAttemptAt', '<=', new Date(now))
          .orderBy('nextAttemptAt')
          .orderBy('id')
          .limit(this.#batchSize)
          .forUpdate()
          .skipLocked(),
      )
      .returning(['id', 'channelId', 'topic', 'payload', 'attempts', 'createdAt'])
      .execute()
    if (claimed.length === 0) return 0
    const channels = await this.#channels([...new Set(claimed.map((d) => d.channelId))])
    await Promise.all(
      claimed.map(async (row) => {
        const delivery: Claimed = { ...row, id: String(row.id), createdAt: new Date(row.createdAt) }
        const outcome = await this.#send(delivery, channels.get(delivery.channelId))
        await this.#record(delivery, channels.get(delivery.channelId), outcome)
      }),
    )
    return claimed.length
  }

  async #channels(ids: string[]): Promise<Map<string, Channel>> {
    const rows = await this.#db
      .selectFrom('notificationChannels as c')
      .innerJoin('orgNodes as o', 'o.id', 'c.estateId')
      .select([
        'c.id',
        'c.estateId',
        'o.name as estateName',
        'o.timezone',
        'c.name',
        'c.kind',
        'c.url',
        'c.secret',
        'c.recipients',
        'c.enabled',
      ])
      .where('c.id', 'in', ids) // bounded: the channels of one claimed batch (batchSize)
      .execute()
    return new Map(rows.map((r) => [r.id, { ...r, timezone: r.timezone ?? 'Asia/Shanghai' }]))
  }

  async #send(delivery: Claimed, channel: Channel | undefined): Promise<Outcome> {
    if (!channel) return { ok: false, error: 'the channel no longer exists', permanent: true }
    if (!channel.enabled)
      return { ok: false, error: 'the channel was disabled before this was sent', permanent: true }
    try {
      return channel.kind === 'webhook'
        ? await this.#webhook(delivery, channel)
        : await this.#email(delivery, channel)
    } catch (error) {
      return { ok: false, error: `${channel.kind}: ${(error as Error).message}`, permanent: false }
    }
  }

  async #webhook(delivery: Claimed, channel: Channel): Promise<Outcome> {
    const body = JSON.stringify({
      id: delivery.id,
      topic: delivery.topic,
      estateId: channel.estateId,
      channel: { id: channel.id, name: channel.name },
      payload: delivery.payload,
      createdAt: delivery.createdAt.toISOString(),
    })
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'EstateHub-Notifications',
      'x-estatehub-topic': delivery.topic,
      'x-estatehub-delivery': delivery.id,
    }
    if (channel.secret)
      headers['x-estatehub-signature'] =
        `sha256=${createHmac('sha256', channel.secret).update(body).digest('hex')}`
    let response: Response
    try {
      response = await fetch(channel.url ?? '', {
        method: 'POST',
        headers,
        body,
        // A redirect is an answer, not a success: the body is not re-sent to another address.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (error) {
      return { ok: false, error: `webhook: ${fetchProblem(error, this.#timeoutMs)}`, permanent: false }
    }
    if (response.status >= 200 && response.status < 300) {
      await response.body?.cancel().catch(() => {})
      return { ok: true }
    }
    const text = await response.text().catch(() => '')
    const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200)
    return {
      ok: false,
      error: `webhook: HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
      permanent: false,
    }
  }

  async #email(delivery: Claimed, channel: Channel): Promise<Outcome> {
    const smtp = this.#smtp
    if (!smtp) return { ok: false, error: SMTP_NOT_CONFIGURED, permanent: true }
    this.#transport ??= createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    })
    try {
      await this.#transport.sendMail({
        from: smtp.from,
        to: channel.recipients ?? [],
        subject: emailSubject(delivery.topic, delivery.payload),
        text: emailText(delivery, channel),
        headers: { 'X-EstateHub-Delivery': delivery.id, 'X-EstateHub-Topic': delivery.topic },
      })
      return { ok: true }
    } catch (error) {
      const e = error as Error & { responseCode?: number; code?: string }
      // 5xx is the server's final word (a refused recipient); a bad login may be fixed meanwhile.
      const permanent =
        e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600 && e.code !== 'EAUTH'
      return { ok: false, error: `email: ${e.message}`, permanent }
    }
  }

  async #record(delivery: Claimed, channel: Channel | undefined, outcome: Outcome): Promise<void> {
    const now = this.#now()
    const fields = {
      delivery: delivery.id,
      topic: delivery.topic,
      channel: channel?.name ?? delivery.channelId,
      attempt: delivery.attempts,
    }
    const mine = this.#db
      .updateTable('notificationDeliveries')
      .where('id', '=', delivery.id as never)
      .where('status', '=', 'pending')
    if (outcome.ok) {
      await mine.set({ status: 'sent', sentAt: new Date(now), lastError: null }).execute()
      this.#log.info(fields, 'notification sent')
      return
    }
    const error = outcome.error.slice(0, 500)
    if (outcome.permanent || delivery.attempts >= this.#maxAttempts) {
      await mine.set({ status: 'failed', lastError: error }).execute()
      this.#log.warn({ ...fields, err: error }, 'notification failed: not tried again')
      return
    }
    const wait = Math.min(this.#backoff.max, this.#backoff.base * 2 ** (delivery.attempts - 1))
    await mine.set({ nextAttemptAt: new Date(now + wait), lastError: error }).execute()
    this.#log.warn(
      { ...fields, err: error, retryInS: Math.round(wait / 1000) },
      'notification not sent: will retry',
    )
  }
}

function fetchProblem(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`
  return e.cause?.message ?? e.cause?.code ?? e.message
}

const text = (value: unknown) =>
  typeof value === 'string' ? value : value === undefined ? '' : String(value)

/** A short subject, Chinese first: `[严重] 门被强行打开: door-ctl/东门`. */
export function emailSubject(topic: string, payload: Record<string, unknown>): string {
  const severity = severityZh[payload.severity as AlarmSeverity] ?? text(payload.severity)
  switch (topic) {
    case 'alarm.raised':
      return `[${severity}] ${text(payload.rule)}: ${text(payload.source)}`
    case 'alarm.cleared':
      return `[已恢复] ${text(payload.rule)}: ${text(payload.source)}`
    case 'work_order.escalated': {
      const breach = breachZh[text(payload.breach)] ?? '工单超时'
      const department = payload.department ? `, ${text(payload.department)}` : ''
      return `[${breach}] ${text(payload.title)}${department}`
    }
    default:
      return `[EstateHub] ${topic}`
  }
}

const headings: Record<string, string> = {
  'alarm.raised': '告警 Alarm raised',
  'alarm.cleared': '告警恢复 Alarm cleared',
  'work_order.escalated': '工单超时升级 Work order escalated',
}

const labels: Record<string, string> = {
  rule: '规则 Rule',
  kind: '类型 Kind',
  severity: '级别 Severity',
  source: '来源 Source',
  at: '时间 At',
  raisedAt: '发生时间 Raised at',
  clearedAt: '恢复时间 Cleared at',
  title: '工单 Work order',
  priority: '优先级 Priority',
  department: '部门 Department',
  breach: '超时 Breach',
  respondBy: '响应期限 Respond by',
  completeBy: '完成期限 Complete by',
  workOrderId: '工单号 Work order id',
  alarmId: '告警号 Alarm id',
  details: '详情 Details',
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/** `2025-06-01 08:30:00 (Asia/Shanghai)`: the estate's own clock. */
function localTime(iso: string, timezone: string): string {
  try {
    const local = new Date(iso).toLocaleString('sv-SE', { timeZone: timezone, hour12: false })
    return `${local} (${timezone})`
  } catch {
    return iso
  }
}

/** The plain-text body: one labelled line per payload field, times in the estate's time zone. */
export function emailText(
  delivery: { id: string; topic: string; payload: Record<string, unknown> },
  channel: { name: string; estateName: string; timezone: string },
): string {
  const lines = [`${headings[delivery.topic] ?? delivery.topic} — ${channel.estateName}`, '']
  for (const [key, value] of Object.entries(delivery.payload)) {
    if (value === null || value === undefined) continue
    let shown: string
    if (key === 'severity') shown = `${severityZh[value as AlarmSeverity] ?? ''} (${text(value)})`
    else if (key === 'breach') shown = `${breachZh[text(value)] ?? ''} (${text(value)})`
    else if (typeof value === 'string' && ISO.test(value)) shown = localTime(value, channel.timezone)
    else if (typeof value === 'object') shown = JSON.stringify(value)
    else shown = String(value)
    lines.push(`${labels[key] ?? key}: ${shown}`)
  }
  lines.push('', '--', `EstateHub · ${channel.name} · ${delivery.topic} · delivery ${delivery.id}`)
  return `${lines.join('\n')}\n`
}
