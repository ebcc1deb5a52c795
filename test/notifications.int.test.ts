import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UplinkBatch, WireEvent } from '../gateway/contract/index.ts'
import { AlarmEngine } from '../hub/alarms/alarm-engine.ts'
import { escalateBreaches } from '../hub/alarms/sla-watch.ts'
import {
  type DispatcherOptions,
  NotificationDispatcher,
  SMTP_NOT_CONFIGURED,
} from '../hub/notify/notification-dispatcher.ts'
import { jsonb } from '../hub/store/jsonb.ts'
import { captureLog, type Site, seedSite } from './support/ingest-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Notifications to the on-duty team, end to end: the real alarm engine raises, its transaction
 * queues the deliveries, the dispatcher sends them to a real HTTP receiver (signed) and a real
 * SMTP server; retries follow a controlled clock.
 */

interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly raw: string
  readonly body: {
    id: string
    topic: string
    estateId: string
    channel: { id: string; name: string }
    payload: Record<string, any>
    createdAt: string
  }
}

interface Mail {
  readonly from: string
  readonly to: string[]
  readonly raw: string
  readonly user: string | undefined
}

const SECRET = 'whsec-0123456789abcdef-duty'
const SMTP_PASSWORD = 'smtp-pass-do-not-log'

/** A MIME header's text: unfolded, encoded words (=?UTF-8?B|Q?…?=) decoded. */
function mimeHeader(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ')
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
  if (line === undefined) return ''
  const bytes: Buffer[] = []
  let out = ''
  const flush = () => {
    out += Buffer.concat(bytes.splice(0)).toString('utf8')
  }
  // Adjacent encoded words join without the space between them (RFC 2047).
  const text = line.slice(name.length + 1).trim()
  for (const part of text.split(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)/).filter((p) => p !== '')) {
    const word = /^=\?[^?]+\?([BbQq])\?([^?]*)\?=$/.exec(part)
    if (word) {
      bytes.push(
        word[1]!.toUpperCase() === 'B'
          ? Buffer.from(word[2]!, 'base64')
          : qpBytes(word[2]!.replace(/_/g, ' ')),
      )
    } else if (part.trim() !== '' || bytes.length === 0) {
      flush()
      out += part
    }
  }
  flush()
  return out
}

function qpBytes(text: string): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(text.charCodeAt(i))
  }
  return Buffer.from(bytes)
}

/** The text of a single-part message, its transfer encoding undone. */
function mimeBody(raw: string): string {
  const [, ...rest] = raw.split(/\r?\n\r?\n/)
  const body = rest.join('\n\n')
  const encoding = mimeHeader(raw, 'content-transfer-encoding').toLowerCase()
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (encoding === 'quoted-printable') return qpBytes(body.replace(/=\r?\n/g, '')).toString('utf8')
  return body
}

