import { describe, expect, it } from 'vitest'
import { itemPeriod } from './bill-compute.ts'
import type { FeeItemRow } from './bill-inputs.ts'

const item = (cycle: FeeItemRow['cycle']): FeeItemRow => ({
  id: 'i',
  code: 'X',
  name: 'X',
  kind: 'area',
  meterKind: null,
  roundingUnit: 'fen',
  roundingMode: 'half-up',
  cycle,
  dueDays: 15,
})

describe('the billing cycle of an item', () => {
  it('bills a monthly item every month for that month', () => {
    expect(itemPeriod(item('monthly'), '2026-12')).toEqual({
      from: '2026-12-01',
      to: '2027-01-01',
      months: 1,
    })
  })

  it('bills a quarterly item in the first month of each quarter, for three months', () => {
    expect(itemPeriod(item('quarterly'), '2026-10')).toEqual({
      from: '2026-10-01',
      to: '2027-01-01',
      months: 3,
    })
    expect(itemPeriod(item('quarterly'), '2026-04')).toEqual({
      from: '2026-04-01',
      to: '2026-07-01',
      months: 3,
    })
    expect(itemPeriod(item('quarterly'), '2026-11')).toBeUndefined()
  })

  it('bills a yearly item in January for the year', () => {
    expect(itemPeriod(item('yearly'), '2027-01')).toEqual({
      from: '2027-01-01',
      to: '2028-01-01',
      months: 12,
    })
    expect(itemPeriod(item('yearly'), '2027-02')).toBeUndefined()
  })
})
