import type { DeviceEvent, Reading } from '../../drivers/driver-types.ts'
import { MAX_REASON_LENGTH, type WireEvent, type WireReading } from './batch-schema.ts'

/**
 * Reading/DeviceEvent ↔ their compact wire form. Keys are one letter because a batch holds up
 * to 5,000 readings and the key names would otherwise be most of the bytes.
 */
export function toWireReading(reading: Reading): WireReading {
  const { value } = reading
  // JSON has no NaN or Infinity (JSON.stringify would silently write null with quality
  // 'good'): say plainly that nothing trustworthy was read.
  if (typeof value === 'number' && !Number.isFinite(value)) {
    const why = `non-finite value ${String(value)}`
    return {
      p: reading.point,
      t: Math.trunc(reading.ts),
      v: null,
      q: 'bad',
      r: (reading.reason === undefined ? why : `${why}; ${reading.reason}`).slice(0, MAX_REASON_LENGTH),
    }
  }
  const wire: WireReading = { p: reading.point, t: Math.trunc(reading.ts), v: value, q: reading.quality }
  // A long driver message must not make the whole batch invalid: cut it to the limit.
  if (reading.reason !== undefined) wire.r = reading.reason.slice(0, MAX_REASON_LENGTH)
  return wire
}

export function fromWireReading(wire: WireReading): Reading {
  return wire.r === undefined
    ? { point: wire.p, ts: wire.t, value: wire.v, quality: wire.q }
    : { point: wire.p, ts: wire.t, value: wire.v, quality: wire.q, reason: wire.r }
}

export function toWireEvent(event: DeviceEvent): WireEvent {
  return { s: event.source, t: Math.trunc(event.ts), type: event.type, d: { ...event.payload } }
}

export function fromWireEvent(wire: WireEvent): DeviceEvent {
  return { source: wire.s, ts: wire.t, type: wire.type, payload: wire.d }
}
