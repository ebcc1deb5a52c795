import { randomUUID } from 'node:crypto'
import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { moveWorkOrder } from '../hub/alarms/work-order-flow.ts'
import { jsonb } from '../hub/store/jsonb.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

/**
 * Work-order, access and alarm reports with hand-worked numbers, on estates A and B of one
 * company, as of 2026-10-31 23:00 in Shanghai over October 2026:
 * - orders back-dated with their timelines, some moved after asOf (a visit, a dispatch): their
 *   state, department, on-time response and completion, return visits and satisfaction at asOf;
 *   cancelled orders in their column only; the day boundary in the estate's zone;
 * - alarms by class (the device's, else the rule's kind) and severity, MTTA, open at asOf;
 * - access events per door and type, late arrivals (received after asOf) left out;
 * - estate, company level; a viewer of A only; CSV and XLSX read back;
 * - one order through the real API, reported "now".
 */
const AS_OF = '2026-10-31T15:00:00.000Z'
const OCT = { from: '2026-10-01', to: '2026-10-31' }
const H = 3_600_000
const at = (iso: string, plusHours = 0) => new Date(Date.parse(iso) + plusHours * H).toISOString()

type Action = 'dispatch' | 'assign' | 'start' | 'complete' | 'visit' | 'close' | 'cancel'
const toStatus: Record<Action, string> = {
  dispatch: 'dispatched',
  assign: 'assigned',
  start: 'in_progress',
  complete: 'done',
  visit: 'return_visit',
  close: 'closed',
  cancel: 'cancelled',
}
/** [action, hours after creation or an ISO instant, department or satisfaction] */
type Step = [Action, number | string, (string | number)?]

