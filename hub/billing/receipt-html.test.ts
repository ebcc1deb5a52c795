import { describe, expect, it } from 'vitest'
import { escapeHtml, type ReceiptView, renderReceipt } from './receipt-html.ts'

const receipt: ReceiptView = {
  receiptNo: 'HJ-2026-000123',
  estateName: '翠湖花园',
  companyName: '杭州安居物业服务有限公司',
  customerName: '张三',
  unitCodes: ['3-1-502', '车位B-017'],
  paidAt: '2026-03-05T06:07:09Z',
  timeZone: 'Asia/Shanghai',
  method: 'wechat',
  reference: '4200001234202603051234567890',
  cashier: '李四',
  lines: [
    { item: '物业服务费', period: '2026-01 至 2026-03', unit: '3-1-502', amount: '1050.00' },
    { item: '水费', period: '2026-02', unit: '3-1-502', amount: '84.50', note: '读数 1203 → 1220' },
    { item: '车位管理费', period: '2026-Q1', unit: '车位B-017', amount: '90.00' },
  ],
  total: '1234.50',
  toPrepayment: '10.00',
  status: 'valid',
}

describe('renderReceipt', () => {
  it('is a complete HTML document with the title, parties and units', () => {
    const html = renderReceipt(receipt, { size: 'a5' })
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="zh-CN">')).toBe(true)
    expect(html.trimEnd().endsWith('</html>')).toBe(true)
    expect(html).toContain('<meta charset="utf-8">')
    expect(html).toContain('<h1>收款单</h1>')
    expect(html).toContain('杭州安居物业服务有限公司')
    expect(html).toContain('翠湖花园')
    expect(html).toContain('HJ-2026-000123')
    expect(html).toContain('交款人：</span>张三')
    expect(html).toContain('房号：</span>3-1-502、车位B-017')
    expect(html).toContain('收款人：</span>李四')
    expect(html).toContain('交款人签字')
    // no external assets
    expect(html).not.toMatch(/<link|<script|<img|src=|url\(/i)
  })

  it('prints the time in the estate time zone', () => {
    expect(renderReceipt(receipt, { size: 'a5' })).toContain('收款时间：</span>2026-03-05 14:07')
    const late = { ...receipt, paidAt: '2026-03-05T17:30:00Z' } // after midnight in Shanghai
    expect(renderReceipt(late, { size: 'a5' })).toContain('2026-03-06 01:30')
    expect(renderReceipt({ ...late, timeZone: 'Europe/London' }, { size: 'a5' })).toContain(
      '2026-03-05 17:30',
    )
  })

  it('lists every line, the prepayment and the total in figures and capitals', () => {
    const html = renderReceipt(receipt, { size: 'a5' })
    for (const item of [
      '物业服务费',
      '水费',
      '车位管理费',
      '2026-01 至 2026-03',
      '2026-Q1',
      '读数 1203 → 1220',
    ]) {
      expect(html).toContain(item)
    }
    expect(html).toContain('1,050.00')
    expect(html).toContain('84.50')
    expect(html).toMatch(/转入预存款<\/td><td class="num">10\.00</)
    expect(html).toContain('¥1,234.50')
    expect(html).toContain('人民币（大写）：壹仟贰佰叁拾肆元伍角整')
    expect(html).toContain('付款方式：</span>微信支付')
    expect(html).toContain('交易流水号：</span>4200001234202603051234567890')
  })

  it('leaves out the prepayment row, the reference and the unit column when there are none', () => {
    const html = renderReceipt(
      {
        ...receipt,
        method: 'cash',
        reference: null,
        lines: [{ item: '装修押金', period: null, unit: null, amount: '2000' }],
        total: '2000.00',
        toPrepayment: '0.00',
      },
      { size: 'a5' },
    )
    expect(html).not.toContain('转入预存款')
    expect(html).not.toContain('交易流水号')
    expect(html).not.toContain('<th>房号</th>')
    expect(html).toContain('付款方式：</span>现金')
    expect(html).toContain('¥2,000.00')
    expect(html).toContain('贰仟元整')
  })

  it('names every payment method', () => {
    const names = {
      cash: '现金',
      card: '银行卡',
      transfer: '转账',
      wechat: '微信支付',
      alipay: '支付宝',
      prepayment: '预存款抵扣',
    } as const
    for (const [method, name] of Object.entries(names)) {
      const html = renderReceipt({ ...receipt, method: method as ReceiptView['method'] }, { size: 'a5' })
      expect(html).toContain(`付款方式：</span>${name}</div>`)
    }
  })

  it('groups large totals with thousands separators', () => {
    const html = renderReceipt(
      {
        ...receipt,
        lines: [{ item: '补缴', period: null, unit: null, amount: '1234567.89' }],
        total: '1234567.89',
        toPrepayment: '0.00',
      },
      { size: 'a5' },
    )
    expect(html).toContain('¥1,234,567.89')
    expect(html).toContain('壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分')
  })

  it('takes a prepayment-only top-up with no lines', () => {
    const html = renderReceipt(
      { ...receipt, lines: [], total: '500.00', toPrepayment: '500.00' },
      { size: 'a5' },
    )
    expect(html).toContain('转入预存款')
    expect(html).toContain('伍佰元整')
  })

  it('escapes every text value', () => {
    const evil = '<script>alert("x")</script>&\''
    const html = renderReceipt(
      {
        ...receipt,
        receiptNo: evil,
        estateName: evil,
        companyName: evil,
        customerName: '王<b>五</b> & "Co"',
        unitCodes: [evil],
        reference: evil,
        cashier: evil,
        lines: [{ item: evil, period: evil, unit: evil, amount: '1234.50', note: evil }],
        total: '1234.50',
        toPrepayment: '0',
      },
      { size: 'roll80' },
    )
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<b>')
    expect(html).toContain('王&lt;b&gt;五&lt;/b&gt; &amp; &quot;Co&quot;')
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;')
    expect(escapeHtml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&#39;')
  })

  it('sets the page size per option', () => {
    const a5 = renderReceipt(receipt, { size: 'a5' })
    expect(a5).toContain('@page { size: A5 portrait; margin: 10mm }')
    expect(a5).not.toContain('80mm')
    const roll = renderReceipt(receipt, { size: 'roll80' })
    expect(roll).toMatch(/@page \{ size: 80mm \d+mm; margin: 0 \}/)
    expect(roll).toContain('width: 72mm')
    expect(roll).not.toContain('A5')
  })

  it('marks a voided receipt clearly', () => {
    expect(renderReceipt(receipt, { size: 'a5' })).not.toContain('作废')
    const html = renderReceipt({ ...receipt, status: 'voided' }, { size: 'a5' })
    expect(html).toContain('<span class="void-tag">作废</span>')
    expect(html).toContain('<div class="void" role="note" aria-label="作废"><span>作废</span></div>')
    const en = renderReceipt({ ...receipt, status: 'voided' }, { size: 'roll80', lang: 'en' })
    expect(en).toContain('<span>VOID</span>')
    expect(renderReceipt(receipt, { size: 'roll80', lang: 'en' })).not.toContain('VOID')
  })

  it('has English labels and still the amount in Chinese capitals', () => {
    const html = renderReceipt(receipt, { size: 'roll80', lang: 'en' })
    expect(html).toContain('<html lang="en">')
    expect(html).toContain('<h1>Receipt</h1>')
    expect(html).toContain('Payer: </span>张三')
    expect(html).toContain('Payment method: </span>WeChat Pay')
    expect(html).toContain('Credited to prepayment')
    expect(html).toContain('¥1,234.50')
    expect(html).toContain('壹仟贰佰叁拾肆元伍角整')
    expect(html).not.toContain('收款单')
  })

  it('throws when the total is not the lines plus the prepayment', () => {
    expect(() => renderReceipt({ ...receipt, total: '1234.51' }, { size: 'a5' })).toThrow(/total 1234\.51/)
    expect(() => renderReceipt({ ...receipt, toPrepayment: '0.00' }, { size: 'a5' })).toThrow(RangeError)
    // exact decimal sums: 0.10 + 0.20 is 0.30
    const cents = {
      ...receipt,
      lines: [
        { item: 'a', period: null, unit: null, amount: '0.10' },
        { item: 'b', period: null, unit: null, amount: '0.20' },
      ],
      total: '0.30',
      toPrepayment: '0.00',
    }
    expect(renderReceipt(cents, { size: 'a5' })).toContain('叁角整')
  })

  it('rejects malformed amounts, a negative prepayment and a bad timestamp', () => {
    const line = (amount: string) => ({
      ...receipt,
      lines: [{ item: 'x', period: null, unit: null, amount }],
    })
    expect(() =>
      renderReceipt({ ...line('1.005'), total: '1.005', toPrepayment: '0' }, { size: 'a5' }),
    ).toThrow(RangeError)
    expect(() =>
      renderReceipt({ ...line('1,000.00'), total: '1000.00', toPrepayment: '0' }, { size: 'a5' }),
    ).toThrow(RangeError)
    expect(() =>
      renderReceipt({ ...line('20.00'), total: '10.00', toPrepayment: '-10.00' }, { size: 'a5' }),
    ).toThrow(/toPrepayment/)
    expect(() => renderReceipt({ ...receipt, paidAt: 'yesterday' }, { size: 'a5' })).toThrow(/paidAt/)
  })
})

describe('renderReceipt option checks', () => {
  it('rejects an unknown size, language or payment method at run time', () => {
    expect(() => renderReceipt(receipt, { size: 'a4' as never })).toThrow(/size/)
    expect(() => renderReceipt(receipt, { size: 'a5', lang: 'fr' as never })).toThrow(/language/)
    expect(() => renderReceipt({ ...receipt, method: 'toString' as never }, { size: 'a5' })).toThrow(/method/)
  })
})
