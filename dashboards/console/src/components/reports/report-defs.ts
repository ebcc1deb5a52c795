import { workOrderStatuses } from '../../../../../hub/alarms/alarms-vocabulary.ts'
import type { PathOf } from '../../api/hub.ts'

/**
 * The reports the hub has (docs/reports.md, docs/metering.md § Reports): where each is, which
 * parameters it takes, and the columns the console shows from its JSON, in the order of the
 * hub's CSV/XLSX export so the screen and the file read alike.
 */

/** How a report is asked for: the finance and operations reports take a node and export;
 * the meter-read usage reports take one estate and answer JSON only. */
export type ReportFamily = 'node' | 'estate'

/** Which of its own parameters a report takes. */
export type ParamKind = 'date' | 'range' | 'period' | 'none' | 'periodRange'

export type CellType = 'text' | 'money' | 'int' | 'rate' | 'decimal'

export type Row = Record<string, unknown>

export interface ColumnDef {
  /** `pages.reports.col.<key>`, or a label given as is (fee item columns). */
  readonly key: string
  readonly label?: string
  readonly type: CellType
  /** The cell's value; an enum is given as `[group, value]` to be translated. */
  readonly value: (row: Row) => unknown
  readonly enumGroup?: string
  readonly width?: number
}

export interface TotalDef {
  readonly key: string
  readonly type: CellType
  readonly value: (report: Row) => unknown
  readonly enumGroup?: string
  /** Label parameter (e.g. a bucket or method name) shown after the label. */
  readonly suffix?: (report: Row) => { group: string; value: string }
}

export interface ReportDef {
  readonly name: string
  readonly family: ReportFamily
  readonly group: 'finance' | 'operations' | 'energy'
  readonly path: PathOf<'get'>
  readonly params: ParamKind
  readonly columns: (report: Row) => ColumnDef[]
  readonly totals: (report: Row) => TotalDef[]
  /** The rows of the answer. */
  readonly rows: (report: Row) => Row[]
}

const get =
  (key: string) =>
  (row: Row): unknown =>
    row[key]
const text = (key: string, value = get(key)): ColumnDef => ({ key, type: 'text', value })
const money = (key: string, value = get(key)): ColumnDef => ({ key, type: 'money', value })
const int = (key: string, value = get(key)): ColumnDef => ({ key, type: 'int', value })
const rate = (key: string, value = get(key)): ColumnDef => ({ key, type: 'rate', value })
const enumCol = (key: string, enumGroup: string, value = get(key)): ColumnDef => ({
  key,
  type: 'text',
  value,
  enumGroup,
})
const at = (path: string) => (report: Row) =>
  path.split('.').reduce<unknown>((v, k) => (v as Row | undefined)?.[k], report)
const rowsOf = (report: Row) => (report.rows as Row[] | undefined) ?? []

const workOrderStates = workOrderStatuses
const accessTypes = ['granted', 'denied', 'forced', 'heldOpen', 'tamper', 'alarmInput'] as const

