/**
 * The printable receipt (收款单): one self-contained HTML5 document (inline CSS, no external
 * assets) for A5 paper or an 80 mm receipt roll, printed from the browser. Chinese by default; the
 * English form keeps the amount in Chinese capitals, which the payer's paperwork needs.
 */
import { Decimal } from '../kernel/decimal.ts'
import { rmbCapitals } from './rmb-capitals.ts'

export interface ReceiptLine {
  readonly item: string
  readonly period: string | null
  readonly unit: string | null
  readonly amount: string
  readonly note?: string
}

export type PaymentMethod = 'cash' | 'card' | 'transfer' | 'wechat' | 'alipay' | 'prepayment'

export interface ReceiptView {
  /** e.g. "HJ-2026-000123" */
  readonly receiptNo: string
  readonly estateName: string
  readonly companyName: string
  readonly customerName: string
  readonly unitCodes: readonly string[]
  /** ISO timestamp; printed in `timeZone`. */
  readonly paidAt: string
  /** The estate's time zone, e.g. 'Asia/Shanghai'. */
  readonly timeZone: string
  readonly method: PaymentMethod
  /** Bank / WeChat / Alipay transaction reference. */
  readonly reference: string | null
  readonly cashier: string
  /** Every line paid. */
  readonly lines: readonly ReceiptLine[]
  /** Σ lines + toPrepayment; checked. */
  readonly total: string
  /** Overpayment kept as prepayment (预存款), "0.00" if none. */
  readonly toPrepayment: string
  /** A voided receipt prints a clear 作废 / VOID mark. */
  readonly status: 'valid' | 'voided'
}

export type ReceiptSize = 'a5' | 'roll80'
export type ReceiptLang = 'zh-CN' | 'en'

export interface ReceiptOptions {
  readonly size: ReceiptSize
  readonly lang?: ReceiptLang
}

const LABELS = {
  'zh-CN': {
    title: '收款单',
    receiptNo: '单号',
    paidAt: '收款时间',
    payer: '交款人',
    units: '房号',
    item: '收费项目',
    unit: '房号',
    period: '所属期间',
    amount: '金额（元）',
    toPrepayment: '转入预存款',
    total: '合计',
    capitals: '人民币（大写）',
    method: '付款方式',
    reference: '交易流水号',
    cashier: '收款人',
    signature: '交款人签字',
    void: '作废',
    listSeparator: '、',
    colon: '：',
    methods: {
      cash: '现金',
      card: '银行卡',
      transfer: '转账',
      wechat: '微信支付',
      alipay: '支付宝',
      prepayment: '预存款抵扣',
    },
  },
  en: {
    title: 'Receipt',
    receiptNo: 'No.',
    paidAt: 'Paid at',
    payer: 'Payer',
    units: 'Units',
    item: 'Item',
    unit: 'Unit',
    period: 'Period',
    amount: 'Amount (CNY)',
    toPrepayment: 'Credited to prepayment',
    total: 'Total',
    capitals: 'Amount in words (人民币大写)',
    method: 'Payment method',
    reference: 'Reference',
    cashier: 'Cashier',
    signature: "Payer's signature",
    void: 'VOID',
    listSeparator: ', ',
    colon: ': ',
    methods: {
      cash: 'Cash',
      card: 'Bank card',
      transfer: 'Bank transfer',
      wechat: 'WeChat Pay',
      alipay: 'Alipay',
      prepayment: 'From prepayment',
    },
  },
} as const satisfies Record<ReceiptLang, unknown>

// `size: 80mm auto` is not valid CSS (a length pair or a single length only; one length makes an
// 80 mm square page), so the roll is a long 80 mm page; most roll-printer drivers feed and cut
// just past the content.
const PAGE_CSS: Record<ReceiptSize, string> = {
  a5: `@page { size: A5 portrait; margin: 10mm }
body { width: 128mm; font-size: 12pt }
.meta { grid-template-columns: 1fr 1fr }`,
  roll80: `@page { size: 80mm 297mm; margin: 0 }
body { width: 72mm; padding: 3mm 0; font-size: 9pt }
.meta { grid-template-columns: 1fr }
.void { font-size: 28pt }`,
}

const BASE_CSS = `* { box-sizing: border-box }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact }
body { margin: 0 auto; color: #000; line-height: 1.4;
  font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", SimSun, sans-serif }
.receipt { position: relative }
header { text-align: center }
.company { font-weight: bold }
h1 { margin: 0.2em 0; font-size: 1.6em; letter-spacing: 0.3em }
.estate { font-size: 0.9em }
.meta { display: grid; gap: 0.1em 1em; margin: 0.6em 0 }
.k { color: #333 }
table { width: 100%; border-collapse: collapse; margin: 0.4em 0 }
th, td { border-bottom: 1px solid #000; padding: 0.2em 0.3em; text-align: left; vertical-align: top }
th { border-top: 1px solid #000 }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums }
.note { display: block; font-size: 0.85em; color: #333 }
tfoot td { font-weight: bold; border-bottom: 2px solid #000 }
.capitals { font-weight: bold; margin: 0.4em 0 }
.sign { margin-top: 1.6em }
.sign .line { display: inline-block; width: 40%; border-bottom: 1px solid #000 }
.void-tag { color: #c00; border: 2px solid #c00; padding: 0 0.2em; font-size: 0.6em; letter-spacing: 0; vertical-align: middle }
.void { position: absolute; top: 35%; left: 0; right: 0; text-align: center; transform: rotate(-20deg);
  font-size: 48pt; font-weight: bold; color: #c00; opacity: 0.5; pointer-events: none }
.void span { border: 4px solid #c00; padding: 0 0.3em }`

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text for HTML element content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