for (const backend of storeBackends()) {
  describe(`work-order, access and alarm reports (${backend.name})`, () => {
    let hub: TestHub
    let rootToken: string
    let viewerA: string
    let serviceCo: string
    let companyId: string
    const estates: Record<'A' | 'B', string> = { A: '', B: '' }
    const gateways: Record<'A' | 'B', string> = { A: '', B: '' }
    const devices: Record<string, string> = {}
    const rules: Record<string, string> = {}
    const alarms: Record<string, string> = {}
    const orders: Record<string, string> = {}
    let seq = 0
    let rootUserId = ''

    const get = (token: string, path: string, query: Record<string, string>) =>
      hub.call(token, { method: 'GET', url: `/api/v1/reports/${path}?${new URLSearchParams(query)}` })
    const download = async (token: string, path: string, query: Record<string, string>) => {
      const response = await hub.app.inject({
        method: 'GET',
        url: `/api/v1/reports/${path}?${new URLSearchParams(query)}`,
        headers: { authorization: `Bearer ${token}` },
      })
      return { status: response.statusCode, headers: response.headers, raw: response.rawPayload }
    }
    const create = async (url: string, payload: Record<string, unknown>) => {
      const created = await hub.call(rootToken, { method: 'POST', url, payload })
      expect(created.status, `${url} ${JSON.stringify(created.body)}`).toBe(201)
      return created.body
    }

    /** An order registered at `created` with its timeline, as the flow would have left it. */
    const seedOrder = async (
      key: string,
      o: {
        estate: 'A' | 'B'
        category: string
        created: string
        respondHours: number
        completeHours: number
        steps?: Step[]
        department?: string
        alarm?: string
      },
    ) => {
      const when = (t: number | string) => (typeof t === 'number' ? at(o.created, t) : t)
      const steps = o.steps ?? []
      let status = 'registered'
      let department = o.department ?? null
      let respondedAt: string | null = null
      let completedAt: string | null = null
      let closedAt: string | null = null
      let satisfaction: number | null = null
      for (const [action, t, extra] of steps) {
        status = toStatus[action]
        if (action === 'dispatch') {
          department = extra as string
          respondedAt ??= when(t)
        }
        if (action === 'complete') completedAt = when(t)
        if (action === 'visit') satisfaction = extra as number
        if (action === 'close' || action === 'cancel') closedAt = when(t)
      }
      const row = await hub.store.db
        .insertInto('workOrders')
        .values({
          estateId: estates[o.estate],
          source: o.alarm ? 'alarm' : 'resident',
          alarmId: o.alarm ? alarms[o.alarm]! : null,
          category: o.category,
          priority: 'high',
          department,
          title: key,
          description: null,
          buildingId: null,
          unitId: null,
          deviceId: null,
          status: status as never,
          assigneeId: null,
          respondBy: at(o.created, o.respondHours),
          completeBy: at(o.created, o.completeHours),
          respondedAt,
          completedAt,
          closedAt,
          satisfaction,
          createdBy: null,
          ...({ createdAt: o.created } as object),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      orders[key] = row.id
      const timeline = [
        { at: o.created, action: 'created', fromStatus: null, toStatus: 'registered', data: {} },
        ...steps.map(([action, t, extra], i) => ({
          at: when(t),
          action,
          fromStatus: i === 0 ? 'registered' : toStatus[steps[i - 1]![0]],
          toStatus: toStatus[action],
          data:
            action === 'dispatch' ? { department: extra } : action === 'visit' ? { satisfaction: extra } : {},
        })),
      ]
      for (const e of timeline)
        await hub.store.db
          .insertInto('workOrderEvents')
          .values({ workOrderId: row.id, by: null, note: null, ...e, data: jsonb(e.data) })
          .execute()
    }

    const seedAlarm = async (
      key: string,
      o: {
        estate: 'A' | 'B'
        rule: string
        device: string | null
        source: string
        severity: string
        status: 'active' | 'acknowledged' | 'cleared' | 'closed'
        raised: string
        ackAfterMs?: number
        ackAt?: string
        closed?: string
      },
    ) => {
      const ackAt =
        o.ackAt ??
        (o.ackAfterMs !== undefined ? new Date(Date.parse(o.raised) + o.ackAfterMs).toISOString() : null)
      const row = await hub.store.db
        .insertInto('alarms')
        .values({
          estateId: estates[o.estate],
          ruleId: rules[o.rule]!,
          source: o.source,
          deviceId: o.device ? devices[o.device]! : null,
          pointId: null,
          status: o.status,
          severity: o.severity,
          raisedAt: o.raised,
          lastSeenAt: o.raised,
          acknowledgedBy: ackAt ? rootUserId : null,
          acknowledgedAt: ackAt,
          clearedAt: o.status === 'cleared' || o.status === 'closed' ? (o.closed ?? o.raised) : null,
          closedAt: o.closed ?? null,
          details: jsonb({}),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      alarms[key] = row.id
    }

    const seedEvent = async (
      estate: 'A' | 'B',
      source: string,
      type: string,
      ts: string,
      receivedAt = at(ts, 1 / 3600),
    ) => {
      await hub.store.db
        .insertInto('deviceEvents')
        .values({
          estateId: estates[estate],
          gatewayId: gateways[estate],
          deviceId: devices[`${estate}-door`]!,
          source,
          ts,
          type,
          data: jsonb({}),
          historical: receivedAt > at(ts, 1),
          gatewaySeq: ++seq,
          receivedAt,
        })
        .execute()
    }

    beforeAll(async () => {
      hub = await openTestHub(backend)
      rootToken = await hub.userWithGrants('root-admin', [{ role: 'admin', nodeId: null }])
      rootUserId = (
        await hub.store.db
          .selectFrom('users')
          .select('id')
          .where('username', '=', 'root-admin')
          .executeTakeFirstOrThrow()
      ).id
      const group = await create('/api/v1/org-nodes', { kind: 'group', code: 'G1', name: '集团' })
      companyId = (
        await create('/api/v1/org-nodes', { kind: 'company', parentId: group.id, code: 'C1', name: '公司' })
      ).id
      for (const code of ['A', 'B'] as const) {
        estates[code] = (
          await create('/api/v1/org-nodes', {
            kind: 'estate',
            parentId: companyId,
            code,
            name: `Estate ${code}`,
          })
        ).id
        const gateway = await create('/api/v1/gateways', {
          estateId: estates[code],
          code: `gw-${code}`,
          name: 'GW',
        })
        gateways[code] = gateway.gateway.id
        devices[`${code}-door`] = (
          await create('/api/v1/devices', {
            gatewayId: gateways[code],
            code: `${code}-DOOR`,
            name: '门禁控制器',
            protocol: 'access-webhook',
            connection: { controllerId: `ctl-${code}` },
            deviceClass: 'door',
          })
        ).id
        devices[`${code}-pump`] = (
          await create('/api/v1/devices', {
            gatewayId: gateways[code],
            code: `${code}-PUMP`,
            name: '水泵',
            protocol: 'modbus-tcp',
            connection: { host: '127.0.0.1', port: 5020, unitId: 1 },
          })
        ).id
        rules[`${code}-forced`] = (
          await create('/api/v1/alarm-rules', {
            estateId: estates[code],
            name: '门被强行打开',
            kind: 'event',
            eventType: 'forced',
            severity: 'critical',
            workOrderCategory: 'security',
            workOrderPriority: 'urgent',
            department: '安保部',
          })
        ).id
      }
      rules['A-input'] = (
        await create('/api/v1/alarm-rules', {
          estateId: estates.A,
          name: '消防报警输入',
          kind: 'event',
          eventType: 'alarm_input',
          severity: 'major',
        })
      ).id
      rules['A-offline'] = (
        await create('/api/v1/alarm-rules', {
          estateId: estates.A,
          name: '设备离线',
          kind: 'offline',
          offlineMinutes: 10,
          offlineTarget: 'device',
          severity: 'minor',
        })
      ).id
      viewerA = await hub.userWithGrants('viewer-a', [{ role: 'viewer', nodeId: estates.A }])
      serviceCo = await hub.userWithGrants('service-co', [{ role: 'service', nodeId: companyId }])

      // ---- Alarms ----
      const door = { estate: 'A' as const, rule: 'A-forced', device: 'A-door', severity: 'critical' }
      await seedAlarm('al1', {
        ...door,
        source: 'ctl-A/north-gate',
        status: 'closed',
        raised: '2026-10-05T02:00:00.000Z',
        ackAfterMs: 3 * 60_000,
        closed: '2026-10-05T03:00:00.000Z',
      })
      await seedAlarm('al2', {
        ...door,
        source: 'ctl-A/north-gate',
        status: 'cleared',
        raised: '2026-10-06T02:00:00.000Z',
        ackAfterMs: 7 * 60_000,
      })
      // Acknowledged only after asOf: not acknowledged at asOf.
      await seedAlarm('al3', {
        ...door,
        source: 'ctl-A/east-gate',
        status: 'acknowledged',
        raised: '2026-10-07T02:00:00.000Z',
        ackAt: '2026-11-01T02:00:00.000Z',
      })
      await seedAlarm('al4', {
        estate: 'A',
        rule: 'A-input',
        device: 'A-door',
        source: 'ctl-A/fire-panel',
        severity: 'major',
        status: 'closed',
        raised: '2026-10-08T00:00:00.000Z',
        closed: '2026-10-08T01:00:00.000Z',
      })
      // A device without a class: the class is the rule's kind (offline).
      await seedAlarm('al5', {
        estate: 'A',
        rule: 'A-offline',
        device: 'A-pump',
        source: 'A-PUMP',
        severity: 'minor',
        status: 'acknowledged',
        raised: '2026-10-09T00:00:00.000Z',
        ackAfterMs: 150_000,
      })
      // 2026-09-30 23:00 in Shanghai, and after asOf: outside.
      await seedAlarm('al6', {
        ...door,
        source: 'ctl-A/garage',
        status: 'closed',
        raised: '2026-09-30T15:00:00.000Z',
        ackAfterMs: 60_000,
        closed: '2026-09-30T16:00:00.000Z',
      })
      await seedAlarm('al7', {
        ...door,
        source: 'ctl-A/garage-2',
        status: 'active',
        raised: '2026-10-31T15:30:00.000Z',
      })
      await seedAlarm('al8', {
        estate: 'B',
        rule: 'B-forced',
        device: 'B-door',
        source: 'ctl-B/main-gate',
        severity: 'critical',
        status: 'acknowledged',
        raised: '2026-10-20T02:00:00.000Z',
        ackAfterMs: 10.5 * 60_000,
      })

      // ---- Work orders (respond within 2 h, complete within 24 h unless said) ----
      const sla = { respondHours: 2, completeHours: 24 }
      const plumbing = { estate: 'A' as const, category: 'plumbing', ...sla }
      await seedOrder('o1', {
        ...plumbing,
        created: '2026-10-10T01:00:00.000Z',
        steps: [
          ['dispatch', 1, '工程部'],
          ['assign', 1.5],
          ['start', 2],
          ['complete', 20],
          ['visit', 30, 5],
          ['close', 31],
        ],
      })
      // Late response and completion, satisfaction 3.
      await seedOrder('o2', {
        ...plumbing,
        created: '2026-10-12T01:00:00.000Z',
        steps: [
          ['dispatch', 3, '工程部'],
          ['assign', 4],
          ['start', 5],
          ['complete', 30],
          ['visit', 40, 3],
        ],
      })
      // Done; its return visit comes after asOf.
      await seedOrder('o3', {
        ...plumbing,
        created: '2026-10-15T01:00:00.000Z',
        steps: [
          ['dispatch', 1, '工程部'],
          ['assign', 2],
          ['start', 3],
          ['complete', 10],
          ['visit', '2026-11-02T01:00:00.000Z', 1],
        ],
      })
      // Cancelled: in its column, in no rate (its late response would otherwise count).
      await seedOrder('o4', {
        ...plumbing,
        created: '2026-10-16T01:00:00.000Z',
        steps: [
          ['dispatch', 3, '工程部'],
          ['cancel', 4, '重复报修'],
        ],
      })
      // 2026-10-01 00:30 in Shanghai: in October.
      await seedOrder('o8', {
        ...plumbing,
        created: '2026-09-30T16:30:00.000Z',
        steps: [
          ['dispatch', 1, '工程部'],
          ['assign', 2],
          ['start', 3],
          ['complete', 23],
          ['visit', 25, 5],
        ],
      })
      // 2026-09-30 23:59 in Shanghai: in September.
      await seedOrder('o7', {
        ...plumbing,
        created: '2026-09-30T15:59:00.000Z',
        steps: [['dispatch', 1, '工程部']],
      })
      // In progress at asOf, past its completion time.
      await seedOrder('o10', {
        ...plumbing,
        created: '2026-10-20T01:00:00.000Z',
        steps: [
          ['dispatch', 1.5, '客服部'],
          ['assign', 2],
          ['start', 3],
        ],
      })
      const electrical = { estate: 'A' as const, category: 'electrical', ...sla }
      // Response due at 14:00Z, asOf 15:00Z: due and late.
      await seedOrder('o5', { ...electrical, created: '2026-10-31T12:00:00.000Z' })
      // Response due after asOf; dispatched after asOf: registered, no department, in no rate.
      await seedOrder('o6', {
        ...electrical,
        created: '2026-10-31T14:00:00.000Z',
        steps: [['dispatch', 1.5, '安保部']],
      })
      // Registered after asOf (still 2026-10-31 in Shanghai): not in the report.
      await seedOrder('o9', { ...electrical, created: '2026-10-31T15:30:00.000Z' })

      await seedOrder('o12', {
        estate: 'B',
        category: 'plumbing',
        ...sla,
        created: '2026-10-03T01:00:00.000Z',
        steps: [
          ['dispatch', 0.5, '工程部'],
          ['assign', 1],
          ['start', 2],
          ['complete', 6],
          ['visit', 8, 5],
          ['close', 9],
        ],
      })
      // Raised by an alarm with the rule's department; dispatched elsewhere after asOf.
      await seedOrder('o11', {
        estate: 'B',
        category: 'security',
        respondHours: 0.5,
        completeHours: 4,
        created: '2026-10-20T02:00:00.000Z',
        department: '工程部',
        alarm: 'al8',
        steps: [['dispatch', '2026-11-03T00:00:00.000Z', '工程部']],
      })

      // ---- Access events ----
      for (const ts of [
        '2026-09-30T16:00:00.000Z', // 2026-10-01 00:00 in Shanghai
        '2026-10-02T01:00:00.000Z',
        '2026-10-03T01:00:00.000Z',
        '2026-10-31T10:00:00.000Z',
      ])
        await seedEvent('A', 'ctl-A/north-gate', 'granted', ts)
      await seedEvent('A', 'ctl-A/north-gate', 'granted', '2026-09-30T15:59:59.000Z') // September
      // Replayed from the gateway's buffer: received before asOf counts, after does not.
      await seedEvent(
        'A',
        'ctl-A/north-gate',
        'denied',
        '2026-10-04T01:00:00.000Z',
        '2026-10-06T00:00:00.000Z',
      )
      await seedEvent('A', 'ctl-A/north-gate', 'denied', '2026-10-04T02:00:00.000Z')
      await seedEvent(
        'A',
        'ctl-A/north-gate',
        'denied',
        '2026-10-31T14:00:00.000Z',
        '2026-11-01T00:00:00.000Z',
      )
      await seedEvent('A', 'ctl-A/north-gate', 'forced', '2026-10-05T02:00:00.000Z')
      await seedEvent('A', 'ctl-A/north-gate', 'state_change', '2026-10-05T02:00:01.000Z') // not access
      await seedEvent('A', 'ctl-A/east-gate', 'held_open', '2026-10-07T01:00:00.000Z')
      await seedEvent('A', 'ctl-A/east-gate', 'tamper', '2026-10-07T02:00:00.000Z')
      await seedEvent('A', 'ctl-A/fire-panel', 'alarm_input', '2026-10-08T00:00:00.000Z')
      await seedEvent('A', 'ctl-A/fire-panel', 'alarm_input', '2026-10-08T00:05:00.000Z')
      await seedEvent('B', 'ctl-B/main-gate', 'granted', '2026-10-20T01:00:00.000Z')
      await seedEvent('B', 'ctl-B/main-gate', 'denied', '2026-10-20T01:01:00.000Z')
    })
    afterAll(() => hub?.close())

    const states = (s: Partial<Record<string, number>>) => ({
      registered: 0,
      dispatched: 0,
      assigned: 0,
      in_progress: 0,
      done: 0,
      return_visit: 0,
      closed: 0,
      cancelled: 0,
      ...s,
    })

    it('counts orders per state and department as they stood at asOf, with on-time rates', async () => {
      const res = await get(rootToken, 'repair-handling', { nodeId: estates.A, asOf: AS_OF, ...OCT })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body).toMatchObject({ report: 'repair-handling', asOf: AS_OF, ...OCT })
      expect(res.body.targets).toEqual({
        responseMinutes: 120,
        completionRate: '0.9500',
        returnVisitRate: '1.0000',
        satisfactionRate: '0.9000',
      })
      expect(res.body.rows).toEqual([
        {
          estateId: estates.A,
          estateCode: 'A',
          estateName: 'Estate A',
          category: 'electrical',
          department: null,
          total: 2,
          states: states({ registered: 2 }),
          responseDue: 1,
          respondedOnTime: 0,
          responseRate: '0.0000',
          completionDue: 0,
          completedOnTime: 0,
          completionRate: null,
          completed: 0,
          visited: 0,
          returnVisitRate: null,
          averageSatisfaction: null,
          satisfied: 0,
          satisfactionRate: null,
        },
        {
          estateId: estates.A,
          estateCode: 'A',
          estateName: 'Estate A',
          category: 'plumbing',
          department: '客服部',
          total: 1,
          states: states({ in_progress: 1 }),
          responseDue: 1,
          respondedOnTime: 1,
          responseRate: '1.0000',
          completionDue: 1,
          completedOnTime: 0,
          completionRate: '0.0000',
          completed: 0,
          visited: 0,
          returnVisitRate: null,
          averageSatisfaction: null,
          satisfied: 0,
          satisfactionRate: null,
        },
        {
          estateId: estates.A,
          estateCode: 'A',
          estateName: 'Estate A',
          category: 'plumbing',
          department: '工程部',
          total: 5,
          states: states({ done: 1, return_visit: 2, closed: 1, cancelled: 1 }),
          responseDue: 4,
          respondedOnTime: 3,
          responseRate: '0.7500',
          completionDue: 4,
          completedOnTime: 3,
          completionRate: '0.7500',
          completed: 4,
          visited: 3,
          returnVisitRate: '0.7500',
          averageSatisfaction: '4.33',
          satisfied: 2,
          satisfactionRate: '0.6667',
        },
      ])
      expect(res.body.total).toEqual({
        total: 8,
        states: states({ registered: 2, in_progress: 1, done: 1, return_visit: 2, closed: 1, cancelled: 1 }),
        responseDue: 6,
        respondedOnTime: 4,
        responseRate: '0.6667',
        completionDue: 5,
        completedOnTime: 3,
        completionRate: '0.6000',
        completed: 4,
        visited: 3,
        returnVisitRate: '0.7500',
        averageSatisfaction: '4.33',
        satisfied: 2,
        satisfactionRate: '0.6667',
      })
      expect(res.body.byEstate).toEqual([
        { estateId: estates.A, estateCode: 'A', estateName: 'Estate A', ...res.body.total },
      ])
    })

    it('sums two estates at company level from the counts, not by averaging rates', async () => {
      for (const token of [rootToken, serviceCo]) {
        const res = await get(token, 'repair-handling', { nodeId: companyId, asOf: AS_OF, ...OCT })
        expect(res.status).toBe(200)
        expect(res.body.estates.map((e: any) => e.code)).toEqual(['A', 'B'])
        // B's alarm order: still the rule's department (安保部) at asOf, dispatched to 工程部 later.
        expect(
          res.body.rows
            .filter((r: any) => r.estateCode === 'B')
            .map((r: any) => [r.category, r.department, r.total, r.responseRate, r.completionRate]),
        ).toEqual([
          ['plumbing', '工程部', 1, '1.0000', '1.0000'],
          ['security', '安保部', 1, '0.0000', '0.0000'],
        ])
        expect(res.body.byEstate.map((e: any) => [e.estateCode, e.total, e.completionRate])).toEqual([
          ['A', 8, '0.6000'],
          ['B', 2, '0.5000'],
        ])
        expect(res.body.total).toMatchObject({
          total: 10,
          states: states({
            registered: 3,
            in_progress: 1,
            done: 1,
            return_visit: 2,
            closed: 2,
            cancelled: 1,
          }),
          responseDue: 8,
          respondedOnTime: 5,
          responseRate: '0.6250',
          completionDue: 7,
          completedOnTime: 4,
          // Not (0.6000 + 0.5000) / 2.
          completionRate: '0.5714',
          completed: 5,
          visited: 4,
          returnVisitRate: '0.8000',
          averageSatisfaction: '4.50',
          satisfied: 3,
          satisfactionRate: '0.7500',
        })
      }
    })

    it('leaves rate cells empty where there is nothing to count', async () => {
      const res = await get(rootToken, 'repair-handling', {
        nodeId: companyId,
        asOf: AS_OF,
        from: '2026-08-01',
        to: '2026-08-31',
      })
      expect(res.body.rows).toEqual([])
      expect(res.body.byEstate.map((e: any) => [e.estateCode, e.total, e.responseRate])).toEqual([
        ['A', 0, null],
        ['B', 0, null],
      ])
      expect(res.body.total).toMatchObject({ total: 0, responseRate: null, averageSatisfaction: null })
      const csv = await download(rootToken, 'repair-handling', {
        nodeId: estates.A,
        asOf: AS_OF,
        from: '2026-08-01',
        to: '2026-08-31',
        format: 'csv',
      })
      const records = parse(csv.raw, { bom: true }) as string[][]
      expect(records).toHaveLength(2)
      expect(records[1]).toEqual([
        '合计',
        '',
        '',
        '0',
        ...Array(8).fill('0'),
        ...['0', '0', ''],
        ...['0', '0', ''],
        ...['0', '0', ''],
        ...['', '0', ''],
      ])
    })

    it('summarises alarms by class and severity with the mean time to acknowledge', async () => {
      const res = await get(rootToken, 'alarm-summary', { nodeId: companyId, asOf: AS_OF, ...OCT })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(
        res.body.rows.map((r: any) => [
          r.estateCode,
          r.classOf,
          r.class,
          r.severity,
          r.raised,
          r.acknowledged,
          r.meanMinutesToAcknowledge,
          r.open,
        ]),
      ).toEqual([
        ['A', 'device', 'door', 'critical', 3, 2, '5.0', 2],
        ['A', 'device', 'door', 'major', 1, 0, null, 0],
        ['A', 'rule', 'offline', 'minor', 1, 1, '2.5', 1],
        ['B', 'device', 'door', 'critical', 1, 1, '10.5', 1],
      ])
      // (3 + 7 + 2.5 + 10.5) ÷ 4 = 5.75 → 5.8
      expect(res.body.total).toEqual({ raised: 6, acknowledged: 4, meanMinutesToAcknowledge: '5.8', open: 4 })
      const a = await get(rootToken, 'alarm-summary', { nodeId: estates.A, asOf: AS_OF, ...OCT })
      // (3 + 7 + 2.5) ÷ 3 = 4.1666…
      expect(a.body.total).toEqual({ raised: 5, acknowledged: 3, meanMinutesToAcknowledge: '4.2', open: 3 })
    })

    it('counts access events per door and type', async () => {
      const res = await get(rootToken, 'access-events', { nodeId: companyId, asOf: AS_OF, ...OCT })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const zero = { granted: 0, denied: 0, forced: 0, heldOpen: 0, tamper: 0, alarmInput: 0 }
      const a = { estateId: estates.A, estateCode: 'A', estateName: 'Estate A' }
      expect(res.body.rows).toEqual([
        { ...a, source: 'ctl-A/east-gate', ...zero, heldOpen: 1, tamper: 1, total: 2 },
        { ...a, source: 'ctl-A/fire-panel', ...zero, alarmInput: 2, total: 2 },
        { ...a, source: 'ctl-A/north-gate', ...zero, granted: 4, denied: 2, forced: 1, total: 7 },
        {
          estateId: estates.B,
          estateCode: 'B',
          estateName: 'Estate B',
          source: 'ctl-B/main-gate',
          ...zero,
          granted: 1,
          denied: 1,
          total: 2,
        },
      ])
      expect(res.body.total).toEqual({
        granted: 5,
        denied: 3,
        forced: 1,
        heldOpen: 1,
        tamper: 1,
        alarmInput: 2,
        total: 13,
      })
    })

    it('shows a viewer of one estate only that estate', async () => {
      const own = await get(viewerA, 'access-events', { nodeId: estates.A, asOf: AS_OF, ...OCT })
      expect(own.status).toBe(200)
      expect(own.body.total.total).toBe(11)
      for (const path of ['repair-handling', 'access-events', 'alarm-summary'])
        for (const nodeId of [estates.B, companyId, randomUUID()]) {
          const other = await get(viewerA, path, { nodeId, ...OCT })
          expect(other.status, `${path} ${nodeId}`).toBe(404)
          expect(other.body.details).toEqual([
            {
              field: 'query.nodeId',
              rule: 'record.notFound',
              params: { what: 'organisation node' },
              message: 'no such record you may see',
            },
          ])
        }
      const backwards = await get(viewerA, 'alarm-summary', {
        nodeId: estates.A,
        from: '2026-10-31',
        to: '2026-10-01',
      })
      expect(backwards.status).toBe(400)
      expect(backwards.body.details[0].field).toBe('query.from')
    })

    it('exports the repair report as CSV with Chinese headers and 小计/合计 rows', async () => {
      const file = await download(rootToken, 'repair-handling', {
        nodeId: companyId,
        asOf: AS_OF,
        ...OCT,
        format: 'csv',
      })
      expect(file.status).toBe(200)
      expect(file.headers['content-type']).toBe('text/csv; charset=utf-8')
      expect(file.headers['content-disposition']).toMatch(
        /^attachment; filename="repair-handling_C1_2026-10-01_2026-10-31_asof-20261031T150000Z\.csv"; filename\*=UTF-8''/,
      )
      expect([...file.raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
      const records = parse(file.raw, { bom: true }) as string[][]
      expect(records[0]).toEqual([
        '管理处',
        '类别',
        '部门',
        '工单数',
        '已登记',
        '已分派',
        '已指派',
        '处理中',
        '已完成',
        '已回访',
        '已关闭',
        '已取消',
        '应响应数',
        '按时响应数',
        '响应及时率',
        '应完成数',
        '按时完成数',
        '维修及时率',
        '已完成数',
        '已回访数',
        '回访率',
        '平均满意度',
        '满意数',
        '满意率',
      ])
      expect(records.slice(1)).toEqual([
        [
          'Estate A',
          'electrical',
          '未分派',
          '2',
          '2',
          '0',
          '0',
          '0',
          '0',
          '0',
          '0',
          '0',
          '1',
          '0',
          '0.0000',
          '0',
          '0',
          '',
          '0',
          '0',
          '',
          '',
          '0',
          '',
        ],
        [
          'Estate A',
          'plumbing',
          '客服部',
          '1',
          '0',
          '0',
          '0',
          '1',
          '0',
          '0',
          '0',
          '0',
          '1',
          '1',
          '1.0000',
          '1',
          '0',
          '0.0000',
          '0',
          '0',
          '',
          '',
          '0',
          '',
        ],
        [
          'Estate A',
          'plumbing',
          '工程部',
          '5',
          '0',
          '0',
          '0',
          '0',
          '1',
          '2',
          '1',
          '1',
          '4',
          '3',
          '0.7500',
          '4',
          '3',
          '0.7500',
          '4',
          '3',
          '0.7500',
          '4.33',
          '2',
          '0.6667',
        ],
        [
          'Estate B',
          'plumbing',
          '工程部',
          '1',
          '0',
          '0',
          '0',
          '0',
          '0',
          '0',
          '1',
          '0',
          '1',
          '1',
          '1.0000',
          '1',
          '1',
          '1.0000',
          '1',
          '1',
          '1.0000',
          '5.00',
          '1',
          '1.0000',
        ],
        [
          'Estate B',
          'security',
          '安保部',
          '1',
          '1',
          '0',
          '0',
          '0',
          '0',
          '0',
          '0',
          '0',
          '1',
          '0',
          '0.0000',
          '1',
          '0',
          '0.0000',
          '0',
          '0',
          '',
          '',
          '0',
          '',
        ],
        [
          '小计',
          'Estate A',
          '',
          '8',
          '2',
          '0',
          '0',
          '1',
          '1',
          '2',
          '1',
          '1',
          '6',
          '4',
          '0.6667',
          '5',
          '3',
          '0.6000',
          '4',
          '3',
          '0.7500',
          '4.33',
          '2',
          '0.6667',
        ],
        [
          '小计',
          'Estate B',
          '',
          '2',
          '1',
          '0',
          '0',
          '0',
          '0',
          '0',
          '1',
          '0',
          '2',
          '1',
          '0.5000',
          '2',
          '1',
          '0.5000',
          '1',
          '1',
          '1.0000',
          '5.00',
          '1',
          '1.0000',
        ],
        [
          '合计',
          '',
          '',
          '10',
          '3',
          '0',
          '0',
          '1',
          '1',
          '2',
          '2',
          '1',
          '8',
          '5',
          '0.6250',
          '7',
          '4',
          '0.5714',
          '5',
          '4',
          '0.8000',
          '4.50',
          '3',
          '0.7500',
        ],
      ])

      const access = await download(rootToken, 'access-events', {
        nodeId: estates.A,
        asOf: AS_OF,
        ...OCT,
        format: 'csv',
      })
      expect(parse(access.raw, { bom: true })).toEqual([
        ['管理处', '门/通道', '通行', '拒绝', '强行开门', '门长开', '防拆', '报警输入', '合计'],
        ['Estate A', 'ctl-A/east-gate', '0', '0', '0', '1', '1', '0', '2'],
        ['Estate A', 'ctl-A/fire-panel', '0', '0', '0', '0', '0', '2', '2'],
        ['Estate A', 'ctl-A/north-gate', '4', '2', '1', '0', '0', '0', '7'],
        ['合计', '', '4', '2', '1', '1', '1', '2', '11'],
      ])
    })

    it('exports XLSX: rates as numbers formatted as percentages, empty where undefined', async () => {
      const file = await download(rootToken, 'repair-handling', {
        nodeId: estates.A,
        asOf: AS_OF,
        ...OCT,
        format: 'xlsx',
      })
      expect(file.status).toBe(200)
      expect(file.headers['content-type']).toBe(
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      )
      expect(file.headers['content-disposition']).toMatch(
        /filename="repair-handling_A_2026-10-01_2026-10-31_asof-20261031T150000Z\.xlsx"/,
      )
      const book = new ExcelJS.Workbook()
      await book.xlsx.load(file.raw as unknown as Parameters<typeof book.xlsx.load>[0])
      const sheet = book.getWorksheet('维修处理情况表')!
      const values = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1)
      expect(values(1)[17]).toBe('维修及时率')
      expect(values(2)).toEqual([
        'Estate A',
        'electrical',
        '未分派',
        2,
        2,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        undefined,
        0,
        0,
        undefined,
        undefined,
        0,
      ])
      expect(values(4)).toEqual([
        'Estate A',
        'plumbing',
        '工程部',
        5,
        0,
        0,
        0,
        0,
        1,
        2,
        1,
        1,
        4,
        3,
        0.75,
        4,
        3,
        0.75,
        4,
        3,
        0.75,
        4.33,
        2,
        0.6667,
      ])
      expect(sheet.getRow(4).getCell(18).numFmt).toBe('0.00%')
      expect(sheet.getRow(4).getCell(22).numFmt).toBe('#,##0.00')
      // One estate: no 小计, just 合计.
      expect(sheet.rowCount).toBe(5)
      expect(values(5).slice(0, 4)).toEqual(['合计', undefined, undefined, 8])
      expect(values(5)[17]).toBe(0.6)

      const alarm = await download(rootToken, 'alarm-summary', {
        nodeId: companyId,
        asOf: AS_OF,
        ...OCT,
        format: 'xlsx',
      })
      const alarmBook = new ExcelJS.Workbook()
      await alarmBook.xlsx.load(alarm.raw as unknown as Parameters<typeof alarmBook.xlsx.load>[0])
      const alarmSheet = alarmBook.getWorksheet('报警统计')!
      expect(
        Array.from({ length: alarmSheet.rowCount }, (_, i) =>
          (alarmSheet.getRow(i + 1).values as unknown[]).slice(1),
        ),
      ).toEqual([
        ['管理处', '类别', '级别', '报警数', '已确认数', '平均确认时间(分钟)', '未关闭数'],
        ['Estate A', 'door', '紧急', 3, 2, 5, 2],
        ['Estate A', 'door', '重要', 1, 0, undefined, 0],
        ['Estate A', '离线', '次要', 1, 1, 2.5, 1],
        ['Estate B', 'door', '紧急', 1, 1, 10.5, 1],
        ['合计', undefined, undefined, 6, 4, 5.8, 4],
      ])
    })

    it('gives the same numbers for the same asOf after orders move and alarms close', async () => {
      const take = async () => {
        const out: unknown[] = []
        for (const path of ['repair-handling', 'access-events', 'alarm-summary']) {
          const params = { nodeId: companyId, asOf: AS_OF, ...OCT }
          const json = await get(rootToken, path, params)
          expect(json.status).toBe(200)
          const csv = await download(rootToken, path, { ...params, format: 'csv' })
          out.push(json.body, csv.raw.toString('base64'))
        }
        return out
      }
      const before = await take()
      // Now: o5 dispatched, o10 completed, al2 closed, a late event arrives.
      await moveWorkOrder(hub.store.db, orders.o5!, 'dispatch', { department: '工程部' }, rootUserId)
      await moveWorkOrder(hub.store.db, orders.o10!, 'complete', { note: '已修好' }, rootUserId)
      const closed = await hub.call(rootToken, { method: 'POST', url: `/api/v1/alarms/${alarms.al2}/close` })
      expect(closed.status).toBe(204)
      await seedEvent(
        'A',
        'ctl-A/north-gate',
        'granted',
        '2026-10-10T01:00:00.000Z',
        new Date().toISOString(),
      )
      expect(await take()).toEqual(before)

      // Without asOf the changes count.
      const now = await get(rootToken, 'repair-handling', { nodeId: estates.A, ...OCT })
      const row = (category: string, department: string | null) =>
        now.body.rows.find((r: any) => r.category === category && r.department === department)
      expect(row('electrical', '工程部')).toMatchObject({ total: 1, states: states({ dispatched: 1 }) })
      expect(row('electrical', '安保部')).toMatchObject({ total: 1, states: states({ dispatched: 1 }) })
      // o3's visit (score 1) now counts.
      expect(row('plumbing', '工程部')).toMatchObject({
        visited: 4,
        averageSatisfaction: '3.50',
        satisfied: 2,
      })
      expect(row('plumbing', '客服部')).toMatchObject({ completed: 1, completionDue: 1, completedOnTime: 0 })
      const alarmsNow = await get(rootToken, 'alarm-summary', { nodeId: estates.A, ...OCT })
      // al3's acknowledgement counts; al2 is closed; al7 (raised 23:30 on 31 October) is now in.
      expect(alarmsNow.body.rows[0]).toMatchObject({
        class: 'door',
        severity: 'critical',
        raised: 4,
        acknowledged: 3,
        open: 2,
      })
      const eventsNow = await get(rootToken, 'access-events', { nodeId: estates.A, ...OCT })
      expect(eventsNow.body.total).toMatchObject({ granted: 5, denied: 3, total: 13 })
    })

    it('reports an order taken through the real API today', async () => {
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date())
      const order = await create('/api/v1/work-orders', {
        estateId: estates.A,
        source: 'resident',
        category: 'lift',
        priority: 'normal',
        title: '电梯异响',
      })
      const move = async (action: string, payload: Record<string, unknown>) => {
        const res = await hub.call(rootToken, {
          method: 'POST',
          url: `/api/v1/work-orders/${order.id}/${action}`,
          payload,
        })
        expect(res.status, `${action} ${JSON.stringify(res.body)}`).toBe(200)
      }
      await move('dispatch', { department: '工程部' })
      await move('assign', { assigneeId: rootUserId })
      await move('start', {})
      await move('complete', { note: '更换导靴' })
      await move('visit', { satisfaction: 4, comment: '满意' })
      const visited = await get(rootToken, 'repair-handling', { nodeId: estates.A, from: today, to: today })
      expect(visited.status).toBe(200)
      expect(visited.body.rows.find((r: any) => r.category === 'lift')).toMatchObject({
        department: '工程部',
        total: 1,
        states: states({ return_visit: 1 }),
        responseDue: 1,
        respondedOnTime: 1,
        responseRate: '1.0000',
        completionDue: 1,
        completedOnTime: 1,
        completionRate: '1.0000',
        completed: 1,
        visited: 1,
        returnVisitRate: '1.0000',
        averageSatisfaction: '4.00',
        satisfied: 1,
        satisfactionRate: '1.0000',
      })
      await move('close', {})
      const closed = await get(rootToken, 'repair-handling', { nodeId: estates.A, from: today, to: today })
      expect(closed.body.rows.find((r: any) => r.category === 'lift').states).toEqual(states({ closed: 1 }))
    })
  })
}