for (const backend of storeBackends()) {
  describe(`notifications to the on-duty team (${backend.name})`, () => {
    let hub: TestHub
    let token: string
    let site: Site
    let engine: AlarmEngine
    let receiver: Server
    let receiverUrl: string
    let smtp: SMTPServer
    let smtpPort: number
    const received: Received[] = []
    const mails: Mail[] = []
    /** Per path: the statuses to answer, in turn; 200 once they are used up. */
    const plan = new Map<string, number[]>()
    const channels: Record<string, string> = {}
    const log = captureLog()
    let skew = 0
    let seq = 0

    const dispatcher = (options: DispatcherOptions = {}) =>
      new NotificationDispatcher(hub.store.db, { log, now: () => Date.now() + skew, ...options })
    const at = (path: string) => received.filter((r) => r.path === path)
    const deliveriesOf = (channelId: string) =>
      hub.store.db
        .selectFrom('notificationDeliveries')
        .selectAll()
        .where('channelId', '=', channelId)
        .orderBy('id')
        .execute()
    /** Feeds device events to the alarm engine as a committed batch of the site's gateway. */
    const events = async (...list: WireEvent[]) => {
      const batch: UplinkBatch = {
        v: 1,
        gateway: site.gatewayCode,
        session: 's',
        seq: ++seq,
        oldest: seq,
        sentAt: Date.now(),
        historical: false,
        readings: [],
        events: list,
      }
      await engine.handle({
        gateway: {
          id: site.gatewayId,
          code: site.gatewayCode,
          estateId: site.estateId,
          enabled: true,
          secretHash: '',
          points: new Map(),
          devices: site.deviceIds,
        },
        batch,
        stored: [],
      })
    }
    const forced = (source: string): WireEvent => ({ s: source, t: Date.now(), type: 'forced', d: {} })
    const channel = async (name: string, body: Record<string, unknown>) => {
      const created = await hub.call(token, {
        method: 'POST',
        url: '/api/v1/notification-channels',
        payload: { estateId: site.estateId, name, ...body },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      channels[name] = created.body.id
      return created.body
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      token = await hub.userWithGrants('duty-admin', [{ role: 'admin', nodeId: null }])
      site = await seedSite(hub.store.db, {
        code: 'NTF',
        points: [
          { device: 'door-ctl', point: 'status', kind: 'state' },
          { device: 'leak-1', point: 'wet', kind: 'state' },
        ],
      })
      const rule = (values: Record<string, unknown>) =>
        hub.store.db
          .insertInto('alarmRules')
          .values({ estateId: site.estateId, ...values } as never)
          .execute()
      await rule({
        name: '门被强行打开',
        kind: 'event',
        eventType: 'forced',
        severity: 'critical',
        workOrderCategory: 'security',
        workOrderPriority: 'urgent',
        department: '安保部',
      })
      await rule({
        name: '刷卡被拒',
        kind: 'event',
        eventType: 'denied',
        severity: 'minor',
        department: '安保部',
      })
      await rule({
        name: '漏水',
        kind: 'event',
        eventType: 'alarm_input',
        severity: 'major',
        workOrderCategory: 'plumbing',
        workOrderPriority: 'high',
        department: '工程部',
      })
      engine = new AlarmEngine(hub.store.db, captureLog())

      receiver = createServer((request, response) => {
        const chunks: Buffer[] = []
        request.on('data', (c: Buffer) => chunks.push(c))
        request.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8')
          const path = request.url ?? '/'
          received.push({ path, headers: request.headers, raw, body: JSON.parse(raw) })
          const status = plan.get(path)?.shift() ?? 200
          response
            .writeHead(status, { 'content-type': 'text/plain' })
            .end(status === 200 ? 'ok' : 'receiver broke')
        })
      })
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`

      smtp = new SMTPServer({
        authOptional: true,
        allowInsecureAuth: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onAuth(auth, _session, callback) {
          if (auth.username === 'hub' && auth.password === SMTP_PASSWORD)
            callback(null, { user: auth.username })
          else callback(new Error('bad login'))
        },
        onData(stream, session, callback) {
          const chunks: Buffer[] = []
          stream.on('data', (c: Buffer) => chunks.push(c))
          stream.on('end', () => {
            const from = session.envelope.mailFrom
            mails.push({
              from: from ? from.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks).toString('utf8'),
              user: session.user as string | undefined,
            })
            callback()
          })
        },
      })
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()))
      smtpPort = (smtp.server.address() as AddressInfo).port

      // The security team's webhook (signed), another department's, a critical-only one, one that fails
      // at first, the managers' (escalations only), and the security team's e-mail.
      await channel('security-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/security`,
        secret: SECRET,
        department: '安保部',
        topics: ['alarm.raised'],
      })
      await channel('engineering-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/engineering`,
        department: '工程部',
      })
      await channel('critical-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/critical`,
        minSeverity: 'critical',
      })
      await channel('flaky-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/flaky`,
        department: '安保部',
        topics: ['alarm.raised'],
        enabled: false,
      })
      await channel('managers-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/managers`,
        topics: ['work_order.escalated'],
      })
      await channel('security-mail', {
        kind: 'email',
        recipients: ['duty1@example.com', 'duty2@example.com'],
        department: '安保部',
        topics: ['alarm.raised'],
        enabled: false,
      })
    })
    afterAll(async () => {
      await hub?.close()
      await new Promise((resolve) => receiver?.close(resolve))
      await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()))
    })

    it('sends a signed webhook for an alarm to the matching channels only', async () => {
      await events(forced('door-ctl/east-gate'))
      await dispatcher().drain()
      expect(at('/engineering')).toEqual([]) // another department
      expect(at('/managers')).toEqual([]) // escalations only
      expect(at('/critical')).toHaveLength(1) // any department, critical and above
      const [hook] = at('/security')
      expect(at('/security')).toHaveLength(1)
      // The signature is over the raw body, with the channel's secret.
      const expected = `sha256=${createHmac('sha256', SECRET).update(hook!.raw).digest('hex')}`
      const signature = String(hook!.headers['x-estatehub-signature'])
      expect(timingSafeEqual(Buffer.from(signature), Buffer.from(expected))).toBe(true)
      expect(hook!.headers['content-type']).toBe('application/json')
      expect(hook!.headers['x-estatehub-topic']).toBe('alarm.raised')
      const [delivery] = await deliveriesOf(channels['security-hook']!)
      expect(hook!.headers['x-estatehub-delivery']).toBe(String(delivery!.id))
      expect(hook!.body).toMatchObject({
        id: String(delivery!.id),
        topic: 'alarm.raised',
        estateId: site.estateId,
        channel: { id: channels['security-hook'], name: 'security-hook' },
        payload: {
          rule: '门被强行打开',
          severity: 'critical',
          source: 'door-ctl/east-gate',
          priority: 'urgent',
        },
      })
      expect(hook!.body.payload.workOrderId).toMatch(/^[0-9a-f-]{36}$/)
      expect(Date.parse(hook!.body.createdAt)).not.toBeNaN()
      expect(delivery).toMatchObject({ status: 'sent', attempts: 1, lastError: null })
      // The unsigned channel has no signature header.
      expect(at('/critical')[0]!.headers['x-estatehub-signature']).toBeUndefined()

      // A minor alarm: below every channel's minimum severity, so nothing is queued or sent.
      const before = received.length
      await events({ s: 'door-ctl/east-gate', t: Date.now(), type: 'denied', d: {} })
      expect(
        await hub.store.db.selectFrom('alarms').select('id').where('severity', '=', 'minor').execute(),
      ).toHaveLength(1)
      await dispatcher().drain()
      expect(received.length).toBe(before)
    })

    it('retries a receiver that answers 500, and it gets the notice exactly once', async () => {
      const flaky = channels['flaky-hook']!
      const patched = await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${flaky}`,
        payload: { enabled: true },
      })
      expect(patched.status, JSON.stringify(patched.body)).toBe(200)
      plan.set('/flaky', [500])
      const sender = dispatcher()
      await events(forced('door-ctl/west-gate'))
      // The dispatcher's clock before and after the attempt: it failed somewhere in between.
      const triedFrom = Date.now() + skew
      await sender.drain()
      const triedBy = Date.now() + skew
      expect(at('/flaky')).toHaveLength(1)
      let [delivery] = await deliveriesOf(flaky)
      expect(delivery).toMatchObject({ status: 'pending', attempts: 1 })
      expect(delivery!.lastError).toBe('webhook: HTTP 500: receiver broke')
      // Next try 30 s (the first back-off) after the failed attempt, by the dispatcher's clock,
      // however long the attempt took; and not before.
      const retryAt = new Date(delivery!.nextAttemptAt).getTime()
      expect(retryAt - 30_000).toBeGreaterThanOrEqual(triedFrom)
      expect(retryAt - 30_000).toBeLessThanOrEqual(triedBy)
      await sender.drain()
      expect(at('/flaky')).toHaveLength(1)
      skew += 31_000
      await sender.drain()
      expect(at('/flaky')).toHaveLength(2)
      ;[delivery] = await deliveriesOf(flaky)
      expect(delivery).toMatchObject({ status: 'sent', attempts: 2, lastError: null })
      const ids = at('/flaky').map((r) => r.headers['x-estatehub-delivery'])
      expect(ids).toEqual([String(delivery!.id), String(delivery!.id)])
      skew += 3_600_000
      await sender.drain()
      expect(at('/flaky')).toHaveLength(2)
      await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${flaky}`,
        payload: { enabled: false },
      })
    })

    it('marks a delivery failed after maxAttempts, shows it to staff, and sends it again on retry', async () => {
      const down = await channel('down-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/down`,
        department: '安保部',
        topics: ['alarm.raised'],
      })
      plan.set('/down', [503, 503])
      const sender = dispatcher({ maxAttempts: 2 })
      await events(forced('door-ctl/south-gate'))
      await sender.drain()
      skew += 31_000
      await sender.drain()
      expect(at('/down')).toHaveLength(2)
      let [delivery] = await deliveriesOf(down.id)
      expect(delivery).toMatchObject({
        status: 'failed',
        attempts: 2,
        lastError: 'webhook: HTTP 503: receiver broke',
      })
      skew += 3_600_000
      await sender.drain()
      expect(at('/down')).toHaveLength(2)

      const failed = await hub.call(token, {
        method: 'GET',
        url: `/api/v1/notification-deliveries?estateId=${site.estateId}&status=failed`,
      })
      expect(failed.status).toBe(200)
      expect(failed.body.items).toEqual([
        expect.objectContaining({
          id: String(delivery!.id),
          channelId: down.id,
          channelName: 'down-hook',
          kind: 'webhook',
          status: 'failed',
          attempts: 2,
          lastError: 'webhook: HTTP 503: receiver broke',
        }),
      ])
      const all = await hub.call(token, {
        method: 'GET',
        url: `/api/v1/notification-deliveries?estateId=${site.estateId}`,
      })
      const created = all.body.items.map((d: { createdAt: string }) => d.createdAt)
      expect(created).toEqual([...created].sort().reverse()) // newest first
      const sent = await hub.call(token, {
        method: 'GET',
        url: `/api/v1/notification-deliveries?channelId=${channels['security-hook']}`,
      })
      expect(sent.body.items.every((d: { status: string }) => d.status === 'sent')).toBe(true)

      // Only a failed one is retried; retrying puts it back with its attempts reset.
      const notFailed = await hub.call(token, {
        method: 'POST',
        url: `/api/v1/notification-deliveries/${sent.body.items[0].id}/retry`,
      })
      expect(notFailed.status).toBe(409)
      const retried = await hub.call(token, {
        method: 'POST',
        url: `/api/v1/notification-deliveries/${delivery!.id}/retry`,
      })
      expect(retried.status, JSON.stringify(retried.body)).toBe(200)
      expect(retried.body).toMatchObject({ status: 'pending', attempts: 0 })
      await sender.drain()
      expect(at('/down')).toHaveLength(3)
      ;[delivery] = await deliveriesOf(down.id)
      expect(delivery).toMatchObject({ status: 'sent', attempts: 1, lastError: null })
      await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${down.id}`,
        payload: { enabled: false },
      })
    })

    it('notifies the managers and the department of an order escalated past its SLA', async () => {
      await events({ s: 'leak-1/B1', t: Date.now(), type: 'alarm_input', d: {} })
      const leakOrder = await hub.store.db
        .selectFrom('workOrders')
        .select('id')
        .where('category', '=', 'plumbing')
        .executeTakeFirstOrThrow()
      await dispatcher().drain()
      expect(at('/engineering').map((r) => r.body.topic)).toEqual(['alarm.raised'])
      const escalated = await escalateBreaches(hub.store.db, new Date(Date.now() + 30 * 86_400_000))
      expect(escalated.length).toBeGreaterThanOrEqual(2)
      await dispatcher().drain()
      const managers = at('/managers')
      expect(managers).toHaveLength(escalated.length)
      expect(managers.every((r) => r.headers['x-estatehub-topic'] === 'work_order.escalated')).toBe(true)
      const engineering = at('/engineering').filter((r) => r.body.topic === 'work_order.escalated')
      expect(engineering).toHaveLength(1)
      expect(engineering[0]!.body.payload).toMatchObject({
        workOrderId: leakOrder.id,
        department: '工程部',
        priority: 'high',
        breach: 'response',
      })
      // Escalations count as major: the critical-only channel hears nothing of them.
      expect(at('/critical').every((r) => r.body.topic === 'alarm.raised')).toBe(true)
    })

    it('fails an e-mail delivery at once when SMTP is not configured, and sends it by SMTP once it is', async () => {
      const mail = channels['security-mail']!
      await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${mail}`,
        payload: { enabled: true },
      })
      await events(forced('door-ctl/东门'))
      await dispatcher().drain()
      let [delivery] = await deliveriesOf(mail)
      expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastError: SMTP_NOT_CONFIGURED })
      expect(mails).toEqual([])

      const retried = await hub.call(token, {
        method: 'POST',
        url: `/api/v1/notification-deliveries/${delivery!.id}/retry`,
      })
      expect(retried.status).toBe(200)
      const sender = dispatcher({
        smtp: {
          host: '127.0.0.1',
          port: smtpPort,
          secure: false,
          user: 'hub',
          password: SMTP_PASSWORD,
          from: 'EstateHub <hub@example.com>',
        },
      })
      await sender.drain()
      await sender.stop()
      ;[delivery] = await deliveriesOf(mail)
      expect(delivery).toMatchObject({ status: 'sent', attempts: 1, lastError: null })
      expect(mails).toHaveLength(1)
      const [sent] = mails
      expect(sent!.user).toBe('hub')
      expect(sent!.from).toBe('hub@example.com')
      expect(sent!.to).toEqual(['duty1@example.com', 'duty2@example.com'])
      expect(mimeHeader(sent!.raw, 'subject')).toBe('[严重] 门被强行打开: door-ctl/东门')
      expect(mimeHeader(sent!.raw, 'x-estatehub-delivery')).toBe(String(delivery!.id))
      const text = mimeBody(sent!.raw)
      expect(text).toContain('级别 Severity: 严重 (critical)')
      expect(text).toContain('来源 Source: door-ctl/东门')
      expect(text).toContain('(Asia/Shanghai)')
      await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${mail}`,
        payload: { enabled: false },
      })
    })

    it('sends each delivery once when two hubs drain the same outbox', async () => {
      const bulk = await channel('bulk-hook', {
        kind: 'webhook',
        url: `${receiverUrl}/bulk`,
        topics: ['alarm.raised'],
      })
      await hub.store.db
        .insertInto('notificationDeliveries')
        .values(
          Array.from({ length: 30 }, (_, i) => ({
            channelId: bulk.id,
            topic: 'alarm.raised' as const,
            payload: jsonb({ n: i }),
          })),
        )
        .execute()
      const [one, two] = [dispatcher({ batchSize: 4 }), dispatcher({ batchSize: 4 })]
      await Promise.all([one.drain(), two.drain(), one.drain()])
      const ids = at('/bulk').map((r) => r.body.id)
      expect(ids).toHaveLength(30)
      expect(new Set(ids).size).toBe(30)
      const states = await deliveriesOf(bulk.id)
      expect(states.every((d) => d.status === 'sent' && d.attempts === 1)).toBe(true)
    })

    it('keeps the secret write-only and refuses a bad URL or address, naming the field', async () => {
      const hook = channels['security-hook']!
      const read = await hub.call(token, { method: 'GET', url: `/api/v1/notification-channels/${hook}` })
      expect(read.status).toBe(200)
      expect(read.body).toMatchObject({ kind: 'webhook', hasSecret: true, department: '安保部' })
      // Only the origin is shown: a bot's key in the path or query is as secret as the secret.
      expect(read.body.url).toBe(`${new URL(receiverUrl).origin}/…`)
      expect(read.body).not.toHaveProperty('secret')
      const list = await hub.call(token, {
        method: 'GET',
        url: `/api/v1/notification-channels?estateId=${site.estateId}`,
      })
      expect(list.status).toBe(200)
      expect(list.body.items.length).toBeGreaterThanOrEqual(6)
      expect(JSON.stringify(list.body)).not.toContain(SECRET)
      const rotated = await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${hook}`,
        payload: { secret: 'another-long-secret-value' },
      })
      expect(rotated.status).toBe(200)
      expect(rotated.body.hasSecret).toBe(true)
      expect(JSON.stringify(rotated.body)).not.toContain('another-long-secret-value')
      const removed = await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${hook}`,
        payload: { secret: null },
      })
      expect(removed.body.hasSecret).toBe(false)

      const refused = async (payload: Record<string, unknown>, field: string) => {
        const response = await hub.call(token, {
          method: 'POST',
          url: '/api/v1/notification-channels',
          payload: { estateId: site.estateId, name: 'bad', ...payload },
        })
        expect(response.status, JSON.stringify(response.body)).toBe(400)
        expect(response.body.error).toBe('EH_ERR_VALIDATION')
        expect(response.body.details.map((d: { field: string }) => d.field)).toContain(field)
        return response.body
      }
      expect((await refused({ kind: 'webhook', url: 'ftp://example.com/x' }, 'body.url')).message).toContain(
        'http:// or https://',
      )
      await refused({ kind: 'webhook', url: 'not a url' }, 'body.url')
      await refused({ kind: 'webhook' }, 'body.url')
      await refused(
        { kind: 'webhook', url: 'https://example.com/h', recipients: ['a@example.com'] },
        'body.recipients',
      )
      await refused({ kind: 'email', recipients: ['ok@example.com', 'not-an-address'] }, 'body.recipients.1')
      await refused({ kind: 'email', recipients: [] }, 'body.recipients')
      await refused(
        { kind: 'email', recipients: Array.from({ length: 21 }, (_, i) => `p${i}@example.com`) },
        'body.recipients',
      )
      await refused({ kind: 'email' }, 'body.recipients')
      await refused(
        { kind: 'email', recipients: ['a@example.com'], secret: 'a-long-enough-secret' },
        'body.secret',
      )
      await refused({ kind: 'webhook', url: 'https://example.com/h', topics: [] }, 'body.topics')
      await refused(
        { kind: 'webhook', url: 'https://example.com/h', topics: ['alarm.exploded'] },
        'body.topics.0',
      )
      const badPatch = await hub.call(token, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${hook}`,
        payload: { url: 'javascript:alert(1)' },
      })
      expect(badPatch.status).toBe(400)
      expect(badPatch.body.details[0].field).toBe('body.url')

      // A viewer reads channels but may not change them.
      const viewer = await hub.userWithGrants('duty-viewer', [{ role: 'viewer', nodeId: site.estateId }])
      expect(
        (await hub.call(viewer, { method: 'GET', url: `/api/v1/notification-channels/${hook}` })).status,
      ).toBe(200)
      const denied = await hub.call(viewer, {
        method: 'PATCH',
        url: `/api/v1/notification-channels/${hook}`,
        payload: { enabled: false },
      })
      expect(denied.status).toBe(403)
    })

    it('never logs the webhook secret or the SMTP password', () => {
      const text = JSON.stringify(log.lines)
      expect(log.lines.some((l) => l.message === 'notification sent')).toBe(true)
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(SMTP_PASSWORD)
    })
  })
}
