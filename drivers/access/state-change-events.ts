import type { DeviceEvent, DeviceEventType, PointValue, Reading } from '../driver-types.ts'

/**
 * Turns polled states (Modbus coils and discrete inputs, BACnet binary inputs: a fire panel
 * dry contact, a leak sensor, a door contact) into events. Polling yields the same state
 * every few seconds; an alarm must raise one work order, not one per sample (docs: DOMAIN,
 * security), so only a change of state becomes an event.
 */

export interface StateChangeMapping {
  /** `<device code>/<point code>`, as in Reading.point. */
  readonly point: string
  readonly type: DeviceEventType
  /** The raw state that means "active" (alarm, door open); default true. A normally-closed
   * contact that opens on alarm reads false when active. */
  readonly activeWhen?: boolean
  /** Alarm input name carried in the payload: fire, leak, intrusion… */
  readonly input?: string
  /** Overrides the detector-wide emitInitialActive for this point. */
  readonly emitInitialActive?: boolean
}

export interface StateChangeOptions {
  /**
   * Emit on the first reading of a point when it is already active (default false). On for
   * alarms that must not be missed across a gateway restart; the hub still raises one work
   * order per alarm, so a repeat after a restart does no harm there.
   */
  readonly emitInitialActive?: boolean
}

/** The payload of a state-change event. */
export interface StateChangePayload {
  /** The previous raw state; null on an initial-active event. */
  readonly from: boolean | null
  readonly to: boolean
  /** Whether `to` is the active state, so consumers need not know activeWhen. */
  readonly active: boolean
  readonly input?: string
}

/** Reads a polled value as a two-state signal, or undefined when it is not one. */
export function toBinaryState(value: PointValue | null): boolean | undefined {
  if (typeof value === 'boolean') return value
  // BACnet binary present-value is enumerated 0 inactive / 1 active; coils may decode as 0/1.
  if (typeof value === 'number') return value === 0 ? false : value === 1 ? true : undefined
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase()
    if (['1', 'true', 'active', 'on'].includes(v)) return true
    if (['0', 'false', 'inactive', 'off'].includes(v)) return false
  }
  return undefined
}

/**
 * Returns a function to call with every reading; it returns an event when a mapped point
 * changes state and undefined otherwise (unmapped point, bad quality, unreadable value, no
 * change). The first reading of a point only establishes its state. A bad reading leaves
 * the last known state in place, so a contact that flips while the bus is down is reported
 * on the first good reading after.
 */
export function createStateChangeDetector(
  mapping: readonly StateChangeMapping[],
  options: StateChangeOptions = {},
): (reading: Reading) => DeviceEvent | undefined {
  const byPoint = new Map<string, StateChangeMapping>()
  for (const m of mapping) {
    if (byPoint.has(m.point)) throw new Error(`state-change mapping: point "${m.point}" is listed twice`)
    byPoint.set(m.point, m)
  }
  const last = new Map<string, boolean>()

  return (reading) => {
    const m = byPoint.get(reading.point)
    if (!m || reading.quality === 'bad') return undefined
    const to = toBinaryState(reading.value)
    if (to === undefined) return undefined
    const activeWhen = m.activeWhen ?? true
    const from = last.get(reading.point)
    last.set(reading.point, to)
    if (from === to) return undefined
    if (from === undefined) {
      const emitInitial = m.emitInitialActive ?? options.emitInitialActive ?? false
      if (!emitInitial || to !== activeWhen) return undefined
    }
    const payload: StateChangePayload = {
      from: from ?? null,
      to,
      active: to === activeWhen,
      ...(m.input !== undefined ? { input: m.input } : {}),
    }
    return { source: reading.point, ts: reading.ts, type: m.type, payload: { ...payload } }
  }
}