export const reports: readonly ReportDef[] = [
  {
    name: 'arrears',
    family: 'node',
    group: 'finance',
    path: '/api/v1/reports/arrears',
    params: 'none',
    rows: rowsOf,
    columns: () => [
      text('estateName'),
      text('customerCode'),
      text('customerName'),
      text('unitCode'),
      text('feeItemName'),
      enumCol('kind', 'receivableKind'),
      text('period'),
      text('dueDate'),
      money('billed'),
      money('paid'),
      money('open'),
      int('daysOverdue'),
      enumCol('bucket', 'bucket'),
    ],
    totals: (report) => [
      { key: 'lines', type: 'int', value: at('lines') },
      { key: 'totalOpen', type: 'money', value: at('total') },
      ...((report.buckets as Row[] | undefined) ?? []).map(
        (b): TotalDef => ({
          key: 'bucketAmount',
          type: 'money',
          value: () => b.amount,
          suffix: () => ({ group: 'bucket', value: String(b.bucket) }),
        }),
      ),
    ],
  },
  {
    name: 'collections',
    family: 'node',
    group: 'finance',
    path: '/api/v1/reports/collections',
    params: 'range',
    rows: rowsOf,
    columns: (report) => {
      const items = ((report.byItem as Row[] | undefined) ?? []).map((i) => String(i.feeItemName))
      return [
        text('estateName'),
        text('receiptNo'),
        text('localTime'),
        text('customerCode'),
        text('customerName'),
        text('units', (r) => (r.units as string[]).join('、')),
        enumCol('method', 'method'),
        text('reference'),
        text('cashierName'),
        enumCol('collectionKind', 'collectionKind', get('kind')),
        money('amount'),
        ...items.map(
          (name): ColumnDef => ({
            key: `item:${name}`,
            label: name,
            type: 'money',
            value: (r) => {
              const mine = (r.allocations as Row[]).filter((a) => a.feeItemName === name)
              // One allocation per item and payment is what the hub sends; sum strings only if more.
              return mine.length === 0 ? null : mine.length === 1 ? mine[0]?.amount : sumMoney(mine)
            },
          }),
        ),
        money('toPrepayment'),
        money('toDeposit'),
        text('note'),
      ]
    },
    totals: (report) => [
      { key: 'total', type: 'money', value: at('total') },
      ...((report.byMethod as Row[] | undefined) ?? []).map(
        (m): TotalDef => ({
          key: 'methodTotal',
          type: 'money',
          value: () => m.amount,
          suffix: () => ({ group: 'method', value: String(m.method) }),
        }),
      ),
      { key: 'toPrepayment', type: 'money', value: at('toPrepayment') },
      { key: 'toDeposit', type: 'money', value: at('toDeposit') },
    ],
  },
  {
    name: 'dailyTakings',
    family: 'node',
    group: 'finance',
    path: '/api/v1/reports/daily-takings',
    params: 'date',
    rows: rowsOf,
    columns: () => [
      text('estateName'),
      text('cashierName'),
      enumCol('method', 'method'),
      // As in the export: the fee item, or what the line is (预存款, 红冲…).
      text('feeItemName', (r) => (r.line === 'item' ? r.feeItemName : ['line', r.line])),
      int('documents'),
      money('amount'),
    ],
    totals: (report) => [
      { key: 'documents', type: 'int', value: at('documents') },
      { key: 'total', type: 'money', value: at('total') },
      ...((report.byMethod as Row[] | undefined) ?? []).map(
        (m): TotalDef => ({
          key: 'methodTotal',
          type: 'money',
          value: () => m.amount,
          suffix: () => ({ group: 'method', value: String(m.method) }),
        }),
      ),
    ],
  },
  {
    name: 'collectionRate',
    family: 'node',
    group: 'finance',
    path: '/api/v1/reports/collection-rate',
    params: 'period',
    rows: rowsOf,
    columns: () => [
      text('estateName'),
      int('receivables'),
      money('billed'),
      money('collected'),
      money('outstanding'),
      rate('rate'),
    ],
    totals: () => [
      { key: 'receivables', type: 'int', value: at('total.receivables') },
      { key: 'billed', type: 'money', value: at('total.billed') },
      { key: 'collected', type: 'money', value: at('total.collected') },
      { key: 'outstanding', type: 'money', value: at('total.outstanding') },
      { key: 'rate', type: 'rate', value: at('total.rate') },
    ],
  },
  {
    name: 'repairHandling',
    family: 'node',
    group: 'operations',
    path: '/api/v1/reports/repair-handling',
    params: 'range',
    rows: rowsOf,
    columns: () => [
      text('estateName'),
      text('category'),
      text('department', (r) => r.department ?? ['department', 'none']),
      int('orders', get('total')),
      ...workOrderStates.map(
        (s): ColumnDef => ({
          key: `state_${s}`,
          type: 'int',
          value: (r) => (r.states as Row)[s],
        }),
      ),
      int('responseDue'),
      int('respondedOnTime'),
      rate('responseRate'),
      int('completionDue'),
      int('completedOnTime'),
      rate('completionRate'),
      int('completed'),
      int('visited'),
      rate('returnVisitRate'),
      { key: 'averageSatisfaction', type: 'decimal', value: get('averageSatisfaction') },
      int('satisfied'),
      rate('satisfactionRate'),
    ],
    totals: () => [
      { key: 'orders', type: 'int', value: at('total.total') },
      { key: 'responseRate', type: 'rate', value: at('total.responseRate') },
      { key: 'completionRate', type: 'rate', value: at('total.completionRate') },
      { key: 'returnVisitRate', type: 'rate', value: at('total.returnVisitRate') },
      { key: 'satisfactionRate', type: 'rate', value: at('total.satisfactionRate') },
    ],
  },
  {
    name: 'accessEvents',
    family: 'node',
    group: 'operations',
    path: '/api/v1/reports/access-events',
    params: 'range',
    rows: rowsOf,
    columns: () => [
      text('estateName'),
      text('source'),
      ...accessTypes.map((k) => int(`access_${k}`, get(k))),
      int('total'),
    ],
    totals: () => [
      ...accessTypes.map((k): TotalDef => ({ key: `access_${k}`, type: 'int', value: at(`total.${k}`) })),
      { key: 'total', type: 'int', value: at('total.total') },
    ],
  },
  {
    name: 'alarmSummary',
    family: 'node',
    group: 'operations',
    path: '/api/v1/reports/alarm-summary',
    params: 'range',
    rows: rowsOf,
    columns: () => [
      text('estateName'),
      {
        key: 'alarmClass',
        type: 'text',
        value: (r) => (r.classOf === 'rule' ? ['ruleKind', r.class] : r.class),
      },
      enumCol('severity', 'severity'),
      int('raised'),
      int('acknowledged'),
      { key: 'mtta', type: 'decimal', value: get('meanMinutesToAcknowledge') },
      int('openAlarms', get('open')),
    ],
    totals: () => [
      { key: 'raised', type: 'int', value: at('total.raised') },
      { key: 'acknowledged', type: 'int', value: at('total.acknowledged') },
      { key: 'mtta', type: 'decimal', value: at('total.meanMinutesToAcknowledge') },
      { key: 'openAlarms', type: 'int', value: at('total.open') },
    ],
  },
  {
    name: 'consumption',
    family: 'estate',
    group: 'energy',
    path: '/api/v1/meter-reads/consumption',
    params: 'periodRange',
    rows: (report) => (report.items as Row[] | undefined) ?? [],
    columns: () => [
      text('period'),
      text('groupCode'),
      enumCol('meterKind', 'meterKind', get('kind')),
      { key: 'consumption', type: 'decimal', value: get('consumption') },
      int('reads'),
      int('pending'),
    ],
    totals: () => [],
  },
  {
    name: 'loss',
    family: 'estate',
    group: 'energy',
    path: '/api/v1/meter-reads/loss',
    params: 'period',
    rows: (report) => (report.items as Row[] | undefined) ?? [],
    columns: () => [
      text('masterCode'),
      enumCol('meterKind', 'meterKind', get('kind')),
      { key: 'master', type: 'decimal', value: get('master') },
      { key: 'subs', type: 'decimal', value: get('subs') },
      int('subMeters'),
      int('subMetersWithoutConsumption'),
      { key: 'loss', type: 'decimal', value: get('loss') },
      { key: 'lossPercent', type: 'decimal', value: get('lossPercent') },
    ],
    totals: () => [],
  },
]

/**
 * Adds decimal strings exactly (no binary floating point): scaled to integers as BigInt.
 * Only for the rare payment with two allocations to one item.
 */
function sumMoney(rows: readonly Row[]): string {
  let cents = 0n
  for (const r of rows) {
    const [whole = '0', frac = ''] = String(r.amount).replace('-', '').split('.')
    const value = BigInt(whole) * 100n + BigInt(`${frac}00`.slice(0, 2))
    cents += String(r.amount).startsWith('-') ? -value : value
  }
  const sign = cents < 0n ? '-' : ''
  const abs = cents < 0n ? -cents : cents
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
}

/** A rate "0.7512" as "75.12%", by moving the decimal point in the string. */
export function percent(rate: string): string {
  const negative = rate.startsWith('-')
  const [whole = '0', frac = ''] = rate.replace('-', '').split('.')
  const digits = `${whole}${frac.padEnd(4, '0')}`
  const integer = digits.slice(0, -2).replace(/^0+(?=\d)/, '')
  return `${negative ? '-' : ''}${integer}.${digits.slice(-2)}%`
}

/** Local calendar day as YYYY-MM-DD. */
export function isoDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

export function isoMonth(d: Date): string {
  return isoDay(d).slice(0, 7)
}