const MONEY = /^-?\d+(?:\.\d{1,2})?$/

function money(text: string, field: string): Decimal {
  if (typeof text !== 'string' || !MONEY.test(text)) {
    throw new RangeError(`${field}: not an amount with at most 2 decimal places: ${JSON.stringify(text)}`)
  }
  return Decimal.of(text)
}

/** "1,234.50" (no currency sign); a negative amount keeps its minus: "-1,234.50". */
function grouped(amount: Decimal): string {
  const fixed = amount.toFixed(2)
  const negative = fixed.startsWith('-')
  const [int, frac] = (negative ? fixed.slice(1) : fixed).split('.')
  return `${negative ? '-' : ''}${int!.replace(/\B(?=(\d{3})+$)/g, ',')}.${frac}`
}

/** "¥1,234.50", "-¥12.00". */
function yuan(amount: Decimal): string {
  const text = grouped(amount)
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
}

/** "2026-03-05 14:07" in the estate's time zone. */
function localTime(iso: string, timeZone: string): string {
  const at = new Date(iso)
  if (Number.isNaN(at.getTime())) throw new RangeError(`paidAt: not a timestamp: ${JSON.stringify(iso)}`)
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at)
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? ''
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`
}

/**
 * The receipt as a complete HTML document. Throws a RangeError when an amount is malformed, when
 * the total is not Σ lines + toPrepayment, when toPrepayment is negative, or on a bad paidAt or
 * time zone.
 */
export function renderReceipt(receipt: ReceiptView, options: ReceiptOptions): string {
  const lang = options.lang ?? 'zh-CN'
  if (!Object.hasOwn(PAGE_CSS, options.size)) {
    throw new RangeError(`unknown receipt size ${JSON.stringify(options.size)}`)
  }
  if (!Object.hasOwn(LABELS, lang)) throw new RangeError(`unknown receipt language ${JSON.stringify(lang)}`)
  const pageCss = PAGE_CSS[options.size]
  const t = LABELS[lang]

  const amounts = receipt.lines.map((line, i) => money(line.amount, `lines[${i}].amount`))
  const toPrepayment = money(receipt.toPrepayment, 'toPrepayment')
  const total = money(receipt.total, 'total')
  if (toPrepayment.isNegative()) throw new RangeError(`toPrepayment is negative: ${receipt.toPrepayment}`)
  const sum = amounts.reduce((acc, a) => acc.plus(a), toPrepayment)
  if (!sum.eq(total)) {
    throw new RangeError(
      `receipt ${receipt.receiptNo}: total ${receipt.total} is not the lines plus prepayment (${sum.toFixed(2)})`,
    )
  }
  if (!Object.hasOwn(t.methods, receipt.method))
    throw new RangeError(`unknown payment method ${JSON.stringify(receipt.method)}`)

  const e = escapeHtml
  const voided = receipt.status === 'voided'
  const withUnit = receipt.lines.some((l) => l.unit !== null)
  const columns = withUnit ? 4 : 3
  const cell = (text: string | null): string => `<td>${text === null ? '' : e(text)}</td>`

  const rows = receipt.lines.map((line, i) => {
    const note = line.note ? `<span class="note">${e(line.note)}</span>` : ''
    return `<tr><td>${e(line.item)}${note}</td>${withUnit ? cell(line.unit) : ''}${cell(line.period)}<td class="num">${grouped(amounts[i]!)}</td></tr>`
  })
  if (!toPrepayment.isZero()) {
    rows.push(
      `<tr class="prepayment"><td colspan="${columns - 1}">${t.toPrepayment}</td><td class="num">${grouped(toPrepayment)}</td></tr>`,
    )
  }

  const meta: [string, string][] = [
    [t.receiptNo, receipt.receiptNo],
    [t.paidAt, localTime(receipt.paidAt, receipt.timeZone)],
    [t.payer, receipt.customerName],
    [t.units, receipt.unitCodes.join(t.listSeparator)],
  ]
  const payment: [string, string][] = [[t.method, t.methods[receipt.method]]]
  if (receipt.reference !== null && receipt.reference !== '') payment.push([t.reference, receipt.reference])
  payment.push([t.cashier, receipt.cashier])
  const pairs = (list: [string, string][]): string =>
    list.map(([k, v]) => `<div><span class="k">${e(k)}${t.colon}</span>${e(v)}</div>`).join('\n')

  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title} ${e(receipt.receiptNo)}${voided ? ` (${t.void})` : ''}</title>
<style>
${BASE_CSS}
${pageCss}
</style>
</head>
<body class="${options.size}">
<main class="receipt">
<header>
<div class="company">${e(receipt.companyName)}</div>
<h1>${t.title}${voided ? ` <span class="void-tag">${t.void}</span>` : ''}</h1>
<div class="estate">${e(receipt.estateName)}</div>
</header>
<div class="meta">
${pairs(meta)}
</div>
<table>
<thead><tr><th>${t.item}</th>${withUnit ? `<th>${t.unit}</th>` : ''}<th>${t.period}</th><th class="num">${t.amount}</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
<tfoot><tr><td colspan="${columns - 1}">${t.total}</td><td class="num">${yuan(total)}</td></tr></tfoot>
</table>
<p class="capitals">${t.capitals}${t.colon}${rmbCapitals(total.toFixed(2))}</p>
<div class="meta">
${pairs(payment)}
</div>
<p class="sign">${t.signature}${t.colon}<span class="line"></span></p>
${voided ? `<div class="void" role="note" aria-label="${t.void}"><span>${t.void}</span></div>\n` : ''}</main>
</body>
</html>
`
}
