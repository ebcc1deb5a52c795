import { describe, expect, it } from 'vitest'
import type { Reading } from '../driver-types.ts'
import { createStateChangeDetector, toBinaryState } from './state-change-events.ts'

const r = (
  point: string,
  value: Reading['value'],
  ts = 1000,
  quality: Reading['quality'] = 'good',
): Reading => ({
  point,
  ts,
  value,
  quality,
})

describe('createStateChangeDetector', () => {
  const mapping = [
    { point: 'fire-panel/zone1', type: 'alarm_input' as const, input: 'fire' },
    // A normally-closed leak contact: it opens (false) on a leak.
    { point: 'pump-room/leak', type: 'alarm_input' as const, input: 'leak', activeWhen: false },
    { point: 'door-3/contact', type: 'state_change' as const },
  ]

  it('establishes state on the first reading and emits on changes only', () => {
    const detect = createStateChangeDetector(mapping)
    expect(detect(r('fire-panel/zone1', false, 1))).toBeUndefined()
    expect(detect(r('fire-panel/zone1', false, 2))).toBeUndefined()
    expect(detect(r('fire-panel/zone1', true, 3))).toEqual({
      source: 'fire-panel/zone1',
      ts: 3,
      type: 'alarm_input',
      payload: { from: false, to: true, active: true, input: 'fire' },
    })
    expect(detect(r('fire-panel/zone1', true, 4))).toBeUndefined()
    expect(detect(r('fire-panel/zone1', false, 5))?.payload).toEqual({
      from: true,
      to: false,
      active: false,
      input: 'fire',
    })
  })

  it('does not emit for an active first reading unless emitInitialActive', () => {
    expect(createStateChangeDetector(mapping)(r('fire-panel/zone1', true))).toBeUndefined()
    const detect = createStateChangeDetector(mapping, { emitInitialActive: true })
    expect(detect(r('fire-panel/zone1', true))?.payload).toEqual({
      from: null,
      to: true,
      active: true,
      input: 'fire',
    })
    // An inactive first reading is never news.
    expect(detect(r('door-3/contact', false))).toBeUndefined()
  })

  it('honours a per-point emitInitialActive over the detector-wide one', () => {
    const detect = createStateChangeDetector([{ ...mapping[0]!, emitInitialActive: true }])
    expect(detect(r('fire-panel/zone1', true))?.type).toBe('alarm_input')
  })

  it('reads activeWhen: false as a normally-closed contact', () => {
    const detect = createStateChangeDetector(mapping)
    expect(detect(r('pump-room/leak', true))).toBeUndefined()
    expect(detect(r('pump-room/leak', false))?.payload).toMatchObject({ from: true, to: false, active: true })
  })

  it('ignores bad quality and keeps the last good state across it', () => {
    const detect = createStateChangeDetector(mapping)
    detect(r('door-3/contact', false, 1))
    expect(detect(r('door-3/contact', null, 2, 'bad'))).toBeUndefined()
    expect(detect(r('door-3/contact', true, 3, 'bad'))).toBeUndefined()
    // The change that happened during the outage is reported on the first good reading.
    expect(detect(r('door-3/contact', true, 4))?.payload).toMatchObject({ from: false, to: true })
  })

  it('accepts BACnet-style 0/1 and active/inactive values, ignores unmapped points and odd values', () => {
    const detect = createStateChangeDetector(mapping)
    detect(r('door-3/contact', 0))
    expect(detect(r('door-3/contact', 1))?.payload).toMatchObject({ from: false, to: true })
    expect(detect(r('door-3/contact', 'inactive'))?.payload).toMatchObject({ from: true, to: false })
    expect(detect(r('door-3/contact', 42))).toBeUndefined()
    expect(detect(r('elsewhere/x', true))).toBeUndefined()
    expect(toBinaryState('ON')).toBe(true)
    expect(toBinaryState('maybe')).toBeUndefined()
  })

  it('refuses a point mapped twice', () => {
    expect(() => createStateChangeDetector([mapping[0]!, mapping[0]!])).toThrow(/listed twice/)
  })
})
